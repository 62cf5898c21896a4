"""Two issuer processes starting on a new version at once (a ``serve`` and a ``jiaozi
batch``, say) must not both run a revision: the second waits at the migration lock and
finds the schema at head."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from issuer.db import engine as issuer_engine
from tests.factory.migrations import (
    REPO,
    WAIT_SECONDS,
    finish,
    postgres_database,
    stop,
    waiting_on_advisory_locks,
)

_CODE = (
    "import sys\n"
    "print('ready', flush=True)\n"
    "from issuer.db.engine import make_engine, upgrade\n"
    "engine = make_engine(sys.argv[1])\n"
    "upgrade(engine)\n"
    "with engine.connect() as conn:\n"
    "    print('done', conn.exec_driver_sql('SELECT version_num FROM alembic_version').scalar_one(), flush=True)\n"
    "engine.dispose()\n"
)


def _migrators(url: str) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "JIAOZI_ENV": "development"}
    return [
        subprocess.Popen(
            [sys.executable, "-c", _CODE, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for _ in range(2)
    ]


def _head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(issuer_engine.alembic_config()).get_current_head()
    assert head is not None
    return head


def test_two_issuer_processes_migrating_one_postgresql_database_at_once_both_end_well() -> None:
    with postgres_database("issuer") as url:
        holder = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        procs: list[subprocess.Popen[str]] = []
        try:
            with holder.connect() as conn:
                conn.execute(
                    sa.text("SELECT pg_advisory_lock(:id)"),
                    {"id": issuer_engine._PG_MIGRATION_LOCK},
                )
                try:
                    procs = _migrators(url)
                    deadline = time.monotonic() + WAIT_SECONDS
                    # Both at the lock at once: without it, both would run revision 0001
                    # and one would fail on a table the other made.
                    while waiting_on_advisory_locks(conn) < 2:
                        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                            pytest.fail(
                                f"the migrating processes never both waited: {finish(procs)}"
                            )
                        time.sleep(0.05)
                finally:
                    conn.execute(
                        sa.text("SELECT pg_advisory_unlock(:id)"),
                        {"id": issuer_engine._PG_MIGRATION_LOCK},
                    )
            results = finish(procs)
        finally:
            stop(procs)
            holder.dispose()
        assert [(code, out.split()) for code, out, _ in results] == [
            (0, ["ready", "done", _head()])
        ] * 2, results


def test_two_issuer_processes_migrating_one_sqlite_file_at_once_both_end_well(tmp_path) -> None:
    procs = _migrators(f"sqlite:///{tmp_path / 'issuer.db'}")
    try:
        results = finish(procs)
    finally:
        stop(procs)
    assert [(code, out.split()) for code, out, _ in results] == [
        (0, ["ready", "done", _head()])
    ] * 2, results
