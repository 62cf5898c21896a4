"""The verifier's own tables (its own MetaData: it shares nothing with the issuer's).

Everything replicas must agree on lives here: the signed documents held (trust list,
status lists, restricted-list documents) with their HTTP validators and ages, the
restricted list itself, sync cursors, rate-limit counters (without Redis), employer
accounts and the admission-check audit. ``create_all`` makes the tables; the schema is
small and versioned by ``SCHEMA_VERSION`` in ``vf_meta``.
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
    "admission_audit",
    "bump_generation",
    "documents",
    "employers",
    "make_engine",
    "meta",
    "metadata",
    "rate_counters",
    "restriction_numbers",
    "restrictions",
    "sync_state",
    "writing",
]

SCHEMA_VERSION = 1
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
    sa.Column("person_ref", sa.String(64), nullable=False, index=True),
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

employers = sa.Table(
    "vf_employer",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("key_prefix", sa.String(12), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", _TS, nullable=False),
)

# Who asked, when, about whom (the keyed hash and the masked number, never the number),
# with what consent, and what was answered.
admission_audit = sa.Table(
    "vf_admission_audit",
    metadata,
    sa.Column("query_id", sa.String(32), primary_key=True),
    sa.Column("employer_id", sa.Integer, sa.ForeignKey("vf_employer.id"), nullable=False),
    sa.Column("at", _TS, nullable=False, index=True),
    sa.Column("id_type", sa.String(32), nullable=False),
    sa.Column("person_ref", sa.String(64), nullable=False),
    sa.Column("id_masked", sa.String(40), nullable=False),
    sa.Column("consent_reference", sa.String(200), nullable=False),
    sa.Column("restricted", sa.Boolean, nullable=False),
    sa.Column("data_as_of", _TS),
)

# ``generation`` changes whenever held data changes, so replicas know to re-read it.
meta = sa.Table(
    "vf_meta",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)


_PG_LOCK_ID = 0x6A69616F7A69  # "jiaozi": serialises table creation across replicas


def _create_tables(engine: Engine) -> None:
    """Create missing tables; replicas starting together do not trip over each other."""
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
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
