"""The verifier's SQLite files are created readable by their owner alone (issue 11)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import sqlalchemy as sa

from verifier.db import make_engine as make_verifier_engine


def test_the_verifiers_sqlite_files_are_created_readable_by_the_owner_alone(
    tmp_path: Path,
) -> None:
    old = os.umask(0o022)  # the usual umask, which made the files world-readable
    try:
        _check(tmp_path)
    finally:
        os.umask(old)


def _check(tmp_path: Path) -> None:
    db = tmp_path / "var" / "verifier.db"
    engine = make_verifier_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in db.parent.iterdir()}
    finally:
        engine.dispose()
    assert "verifier.db" in modes
    assert set(modes.values()) == {0o600}, modes
