"""The Redis rate limiter while Redis is down: it counts in the process (never refuses
everyone, never unlimited), says so once per outage, exposes ``degraded`` and
``fallback_total`` for the metrics, and goes back to Redis when it answers."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
import redis

from verifier.ratelimit import LocalLimiter, RedisLimiter

NOW = dt.datetime(2026, 12, 5, 12, 0, 30, tzinfo=dt.UTC)


class FakeRedis:
    """INCR/EXPIRE through a pipeline, or ConnectionError while ``up`` is False."""

    def __init__(self) -> None:
        self.up = True
        self.counts: dict[str, int] = {}
        self.calls = 0

    def pipeline(self) -> FakeRedis:
        self._ops: list[tuple[str, str]] = []
        return self

    def incr(self, key: str) -> None:
        self._ops.append(("incr", key))

    def expire(self, key: str, _seconds: int) -> None:
        self._ops.append(("expire", key))

    def execute(self) -> list[Any]:
        self.calls += 1
        if not self.up:
            raise redis.ConnectionError("Connection refused")
        out: list[Any] = []
        for op, key in self._ops:
            if op == "incr":
                self.counts[key] = self.counts.get(key, 0) + 1
                out.append(self.counts[key])
            else:
                out.append(True)
        return out

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _limiter(fake: FakeRedis, clock: Clock) -> RedisLimiter:
    return RedisLimiter(
        "redis://127.0.0.1:1/0", "t:", probe_interval=5.0, monotonic=clock, client=fake
    )


def test_local_limiter_counts_fixed_windows_per_bucket() -> None:
    local = LocalLimiter()
    hits = [local.hit("a", limit=2, window=60, now=NOW) for _ in range(3)]
    assert hits[:2] == [None, None] and hits[2] == 30  # 30 s left in the window
    assert local.hit("b", limit=2, window=60, now=NOW) is None  # another client
    later = NOW + dt.timedelta(seconds=30)
    assert local.hit("a", limit=2, window=60, now=later) is None  # the next window


def test_redis_down_falls_back_locally_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    fake, clock = FakeRedis(), Clock()
    lim = _limiter(fake, clock)
    assert lim.hit("c", limit=3, window=60, now=NOW) is None
    assert not lim.degraded and lim.fallback_total == 0 and fake.counts == {"t:rate:c:29941200": 1}

    fake.up = False
    with caplog.at_level(logging.WARNING, logger="jiaozi.verifier.ratelimit"):
        answers = [lim.hit("c", limit=3, window=60, now=NOW) for _ in range(4)]
        clock.t += 6  # past the probe interval: Redis is tried again, still down
        answers.append(lim.hit("c", limit=3, window=60, now=NOW))
    # counted locally from zero: three allowed, then refused (never unlimited)
    assert answers == [None, None, None, 30, 30]
    assert lim.degraded and lim.fallback_total == 5
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1 and "ConnectionError" in warnings[0].getMessage()
    # Redis was tried on the first failure and once more after the interval, not per hit
    assert fake.calls == 1 + 1 + 1


def test_redis_back_is_used_again(caplog: pytest.LogCaptureFixture) -> None:
    fake, clock = FakeRedis(), Clock()
    lim = _limiter(fake, clock)
    fake.up = False
    assert lim.hit("d", limit=5, window=60, now=NOW) is None
    assert lim.degraded
    fake.up = True
    assert lim.hit("d", limit=5, window=60, now=NOW) is None  # within the interval: local
    assert fake.counts == {} and lim.fallback_total == 2
    clock.t += 5
    with caplog.at_level(logging.WARNING, logger="jiaozi.verifier.ratelimit"):
        assert lim.hit("d", limit=5, window=60, now=NOW) is None
    assert not lim.degraded and lim.fallback_total == 2
    assert fake.counts == {"t:rate:d:29941200": 1}
    assert any("answers again" in r.getMessage() for r in caplog.records)
    # a second outage is logged again
    fake.up = False
    clock.t += 1
    with caplog.at_level(logging.WARNING, logger="jiaozi.verifier.ratelimit"):
        caplog.clear()
        lim.hit("d", limit=5, window=60, now=NOW)
    assert lim.degraded
    assert [r for r in caplog.records if "unreachable" in r.getMessage()]


def test_unreachable_real_redis_falls_back_without_raising() -> None:
    # a port nothing listens on (connection refused at once): the real client's error path
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lim = RedisLimiter(f"redis://127.0.0.1:{port}/0", "t:")
    try:
        assert lim.hit("e", limit=1, window=60, now=NOW) is None
        assert lim.hit("e", limit=1, window=60, now=NOW) == 30
        assert lim.degraded and lim.fallback_total == 2
    finally:
        lim.close()


def test_an_outage_shows_in_the_metrics_and_ends_there() -> None:
    from prometheus_client import generate_latest

    from ops import FallbackHook, Metrics

    metrics = Metrics(service="verifier")
    fake, clock = FakeRedis(), Clock()
    lim = _limiter(fake, clock)
    lim.on_fallback = FallbackHook(metrics).changed

    def scraped() -> dict[str, float]:
        lines = generate_latest(metrics.registry).decode().splitlines()
        wanted = ("jiaozi_ratelimit_degraded ", "jiaozi_ratelimit_fallback_total ")
        return {
            line.split()[0]: float(line.split()[1]) for line in lines if line.startswith(wanted)
        }

    lim.hit("e", limit=5, window=60, now=NOW)
    assert scraped() == {"jiaozi_ratelimit_degraded": 0.0, "jiaozi_ratelimit_fallback_total": 0.0}
    fake.up = False
    for _ in range(3):  # one outage, however many requests it meets
        lim.hit("e", limit=5, window=60, now=NOW)
    assert scraped() == {"jiaozi_ratelimit_degraded": 1.0, "jiaozi_ratelimit_fallback_total": 1.0}
    fake.up, clock.t = True, clock.t + 5
    lim.hit("e", limit=5, window=60, now=NOW)
    assert scraped() == {"jiaozi_ratelimit_degraded": 0.0, "jiaozi_ratelimit_fallback_total": 1.0}
