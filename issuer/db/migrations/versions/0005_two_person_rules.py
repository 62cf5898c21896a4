"""Two-person rules: who created an officer, who last changed its role, who issued a key.

An approver may not be an account the requester created or changed, nor one holding a key
the requester issued (``issuer.accounts.changes``). Rows made before this revision have
None: their maker is unknown, as for the bootstrap key and the command line.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("officer", sa.Column("created_by", sa.Integer(), nullable=True))
    op.add_column("officer", sa.Column("role_changed_by", sa.Integer(), nullable=True))
    op.add_column("api_key", sa.Column("issued_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("issued_by")
    with op.batch_alter_table("officer") as batch:
        batch.drop_column("role_changed_by")
        batch.drop_column("created_by")
