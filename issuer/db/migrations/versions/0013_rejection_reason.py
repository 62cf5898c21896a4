"""Why a request was rejected: ``pending_action.decision_reason``, written by the
supervisor who rejects it and read by the requester (issue 13 point 5).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pending_action") as batch:
        batch.add_column(sa.Column("decision_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pending_action") as batch:
        batch.drop_column("decision_reason")
