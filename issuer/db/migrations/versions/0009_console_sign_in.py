"""The office console's sign-in for people (issue 13 point 2): officers' passwords
(argon2id), sealed TOTP secrets, lockout counters and one-time enrolment codes; their
recovery codes (hashes); server-side console sessions.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "officer_credential",
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("totp_sealed", sa.String(300), nullable=True),
        sa.Column("totp_confirmed_at", _TS, nullable=True),
        sa.Column("last_totp_step", sa.Integer(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", _TS, nullable=False),
        sa.Column("locked_until", _TS, nullable=True),
        sa.Column("enrolment_hash", sa.String(64), nullable=True),
        sa.Column("enrolment_expires_at", _TS, nullable=True),
        sa.Column("set_via_code_of", sa.Integer(), nullable=True),
        sa.Column("enrolment_issued_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officer.id"], name="fk_officer_credential_officer_id_officer"
        ),
        sa.PrimaryKeyConstraint("officer_id", name="pk_officer_credential"),
    )
    op.create_table(
        "officer_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officer.id"], name="fk_officer_recovery_code_officer_id_officer"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_officer_recovery_code"),
    )
    op.create_index("ix_officer_recovery_code_officer_id", "officer_recovery_code", ["officer_id"])
    op.create_table(
        "console_session",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officer.id"], name="fk_console_session_officer_id_officer"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_console_session"),
    )
    op.create_index("ix_console_session_officer_id", "console_session", ["officer_id"])


def downgrade() -> None:
    for table in ("console_session", "officer_recovery_code", "officer_credential"):
        op.drop_table(table)
