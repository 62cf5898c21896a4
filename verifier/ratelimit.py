"""Fixed-window rate limits shared by every replica: in Redis when ``JIAOZI_REDIS_URL`` is
set, otherwise in the database (``vf_rate_counter``).

When Redis cannot be reached, :class:`RedisLimiter` keeps counting in the process
(:class:`LocalLimiter`, the same fixed windows, so each replica allows up to the limit on
its own while the outage lasts) rather than refusing every verification: a verifier that
answers nobody because its counter store is down helps no one, and the limit still holds
per replica. It says so once per outage in the log, exposes ``degraded`` and
``fallback_total`` for the metrics (``jiaozi_ratelimit_degraded``,
``jiaozi_ratelimit_fallback_total``), tries Redis again every ``probe_interval`` seconds
(not on every request: a hung Redis would cost each request its socket timeout) and goes
back to it, saying so, once it answers.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import sqlalchemy as sa

from . import db

__all__ = [
    "DbLimiter",
    "Limiter",
    "LimiterUnavailable",
    "LocalLimiter",
    "RedisLimiter",
    "make_limiter",
]

log = logging.getLogger("jiaozi.verifier.ratelimit")


class LimiterUnavailable(Exception):
    """A limiter cannot count at all: refuse rather than go unlimited (503). The Redis
    limiter does not raise it: it counts in the process while Redis is down."""


class Limiter(Protocol):
    def hit(self, bucket: str, *, limit: int, window: int, now: dt.datetime) -> int | None:
        """Count one request; return None if allowed, else seconds until the next window."""
        ...


def _window(now: dt.datetime, window: int) -> tuple[int, int]:
    t = int(now.timestamp())
    start = t // window
    return start, (start + 1) * window - t


class DbLimiter:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def hit(self, bucket: str, *, limit: int, window: int, now: dt.datetime) -> int | None:
        w, retry = _window(now, window)
        t = db.rate_counters
        where = sa.and_(t.c.bucket == bucket, t.c.window == w)
        with self.engine.begin() as conn:
            if conn.execute(t.update().where(where).values(count=t.c.count + 1)).rowcount == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(t.insert().values(bucket=bucket, window=w, count=1))
                    conn.execute(t.delete().where(t.c.bucket == bucket, t.c.window < w))
                except sa.exc.IntegrityError:  # another replica inserted it first
                    conn.execute(t.update().where(where).values(count=t.c.count + 1))
            count = conn.execute(sa.select(t.c.count).where(where)).scalar_one()
        return None if count <= limit else max(1, retry)


class LocalLimiter:
    """Fixed windows counted in this process only (the fallback while Redis is down)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, *, limit: int, window: int, now: dt.datetime) -> int | None:
        """Count one request; return None if allowed, else seconds until the next window."""
        w, retry = _window(now, window)
        with self._lock:
            if len(self._counts) > 100_000:  # drop past windows (one client, one key each)
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= w}
            count = self._counts.get((bucket, w), 0) + 1
            self._counts[(bucket, w)] = count
        return None if count <= limit else max(1, retry)


class RedisLimiter:
    """Counts in Redis, shared by every replica; falls back to a :class:`LocalLimiter`
    while Redis cannot be reached (module docstring)."""

    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        probe_interval: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
        client: Any = None,
    ) -> None:
        import redis

        self.client = client or redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2
        )
        self.prefix = prefix
        self.probe_interval = probe_interval
        self.local = LocalLimiter()
        self.fallback_total = 0  # requests counted locally because Redis was down
        # Told True when an outage starts and False when Redis answers again: the metrics'
        # jiaozi_ratelimit_degraded and jiaozi_ratelimit_fallback_total (verifier.app.observe).
        self.on_fallback: Callable[[bool], None] | None = None
        self._monotonic = monotonic
        self._down_since: float | None = None  # monotonic time of the last failed try
        self._lock = threading.Lock()

    @property
    def degraded(self) -> bool:
        """True while the last try of Redis failed (requests are counted locally)."""
        return self._down_since is not None

    def _redis_hit(self, key: str, window: int) -> int:
        pipe = self.client.pipeline()
        pipe.incr(key)
        pipe.expire(key, window * 2)
        return int(pipe.execute()[0])

    def hit(self, bucket: str, *, limit: int, window: int, now: dt.datetime) -> int | None:
        """Count one request in Redis, or locally while it is down; return None if allowed,
        else seconds until the next window. Never raises for Redis being unreachable."""
        import redis

        w, retry = _window(now, window)
        with self._lock:
            down = self._down_since
            wait = down is not None and self._monotonic() - down < self.probe_interval
        if not wait:
            try:
                count = self._redis_hit(f"{self.prefix}rate:{bucket}:{w}", window)
            except redis.RedisError as exc:
                self._went_down(exc)
            else:
                self._came_back()
                return None if count <= limit else max(1, retry)
        with self._lock:
            self.fallback_total += 1
        return self.local.hit(bucket, limit=limit, window=window, now=now)

    def _went_down(self, exc: Exception) -> None:
        with self._lock:
            first = self._down_since is None
            self._down_since = self._monotonic()
        if first:  # once per outage; the later failed probes are expected
            if self.on_fallback is not None:
                self.on_fallback(True)
            log.warning(
                "rate-limit store (Redis) unreachable (%s): counting in this process "
                "while it is down (limits now per replica)",
                type(exc).__name__,
            )

    def _came_back(self) -> None:
        with self._lock:
            was_down = self._down_since is not None
            self._down_since = None
        if was_down:
            if self.on_fallback is not None:
                self.on_fallback(False)
            log.warning("rate-limit store (Redis) answers again: counting in Redis")

    def close(self) -> None:
        self.client.close()


def make_limiter(engine: sa.Engine, redis_url: str | None, prefix: str) -> Limiter:
    return RedisLimiter(redis_url, prefix) if redis_url else DbLimiter(engine)
