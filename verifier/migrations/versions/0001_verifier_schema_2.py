"""The verifier's schema 2 (the last one ``create_all`` made, versioned by hand in
``vf_meta``), and the adoption of a database made before migrations.

A database made by ``create_all`` has these tables already and no version table: each table
that exists is kept as it stands (its data too) and only missing ones are made, so running
this revision over it records it at 0001 without touching what it holds. A schema 1
database first loses what it held about persons, as the start of a schema 2 verifier always
did: the restricted list with its person references (and the restricted-list documents and
cursors carrying them: the next sync takes a fresh snapshot without them), the
admission-check audit and the employer accounts (admission checks are the registry's).

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
_SCHEMA_VERSION = 2  # vf_meta's hand-made version, frozen here: Alembic's follows


def _drop_person_data(conn: sa.Connection, tables: set[str]) -> set[str]:
    """Drop a schema 1 database's person data; return the tables left."""
    old = "vf_restriction" in tables and any(
        c["name"] == "person_ref" for c in sa.inspect(conn).get_columns("vf_restriction")
    )
    if old:
        op.execute("DROP TABLE IF EXISTS vf_restriction_number")
        op.execute("DROP TABLE IF EXISTS vf_restriction")
        tables -= {"vf_restriction_number", "vf_restriction"}
        if "vf_document" in tables:
            op.execute("DELETE FROM vf_document WHERE kind = 'restrictions'")
        if "vf_sync_state" in tables:
            op.execute("DELETE FROM vf_sync_state WHERE source LIKE 'restrictions:%'")
    dropped = {"vf_admission_audit", "vf_employer"} & tables
    for name in ("vf_admission_audit", "vf_employer"):  # the audit refers to the employer
        if name in dropped:
            op.execute(f"DROP TABLE {name}")
    if "vf_meta" in tables and (old or dropped):
        op.execute(
            sa.text("UPDATE vf_meta SET value = :v WHERE name = 'schema_version'").bindparams(
                v=_SCHEMA_VERSION
            )
        )
    return tables - dropped


def _table(tables: set[str], name: str, *elements: sa.schema.SchemaItem) -> None:
    if name not in tables:  # a create_all database's table is adopted as it stands
        op.create_table(name, *elements)


def upgrade() -> None:
    conn = op.get_bind()
    tables = _drop_person_data(conn, set(sa.inspect(conn).get_table_names()))
    _table(
        tables,
        "vf_document",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(600), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(300), nullable=True),
        sa.Column("last_modified", sa.String(100), nullable=True),
        sa.Column("fetched_at", _TS, nullable=False),
        sa.Column("checked_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("kind", "key"),
    )
    _table(
        tables,
        "vf_sync_state",
        sa.Column("source", sa.String(600), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=True),
        sa.Column("data_iat", sa.BigInteger(), nullable=True),
        sa.Column("last_attempt", _TS, nullable=True),
        sa.Column("last_success", _TS, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("source"),
    )
    _table(
        tables,
        "vf_restriction",
        sa.Column("source", sa.String(600), nullable=False),
        sa.Column("entry_id", sa.String(100), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("bar_until", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("source", "entry_id"),
    )
    if "vf_restriction_number" not in tables:
        op.create_table(
            "vf_restriction_number",
            sa.Column("source", sa.String(600), nullable=False),
            sa.Column("entry_id", sa.String(100), nullable=False),
            sa.Column("certificate_number", sa.String(17), nullable=False),
            sa.PrimaryKeyConstraint("source", "entry_id", "certificate_number"),
        )
        op.create_index(
            "ix_vf_restriction_number_number", "vf_restriction_number", ["certificate_number"]
        )
    _table(
        tables,
        "vf_rate_counter",
        sa.Column("bucket", sa.String(200), nullable=False),
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window"),
    )
    _table(
        tables,
        "vf_meta",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    for name in (
        "vf_meta",
        "vf_rate_counter",
        "vf_restriction_number",
        "vf_restriction",
        "vf_sync_state",
        "vf_document",
    ):
        op.drop_table(name)
