"""A batch's photos (issue 15 point 1): ``batch.with_photos`` (the batch was opened with a
zip of photos) and ``batch_photo``, each valid row's normalised photo kept from the
opening of the batch until the row is issued (then it moves to ``certificate_photo``), so
a resumed batch does not need the zip again.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch") as batch:
        batch.add_column(
            sa.Column("with_photos", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "batch_photo",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name="fk_batch_photo_batch_id_batch"),
        sa.PrimaryKeyConstraint("batch_id", "row_number", name="pk_batch_photo"),
    )


def downgrade() -> None:
    op.drop_table("batch_photo")
    with op.batch_alter_table("batch") as batch:
        batch.drop_column("with_photos")
