"""The SQLite files the issuer creates are their owner's alone (issue 11, point 3): the
issuer's holds sealed credentials, audit records and account hashes; SQLite gives the
-wal and -shm files the database file's mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from issuer.db.engine import make_engine, upgrade


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}


@pytest.fixture
def open_umask():
    old = os.umask(0o022)  # the usual umask, which made the files world-readable (0644)
    try:
        yield
    finally:
        os.umask(old)


def test_the_issuers_sqlite_files_are_created_readable_by_the_owner_alone(
    tmp_path: Path, open_umask: None
) -> None:
    db = tmp_path / "var" / "issuer.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        upgrade(engine)
        with engine.connect() as conn:  # WAL mode: the -wal and -shm files exist while open
            conn.execute(sa.text("SELECT 1"))
            modes = _modes(db.parent)
    finally:
        engine.dispose()
    assert {"issuer.db", "issuer.db-wal", "issuer.db-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_an_existing_database_file_is_opened_as_it_is(tmp_path: Path) -> None:
    db = tmp_path / "issuer.db"
    db.touch(mode=0o640)
    os.chmod(db, 0o640)  # an operator's own choice (a backup group) is not overridden
    engine = make_engine(f"sqlite:///{db}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    assert stat.S_IMODE(db.stat().st_mode) == 0o640
