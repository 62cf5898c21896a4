"""The holder pages: claim codes (keyed hashes only), failed-attempt counters and lockouts,
purpose-bound copies.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "holder_claim_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_number_hash", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("certificate_number", sa.String(17), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_holder_claim_code"),
        sa.UniqueConstraint("id_number_hash", name="uq_holder_claim_code_id_number_hash"),
    )
    op.create_table(
        "holder_attempt",
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", _TS, nullable=False),
        sa.Column("locked_until", _TS, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_holder_attempt"),
    )
    op.create_table(
        "holder_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_number", sa.String(17), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(60), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_holder_copy"),
    )
    op.create_index("ix_holder_copy_certificate_number", "holder_copy", ["certificate_number"])


def downgrade() -> None:
    for table in ("holder_copy", "holder_attempt", "holder_claim_code"):
        op.drop_table(table)
