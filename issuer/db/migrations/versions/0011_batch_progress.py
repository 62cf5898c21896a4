"""A batch's progress figures: when the current run of issuing started and how many rows
were issued before it, so that the status API computes rows per second and the time left
from stored timestamps (issue 13 point 4).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch") as batch:
        batch.add_column(sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("run_started_rows", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("batch") as batch:
        batch.drop_column("run_started_rows")
        batch.drop_column("run_started_at")
