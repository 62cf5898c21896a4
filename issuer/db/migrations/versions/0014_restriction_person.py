"""Whom a restriction names, as the office's officers read it: ``restriction.name`` and
``restriction.id_number_masked`` (issue 13 point 6: the restrictions list showed only a
person reference). Entries recorded before stay without them (null).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("restriction") as batch:
        batch.add_column(sa.Column("name", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("id_number_masked", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("restriction") as batch:
        batch.drop_column("id_number_masked")
        batch.drop_column("name")
