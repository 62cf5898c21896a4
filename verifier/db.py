"""The verifier's own tables (its own MetaData: it shares nothing with the issuer's).

Everything replicas must agree on lives here: the signed documents held (trust list,
status lists, restricted-list documents) with their HTTP validators and ages, the
restricted list itself (certificate numbers, never a person: issue 12 point 4), sync
cursors, rate-limit counters (without Redis).

The schema is versioned by Alembic (``verifier/migrations``, version table
``vf_alembic_version``): ``make_engine`` upgrades to head at start, one replica at a time.
Revision 0001 is schema 2, the last ``create_all`` made (``SCHEMA_VERSION`` in ``vf_meta``,
frozen since); it adopts a database made before migrations, and drops what a schema 1
database held about persons first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url

from keys import create_private_file
from ops.migrations import Migrations

__all__ = [
    "SCHEMA_MIGRATIONS",
    "SCHEMA_VERSION",
    "VERSION_TABLE",
    "SchemaError",
    "alembic_config",
    "bump_generation",
    "documents",
    "engine_for",
    "make_engine",
    "meta",
    "metadata",
    "migration_state",
    "rate_counters",
    "restriction_numbers",
    "restrictions",
    "schema_diff",
    "sync_state",
    "upgrade",
    "writing",
]

SCHEMA_VERSION = 2  # the last hand-made version (vf_meta); Alembic's revisions follow it
VERSION_TABLE = "vf_alembic_version"  # not alembic_version: that is the issuer's
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)
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


# "jiaozi": serialises migrations across replicas (advisory locks are per database).
_PG_LOCK_ID = 0x6A69616F7A69


class SchemaError(RuntimeError):
    """The database's schema is not the one this verifier runs on."""


def engine_for(url: str, **kw: Any) -> Engine:
    """Return an engine for ``url`` (a new SQLite file is made 0600 first), its schema
    untouched: ``make_engine`` is the one services use."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kw.setdefault("pool_pre_ping", True)
        return sa.create_engine(parsed, **kw)
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

    return engine


# The Alembic machinery the registry shares (ops.migrations); the names below are this
# module's surface, as before.
SCHEMA_MIGRATIONS = Migrations(
    service="verifier",
    directory=MIGRATIONS,
    version_table=VERSION_TABLE,
    prefix="vf_",
    metadata=metadata,
    lock_id=_PG_LOCK_ID,
    error=SchemaError,
    adopt_hint="let it make a fresh database (it holds only synced copies)",
    log=log,
)


def alembic_config() -> Config:
    """Return the Alembic configuration of the verifier's migrations (no ini file)."""
    return SCHEMA_MIGRATIONS.config()


def migration_state(engine: Engine) -> tuple[str | None, str]:
    """Return the database's revision (None: never migrated) and this code's head."""
    return SCHEMA_MIGRATIONS.state(engine)


def schema_diff(conn: sa.Connection) -> list[Any]:
    """Return Alembic's differences between ``conn``'s ``vf_`` tables and ``metadata``
    (empty: they match)."""
    return SCHEMA_MIGRATIONS.diff(conn)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade the verifier's schema on ``engine`` to ``revision`` (``ops.Migrations.upgrade``:
    one transaction, serialised with any other process; a database made by ``create_all``
    before migrations is adopted by revision 0001 and checked against ``metadata``).

    Returns the revisions before and after. Raises ``SchemaError``, nothing kept, when an
    adopted database's tables differ from what this code expects.
    """
    return SCHEMA_MIGRATIONS.upgrade(engine, revision)


def make_engine(url: str, *, migrate: bool = True, **kw: Any) -> Engine:
    """Return an engine for ``url`` whose schema is at head: upgraded first when
    ``migrate`` (the setting ``JIAOZI_AUTO_MIGRATE``), else checked.

    Raises ``SchemaError`` when the schema is not at head and ``migrate`` is off (the
    message names ``jiaozi verifier migrate``), or as ``upgrade`` does.
    """
    engine = engine_for(url, **kw)
    try:
        if migrate:
            upgrade(engine)
        else:
            current, head = migration_state(engine)
            if current != head:
                raise SchemaError(
                    f"the verifier's database is at revision {current or 'none'}, this "
                    f"version needs {head}: run `jiaozi verifier migrate` "
                    "(or start with JIAOZI_AUTO_MIGRATE=true)"
                )
        with engine.begin() as conn:
            for name, value in (
                ("schema_version", SCHEMA_VERSION),
                ("generation", 0),
                ("write_lock", 0),
            ):
                row = conn.execute(sa.select(meta.c.value).where(meta.c.name == name)).first()
                if row is None:
                    try:
                        with conn.begin_nested():
                            conn.execute(meta.insert().values(name=name, value=value))
                    except sa.exc.IntegrityError:  # another replica made it first
                        pass
    except BaseException:
        engine.dispose()
        raise
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
