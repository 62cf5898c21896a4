"""SQLite: the WAL checkpoints a batch's commits would run, run by a thread instead.

SQLite copies the WAL back into the database file inside the commit that takes the WAL
past ``wal_autocheckpoint`` pages: at batch sizes that is a large part of the commit's
time (copying the pages, and two fsyncs the writer sits through). Here the batch writes
on one connection held for the whole run (with a larger page cache, ``_WRITER_CACHE``),
whose own automatic checkpoint comes only at ``_WAL_SELF_CHECKPOINT`` pages, while a
thread with its own connection runs ``PRAGMA wal_checkpoint(PASSIVE)`` (never blocking
the writer; SQLite releases the GIL meanwhile). A checkpoint copies committed pages only,
so a crash or ``kill -9`` at any point still loses and doubles nothing. Other databases:
nothing.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import SingletonThreadPool, StaticPool

__all__ = ["WalCheckpoints"]

# The batch's own connection checkpoints the WAL itself only past this many pages (64 MB
# with 4 KB pages: the bound on how far the WAL grows while a thread checkpoints it).
_WAL_SELF_CHECKPOINT = 16384
_CHECKPOINT_EVERY = 0.02  # seconds between the thread's passive checkpoints
# The batch's connection keeps up to 64 MB of pages (SQLite's default is 2 MB): the
# indexes on random keys (identity hash, status index) touch pages all over, which the
# default cache would give back and read again.
_WRITER_CACHE = -65536


class WalCheckpoints:
    """The batch's writing connection (``open``) and the thread checkpointing its WAL
    (``start``, ``close``); see the module's docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        url = engine.url
        self.active = (
            engine.dialect.name == "sqlite"
            and url.database not in (None, "", ":memory:")
            # one connection shared by every thread: no second one for the checkpoints
            and not isinstance(engine.pool, StaticPool | SingletonThreadPool)
        )
        self.conn: sa.Connection | None = None
        self._old: int | None = None
        self._old_cache: int | None = None
        self._raw: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> Engine | sa.Connection:
        """Return what the chunks' sessions bind to."""
        if not self.active:
            return self.engine
        self.conn = self.engine.connect()
        raw = self.conn.connection.dbapi_connection
        assert raw is not None
        (old,) = raw.execute("PRAGMA wal_autocheckpoint").fetchone()
        (old_cache,) = raw.execute("PRAGMA cache_size").fetchone()
        raw.execute(f"PRAGMA wal_autocheckpoint={_WAL_SELF_CHECKPOINT:d}")
        raw.execute(f"PRAGMA cache_size={_WRITER_CACHE:d}")
        self._raw, self._old, self._old_cache = raw, int(old), int(old_cache)
        return self.conn

    def start(self) -> None:
        """Start the thread (after the signing pool has forked its workers)."""
        if self.active and self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="jiaozi-wal-checkpoint", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        raw = self.engine.raw_connection()
        try:
            while not self._stop.wait(_CHECKPOINT_EVERY):
                raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except Exception:  # noqa: S110 - the next commits checkpoint as SQLite always does
            pass
        finally:
            raw.close()

    def close(self) -> None:
        """Stop the thread and give the connection back (its setting restored)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self._raw.execute(f"PRAGMA wal_autocheckpoint={self._old:d}")
                self._raw.execute(f"PRAGMA cache_size={self._old_cache:d}")
            self.conn.close()
            self.conn = None
