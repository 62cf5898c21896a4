"""The holder's photo (issue 15 point 1): ``certificate_photo``, one normalised JPEG per
certificate, the one its current credential binds by SHA-256. Certificates issued before
have no row (and their credentials bind no photo).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificate_photo",
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificate.id"],
            name="fk_certificate_photo_certificate_id_certificate",
        ),
        sa.PrimaryKeyConstraint("certificate_id", name="pk_certificate_photo"),
    )


def downgrade() -> None:
    op.drop_table("certificate_photo")
