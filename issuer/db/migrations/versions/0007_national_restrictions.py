"""The national restricted list (issue 12): the outbox of entries waiting to reach the
registry, the national entries pulled from it, its cursor, and each certificate's person
reference (NULL for certificates issued before: the migration cannot compute an HMAC
whose key it does not hold).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("certificate") as batch:
        batch.add_column(sa.Column("person_ref", sa.String(length=64), nullable=True))
    op.create_index("ix_certificate_person_ref", "certificate", ["person_ref"])
    op.create_table(
        "national_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("restriction_id", sa.Integer(), sa.ForeignKey("restriction.id"), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("queued_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
    )
    op.create_index("ix_national_outbox_restriction_id", "national_outbox", ["restriction_id"])
    op.create_table(
        "national_restriction",
        sa.Column("ref", sa.String(length=320), primary_key=True),
        sa.Column("office", sa.String(length=200), nullable=False),
        sa.Column("person_ref", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("bar_until", sa.Date(), nullable=True),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("removed_at", _TS, nullable=True),
    )
    op.create_index("ix_national_restriction_person_ref", "national_restriction", ["person_ref"])
    op.create_table(
        "national_sync",
        sa.Column("name", sa.String(length=32), primary_key=True),
        sa.Column("cursor", sa.BigInteger(), nullable=True),
        sa.Column("last_success", _TS, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("national_sync")
    op.drop_index("ix_national_restriction_person_ref", table_name="national_restriction")
    op.drop_table("national_restriction")
    op.drop_index("ix_national_outbox_restriction_id", table_name="national_outbox")
    op.drop_table("national_outbox")
    op.drop_index("ix_certificate_person_ref", table_name="certificate")
    with op.batch_alter_table("certificate") as batch:
        batch.drop_column("person_ref")
