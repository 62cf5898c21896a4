"""``Sandbox``: ``extract`` run in worker processes under limits, so that no upload can grow
the server or hold it (issue 11 point 1).

Workers come from a ``forkserver`` (never forked from the threaded server), which imports
``verifier.extract`` once so that a new worker is ready in milliseconds. Each worker runs at
a lower priority (genuine QR checks in the server come first), with its address space
capped (``RLIMIT_AS``) and a CPU-time limit renewed for every file (``RLIMIT_CPU``); the
server waits for an answer no longer than the wall-clock timeout, then kills the worker
and starts another. A worker retires itself after ``max_tasks`` files, or as soon as its
resident memory has grown by ``retire_growth`` since it started (memory a file made it
allocate goes back to the system with the process, not to the allocator's free lists).
Only bytes and plain tuples cross the pipe.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import resource
import threading
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from .extract import Extracted, UnreadableFile, extract, too_costly

__all__ = ["ExtractorBusy", "Sandbox"]

log = logging.getLogger("jiaozi.verifier.sandbox")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class ExtractorBusy(Exception):
    """Every worker stayed busy for longer than the wait: try again later (a 503)."""


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * _PAGE


def _limit_self(memory: int) -> None:
    """Lower this worker's priority and cap its address space and image decoders."""
    from PIL import Image, PngImagePlugin

    from . import extract as ex

    os.nice(10)
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged file is refused, not logged
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    Image.MAX_IMAGE_PIXELS = ex.MAX_PIXELS
    PngImagePlugin.MAX_TEXT_CHUNK = ex.MAX_PNG_TEXT
    PngImagePlugin.MAX_TEXT_MEMORY = ex.MAX_PNG_TEXT


def _cpu_budget(seconds: float) -> None:
    """Allow this process ``seconds`` more CPU time from now (SIGXCPU ends it after)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = math.ceil(used + seconds)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _serve(conn: Connection, memory: int, cpu: float, max_tasks: int, retire_growth: int) -> None:
    """A worker's life: answer up to ``max_tasks`` files on ``conn``, one at a time. Each
    answer is (reply, retiring); reply is ("ok", kind, qr, credential, photo) or ("refused", code,
    en, zh)."""
    _limit_self(memory)
    retire_rss = _rss() + retire_growth
    conn.send(("ready", False))  # start-up is not counted against the first file's time
    for done in range(1, max_tasks + 1):
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        _cpu_budget(cpu)
        reply: tuple[Any, ...]
        try:
            found = extract(data)
            reply = ("ok", found.kind, found.qr, found.credential, found.photo)
        except UnreadableFile as exc:
            reply = ("refused", exc.code, exc.en, exc.zh)
        except Exception as exc:  # a file no check foresaw: refused, never a 500
            log.warning("extract failed: %s", type(exc).__name__)
            reply = ("refused", "unreadable_file", "the file cannot be read", "无法读取该文件")
        del data
        retiring = done >= max_tasks or _rss() > retire_rss
        conn.send((reply, retiring))
        if retiring:
            return


@dataclass
class _Worker:
    process: Any  # multiprocessing.Process of the forkserver context
    conn: Connection

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        self.conn.close()
        self.process.join(2.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2.0)


def _stop_all(idle: list[_Worker]) -> None:
    while idle:
        idle.pop().stop(kill=True)


class Sandbox:
    """Runs ``extract`` in at most ``workers`` processes at once (0: in the caller, with
    the in-process checks only)."""

    def __init__(
        self,
        workers: int = 2,
        *,
        timeout: float = 1.8,
        memory: int = 512 * 1024 * 1024,
        max_tasks: int = 200,
        retire_growth: int = 24 * 1024 * 1024,
        wait: float = 5.0,
        start_timeout: float = 30.0,
    ) -> None:
        self.workers = workers
        self.start_timeout = start_timeout
        self.timeout = timeout
        self.memory = memory
        self.max_tasks = max_tasks
        self.retire_growth = retire_growth
        self.wait = wait
        self._slots = threading.BoundedSemaphore(max(workers, 1))
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._finalizer = weakref.finalize(self, _stop_all, self._idle)

    def _context(self) -> Any:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["verifier.extract"])
        return ctx

    def _start(self) -> _Worker:
        ctx = self._context()
        mine, theirs = ctx.Pipe()
        cpu = max(1.0, self.timeout)
        process = ctx.Process(
            target=_serve,
            args=(theirs, self.memory, cpu, self.max_tasks, self.retire_growth),
            name="jiaozi-extract",
            daemon=True,
        )
        process.start()
        theirs.close()
        worker = _Worker(process, mine)
        # A worker starting (the forkserver itself, the first time) on a loaded machine may
        # take seconds: wait for it here, bounded, so that the file's own time limit counts
        # only the reading of the file. A genuine file must not be refused as too costly
        # because a worker was being replaced when it came.
        try:
            ready = mine.poll(self.start_timeout) and mine.recv() == ("ready", False)
        except (EOFError, OSError):
            ready = False
        if not ready:
            worker.stop(kill=True)
            log.warning("an extract worker did not start within %.0f s", self.start_timeout)
            raise ExtractorBusy
        return worker

    def warm(self) -> None:
        """Start the workers now rather than at the first upload."""
        started = [self._start() for _ in range(self.workers - len(self._idle))]
        with self._lock:
            self._idle.extend(started)

    def run(self, data: bytes) -> Extracted:
        """Return what ``extract(data)`` returns, computed in a worker.

        Raises UnreadableFile as ``extract`` does, and with code ``file_too_costly`` when
        the worker passed its time or memory limit (it is then replaced); ExtractorBusy
        when no worker was free within ``wait`` seconds or a new one did not start within
        ``start_timeout``.
        """
        if self.workers <= 0:
            return extract(data)
        if not self._slots.acquire(timeout=self.wait):
            raise ExtractorBusy
        try:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None or not worker.process.is_alive():
                if worker is not None:
                    worker.stop(kill=True)
                worker = self._start()
            try:
                worker.conn.send_bytes(data)
                if not worker.conn.poll(self.timeout):
                    log.warning("extract passed its %.1f s limit: worker replaced", self.timeout)
                    worker.stop(kill=True)
                    raise too_costly()
                reply, retiring = worker.conn.recv()
            except (EOFError, OSError):
                log.warning("extract worker ended (memory or CPU limit): replaced")
                worker.stop(kill=True)
                raise too_costly() from None
            if retiring:
                worker.stop()
            else:
                with self._lock:
                    self._idle.append(worker)
        finally:
            self._slots.release()
        if reply[0] == "ok":
            return Extracted(reply[1], reply[2], reply[3], reply[4])
        raise UnreadableFile(reply[1], reply[2], reply[3])

    def pids(self) -> list[int]:
        """Return the process ids of the idle workers (for tests and measurements)."""
        with self._lock:
            return [w.process.pid for w in self._idle if w.process.pid is not None]

    def close(self) -> None:
        """Stop the idle workers (at the app's shutdown; a later ``run`` starts new ones:
        a test client may run the app's lifespan more than once)."""
        with self._lock:
            _stop_all(self._idle)
