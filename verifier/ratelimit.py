"""Fixed-window rate limits shared by every replica: in Redis when ``JIAOZI_REDIS_URL`` is
set, otherwise in the database (``vf_rate_counter``)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import sqlalchemy as sa

from . import db

__all__ = ["DbLimiter", "Limiter", "LimiterUnavailable", "RedisLimiter", "make_limiter"]


class LimiterUnavailable(Exception):
    """The shared counter store cannot be reached: refuse rather than go unlimited."""


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


class RedisLimiter:
    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    def hit(self, bucket: str, *, limit: int, window: int, now: dt.datetime) -> int | None:
        w, retry = _window(now, window)
        key = f"{self.prefix}rate:{bucket}:{w}"
        import redis

        try:
            pipe = self.client.pipeline()
            pipe.incr(key)
            pipe.expire(key, window * 2)
            count = int(pipe.execute()[0])
        except redis.RedisError as exc:
            raise LimiterUnavailable(type(exc).__name__) from exc
        return None if count <= limit else max(1, retry)

    def close(self) -> None:
        self.client.close()


def make_limiter(engine: sa.Engine, redis_url: str | None, prefix: str) -> Limiter:
    return RedisLimiter(redis_url, prefix) if redis_url else DbLimiter(engine)
