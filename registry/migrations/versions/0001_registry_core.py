"""The registry's tables as ``create_all`` made them before migrations: the consolidated
restricted list (entries, change log, heads, the signed snapshot), the national feed and
its clients, admission-check accounts, rate counters and audit.

A database made by ``create_all`` has these tables already and no version table: each table
that exists is kept as it stands (its data too) and only missing ones are made, so running
this revision over it records it at 0001 without touching what it holds
(``registry.db.upgrade`` then checks the adopted tables against the code's).

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    tables = set(sa.inspect(op.get_bind()).get_table_names())

    def table(name: str, *elements: sa.schema.SchemaItem, index: tuple[str, ...] = ()) -> None:
        if name in tables:  # a create_all database's table is adopted as it stands
            return
        op.create_table(name, *elements)
        for column in index:
            op.create_index(f"ix_{name}_{column}", name, [column])

    table(
        "rg_entry",
        sa.Column("ref", sa.String(320), nullable=False),
        sa.Column("office", sa.String(200), nullable=False),
        sa.Column("person_ref", sa.String(64), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("bar_until", sa.Date(), nullable=True),
        sa.Column("added_seq", sa.BigInteger(), nullable=False),
        sa.Column("removed_seq", sa.BigInteger(), nullable=True),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("removal_token", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("ref"),
        index=("person_ref",),
    )
    table(
        "rg_change",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ref", sa.String(320), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["ref"], ["rg_entry.ref"]),
        sa.PrimaryKeyConstraint("seq"),
    )
    table(
        "rg_head",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    table(
        "rg_published",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("iat", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    table(
        "rg_feed_event",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("office", sa.String(200), nullable=False),
        sa.Column("office_seq", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("identity_sealed", sa.Text(), nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("office", "office_seq"),
    )
    table(
        "rg_feed_office",
        sa.Column("office", sa.String(200), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("office"),
    )
    table(
        "rg_feed_client",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("identity", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("disabled_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("key_hash"),
    )
    table(
        "rg_account",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_prefix", sa.String(12), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_prefix"),
    )
    table(
        "rg_rate_counter",
        sa.Column("bucket", sa.String(200), nullable=False),
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window"),
    )
    table(
        "rg_admission_audit",
        sa.Column("query_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("id_type", sa.String(32), nullable=False),
        sa.Column("subject_tag", sa.String(64), nullable=False),
        sa.Column("id_masked", sa.String(40), nullable=False),
        sa.Column("consent_reference", sa.String(200), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("data_as_of", _TS, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["rg_account.id"]),
        sa.PrimaryKeyConstraint("query_id"),
        index=("at", "subject_tag"),
    )


def downgrade() -> None:
    for name in (
        "rg_admission_audit",
        "rg_rate_counter",
        "rg_account",
        "rg_feed_client",
        "rg_feed_office",
        "rg_feed_event",
        "rg_published",
        "rg_head",
        "rg_change",
        "rg_entry",
    ):
        op.drop_table(name)
