"""Engines, write transactions and migrations.

SQLite (the default, a file under ``var/``) runs in WAL mode with foreign keys on, and
every write transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock up front,
so two writers never both read and then collide on upgrading to a write lock. PostgreSQL
relies on row locks (``UPDATE ... RETURNING``) and unique constraints instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from keys import create_private_file

__all__ = ["begin_write", "make_engine", "upgrade", "write"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_BEGIN_OPTION = "jiaozi_sqlite_begin"


def make_engine(url: str, **kw: Any) -> Engine:
    """Return an engine for ``url``; SQLite gets WAL, foreign keys and explicit BEGINs."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kw.setdefault("pool_pre_ping", True)
        kw.setdefault("pool_size", 10)
        kw.setdefault("max_overflow", 20)
        return sa.create_engine(parsed, **kw)

    if parsed.database and parsed.database != ":memory:":
        create_private_file(Path(parsed.database))
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    engine = sa.create_engine(
        parsed, connect_args={"check_same_thread": False, "timeout": 60}, **kw
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def begin_write(session: Session) -> sa.Connection:
    """Start ``session``'s transaction as a writer (``BEGIN IMMEDIATE`` on SQLite).

    Call before the first statement of a transaction that will write.
    """
    return session.connection(execution_options={_BEGIN_OPTION: "IMMEDIATE"})


@contextmanager
def write(session: Session) -> Iterator[Session]:
    """Run the ``with`` body as one write transaction on ``session``, and commit it.

    Any read transaction the session already has open (an API key lookup, a check before
    writing) is ended first, so that on SQLite the write lock is taken at ``BEGIN
    IMMEDIATE`` and no later read-to-write upgrade can fail with "database is locked".
    On PostgreSQL the body takes its row locks (``SELECT ... FOR UPDATE``, ``UPDATE ...
    RETURNING``) as before.

    Yields ``session``. Raises whatever the body or the commit raises, after rolling the
    whole transaction back: nothing of it is kept.
    """
    if session.in_transaction():
        session.rollback()
    try:
        begin_write(session)  # may fail too (a busy database): rolled back like the rest
        yield session
        session.commit()
    except BaseException:
        # Clean up and re-raise (KeyboardInterrupt and cancellation too): a half-done
        # write must never stay open on a pooled connection.
        session.rollback()
        raise


def alembic_config() -> Config:
    """Return the Alembic configuration of the issuer's migrations (no ini file)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


# "jiaozi-issuer": serialises migrations across processes sharing one database (the
# verifier's and the registry's locks have their own ids).
_PG_MIGRATION_LOCK = 0x6A69616F7A6931


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the issuer's Alembic migrations up to ``revision`` on ``engine``, serialised with
    any other process doing the same: a ``serve`` and a ``jiaozi batch`` starting together
    on a new version must not both run a revision (a PostgreSQL advisory lock held to the
    commit; SQLite takes its write lock first)."""
    cfg = alembic_config()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_MIGRATION_LOCK})
        elif conn.dialect.name == "sqlite":
            conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()
