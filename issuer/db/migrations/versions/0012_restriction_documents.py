"""The verifiers' restricted-list documents as the publication job signed them:
``restriction_document`` holds the snapshot and one page per change (and the empty page
at the head), so the verifier routes serve stored tokens and sign nothing on request
(issue 12 point 6). Empty after the upgrade: the next publication run signs them all.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "restriction_document",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("iat", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_restriction_document"),
    )


def downgrade() -> None:
    op.drop_table("restriction_document")
