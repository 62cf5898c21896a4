"""The verifier's own tables (its own MetaData: it shares nothing with the issuer's).

Everything replicas must agree on lives here: the signed documents held (trust list,
status lists, restricted-list documents) with their HTTP validators and ages, the
restricted list itself (certificate numbers, never a person: issue 12 point 4), sync
cursors, rate-limit counters (without Redis). ``create_all`` makes the tables; the schema
is small and versioned by ``SCHEMA_VERSION`` in ``vf_meta``. Version 2 dropped what a
version 1 database held about persons (``_drop_person_data``, at start).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from keys import create_private_file

__all__ = [
    "SCHEMA_VERSION",
    "bump_generation",
    "documents",
    "make_engine",
    "meta",
    "metadata",
    "rate_counters",
    "restriction_numbers",
    "restrictions",
    "sync_state",
    "writing",
]

SCHEMA_VERSION = 2
metadata = sa.MetaData()
_TS = sa.DateTime(timezone=True)

# One row per held signed document: kind "trust" (key ""), "status" (key = URI) or
# "restrictions" (key = issuer base URL + "#" + order). ``token`` is the JWS exactly as
# fetched, so that it can be re-verified and exported.
documents = sa.Table(
    "vf_document",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(600), primary_key=True),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),  # trust seq, status/restrictions iat
    sa.Column("etag", sa.String(300)),
    sa.Column("last_modified", sa.String(100)),
    sa.Column("fetched_at", _TS, nullable=False),  # when this copy arrived
    sa.Column("checked_at", _TS, nullable=False),  # last time the source confirmed it
)

# Per source: restrictions cursor, and the outcome of the last attempt (for ages/health).
sync_state = sa.Table(
    "vf_sync_state",
    metadata,
    sa.Column("source", sa.String(600), primary_key=True),
    sa.Column("cursor", sa.BigInteger),
    sa.Column("data_iat", sa.BigInteger),
    sa.Column("last_attempt", _TS),
    sa.Column("last_success", _TS),
    sa.Column("last_error", sa.String(500)),
)

restrictions = sa.Table(
    "vf_restriction",
    metadata,
    sa.Column("source", sa.String(600), primary_key=True),
    sa.Column("entry_id", sa.String(100), primary_key=True),
    sa.Column("category", sa.String(16), nullable=False),
    sa.Column("decision_date", sa.Date),
    sa.Column("bar_until", sa.Date),
)

restriction_numbers = sa.Table(
    "vf_restriction_number",
    metadata,
    sa.Column("source", sa.String(600), primary_key=True),
    sa.Column("entry_id", sa.String(100), primary_key=True),
    sa.Column("certificate_number", sa.String(17), primary_key=True),
    sa.Index("ix_vf_restriction_number_number", "certificate_number"),
)

rate_counters = sa.Table(
    "vf_rate_counter",
    metadata,
    sa.Column("bucket", sa.String(200), primary_key=True),
    sa.Column("window", sa.BigInteger, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

# ``generation`` changes whenever held data changes, so replicas know to re-read it.
meta = sa.Table(
    "vf_meta",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)


_PG_LOCK_ID = 0x6A69616F7A69  # "jiaozi": serialises table creation across replicas


def _drop_person_data(conn: sa.Connection) -> None:
    """Drop what a version 1 database held about persons: the restricted list with its
    person references (and the signed documents carrying them, with their cursors: the
    next sync takes a fresh snapshot without them), the admission-check audit and the
    employer accounts (admission checks are the registry's now)."""
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    old = "vf_restriction" in tables and any(
        c["name"] == "person_ref" for c in inspector.get_columns("vf_restriction")
    )
    if old:
        conn.execute(sa.text("DROP TABLE IF EXISTS vf_restriction_number"))
        conn.execute(sa.text("DROP TABLE IF EXISTS vf_restriction"))
        if "vf_document" in tables:
            conn.execute(sa.text("DELETE FROM vf_document WHERE kind = 'restrictions'"))
        if "vf_sync_state" in tables:
            conn.execute(sa.text("DELETE FROM vf_sync_state WHERE source LIKE 'restrictions:%'"))
    for name in ("vf_admission_audit", "vf_employer"):
        if name in tables:
            conn.execute(sa.text(f"DROP TABLE {name}"))
    if "vf_meta" in tables and (old or {"vf_admission_audit", "vf_employer"} & tables):
        conn.execute(
            sa.text("UPDATE vf_meta SET value = :v WHERE name = 'schema_version'"),
            {"v": SCHEMA_VERSION},
        )


def _create_tables(engine: Engine) -> None:
    """Create missing tables; replicas starting together do not trip over each other."""
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
                _drop_person_data(conn)
                metadata.create_all(conn)
            return
        except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))  # another process created them meanwhile


def make_engine(url: str, **kw: Any) -> Engine:
    """Return an engine for ``url`` with the verifier's tables created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            create_private_file(Path(parsed.database))
        engine = sa.create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": 30}, **kw
        )

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    else:
        kw.setdefault("pool_pre_ping", True)
        engine = sa.create_engine(parsed, **kw)
    _create_tables(engine)
    with engine.begin() as conn:
        for name, value in (
            ("schema_version", SCHEMA_VERSION),
            ("generation", 0),
            ("write_lock", 0),
        ):
            if conn.execute(sa.select(meta.c.value).where(meta.c.name == name)).first() is None:
                try:
                    with conn.begin_nested():
                        conn.execute(meta.insert().values(name=name, value=value))
                except sa.exc.IntegrityError:  # another replica made it first
                    pass
    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[sa.Connection]:
    """A write transaction serialised with every other replica's: it first takes the row
    lock of ``vf_meta.write_lock`` (on SQLite, the database write lock), so a check made
    inside it sees what any other writer committed before."""
    with engine.begin() as conn:
        conn.execute(
            meta.update().where(meta.c.name == "write_lock").values(value=meta.c.value + 1)
        )
        yield conn


def bump_generation(conn: sa.Connection) -> None:
    """Mark held data as changed (inside the writing transaction)."""
    conn.execute(meta.update().where(meta.c.name == "generation").values(value=meta.c.value + 1))


def generation(conn: sa.Connection) -> int:
    value = conn.execute(sa.select(meta.c.value).where(meta.c.name == "generation")).scalar()
    return int(value or 0)
