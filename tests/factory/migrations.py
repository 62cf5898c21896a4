"""What the schema-migration tests of every service share: a private database per test
(a SQLite file, or a PostgreSQL database named ``alembic_<service>_<random>``, dropped
after) and processes that migrate one database at once.

A database of its own, not the suite's schema-per-test: the migration lock is a
PostgreSQL advisory lock, and advisory locks are per database, so a test that counts the
processes waiting on it must be alone in its database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tests.factory import REPO

PG_URL = os.environ.get(
    "JIAOZI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# How long a process may take to reach the lock, or to migrate once it has it: generous
# bounds on a loaded 2-core machine (a test waits this long only when it is failing).
WAIT_SECONDS = 120


@contextmanager
def postgres_database(service: str) -> Iterator[str]:
    """Yield the URL of a new, empty PostgreSQL database ``alembic_<service>_<random>``;
    drop it after (closing any connection a failed test left). Fails, never skips, when
    PostgreSQL is unreachable."""
    name = f"alembic_{service}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL is required for this test and unreachable at {PG_URL}: {exc}")
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def any_database(kind: str, service: str, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Yield the URL of an empty database of ``kind`` ("sqlite" or "postgresql")."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'{service}.db'}"
        return
    with postgres_database(service) as url:
        yield url


def waiting_on_advisory_locks(conn: sa.Connection) -> int:
    """Return how many sessions of ``conn``'s database wait for an advisory lock."""
    return int(
        conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND NOT l.granted "
                "AND d.datname = current_database()"
            )
        ).scalar_one()
    )


def start_migrators(module: str, url: str, count: int = 2) -> list[subprocess.Popen[str]]:
    """Start ``count`` processes that each open ``url`` with ``<module>.make_engine`` (which
    migrates), print "ready" first and "done <revision>" at the end."""
    code = (
        "import sys\n"
        "print('ready', flush=True)\n"
        f"from {module} import make_engine, migration_state\n"
        "engine = make_engine(sys.argv[1])\n"
        "print('done', migration_state(engine)[0], flush=True)\n"
        "engine.dispose()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "JIAOZI_ENV": "development"}
    return [
        subprocess.Popen(
            [sys.executable, "-c", code, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for _ in range(count)
    ]


def finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    """Wait for ``procs`` (killing any left at the bound) and return each one's exit
    status, output and errors."""
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        results.append((proc.returncode, out, err))
    return results


def stop(procs: list[subprocess.Popen[str]]) -> None:
    """Kill whatever of ``procs`` still runs (a test's ``finally``)."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def migrate_together_on_postgres(module: str, url: str, lock_id: int) -> list[tuple[int, str, str]]:
    """Run two migrating processes of ``module`` on the PostgreSQL ``url`` so that both
    are at the migration lock at once: the test holds the lock (``lock_id``) until both
    wait on it, then lets them go. Returns ``finish``'s results."""
    engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    procs: list[subprocess.Popen[str]] = []
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
            try:
                procs = start_migrators(module, url)
                deadline = time.monotonic() + WAIT_SECONDS
                while waiting_on_advisory_locks(conn) < 2:
                    if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                        for proc in procs:
                            proc.kill()
                        pytest.fail(f"the migrating processes never both waited: {finish(procs)}")
                    time.sleep(0.05)
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
        return finish(procs)
    finally:
        stop(procs)
        engine.dispose()
