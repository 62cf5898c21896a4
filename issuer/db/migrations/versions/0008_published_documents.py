"""The key-free public artefacts as last published: ``published_document`` holds the
office's ``jwks.json`` and the national trust list as the publication job stored them, so
that a public-only process (no key store) serves them and ``jiaozi issuer export-public``
writes them out (issue 12 point 6).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_document",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_published_document"),
    )


def downgrade() -> None:
    op.drop_table("published_document")
