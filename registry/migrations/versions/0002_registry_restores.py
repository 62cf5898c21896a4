"""The registry's restores (``rg_restore``): each ``jiaozi restore registry`` records where
the consolidated list and the national feed stood in the archive and the floors their
seqs continue above (registry/restore.py), so no seq handed out after a restore equals
one handed out between the backup and the restore.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "rg_restore" in sa.inspect(op.get_bind()).get_table_names():
        return  # a database made by create_all of this version, adopted by 0001
    op.create_table(
        "rg_restore",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archive", sa.String(300), nullable=False),
        sa.Column("list_from", sa.BigInteger(), nullable=False),
        sa.Column("list_floor", sa.BigInteger(), nullable=False),
        sa.Column("feed_from", sa.BigInteger(), nullable=False),
        sa.Column("feed_hash", sa.String(64), nullable=False),
        sa.Column("feed_floor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("rg_restore")
