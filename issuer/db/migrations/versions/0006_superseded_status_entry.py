"""A superseded version keeps its own status list entry: ``certificate_version`` gains
``status_list_id`` and ``status_idx`` (both NULL for versions that shared the
certificate's entry, as a key-compromise reissue does).

A replacement (补发) or correction (换发) gives the new version a new entry and marks the
old one revoked, so the old entry must stay taken: index allocation treats an entry named
here as used, and the index makes that lookup cheap.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

_INDEX = "ix_certificate_version_status_entry"


def upgrade() -> None:
    with op.batch_alter_table("certificate_version") as batch:
        batch.add_column(sa.Column("status_list_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("status_idx", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_certificate_version_status_list_id_status_list",
            "status_list",
            ["status_list_id"],
            ["id"],
        )
    op.create_index(_INDEX, "certificate_version", ["status_list_id", "status_idx"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="certificate_version")
    with op.batch_alter_table("certificate_version") as batch:
        batch.drop_constraint(
            "fk_certificate_version_status_list_id_status_list", type_="foreignkey"
        )
        batch.drop_column("status_idx")
        batch.drop_column("status_list_id")
