"""ops.metrics, ops.addresses and ops.health."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.core import GaugeMetricFamily

import ops


def _value(metrics: ops.Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_every_app_has_its_own_registry() -> None:
    a, b = ops.Metrics("issuer"), ops.Metrics("issuer")  # same names: no clash
    a.observe("/x/{n}", "GET", 200, 0.01)
    a.observe("/x/{n}", "GET", 200, 0.02)
    assert _value(a, "jiaozi_http_requests_total", route="/x/{n}", method="GET", status="200") == 2
    assert (
        _value(b, "jiaozi_http_requests_total", route="/x/{n}", method="GET", status="200") is None
    )
    count = _value(
        a, "jiaozi_http_request_duration_seconds_count", route="/x/{n}", method="GET", status="200"
    )
    assert count == 2
    body, media = a.exposition()
    assert media.startswith("text/plain") and b"jiaozi_http_requests_total" in body


def test_a_scrape_time_metric_is_computed_at_each_scrape_and_an_error_counted() -> None:
    m = ops.Metrics("verifier")
    state = {"age": 5.0, "fail": False}

    def produce():
        if state["fail"]:
            raise RuntimeError("database down")
        g = GaugeMetricFamily(ops.SYNC_AGE, "age", labels=["document", "source"])
        g.add_metric(["trust_list", "trust_list"], state["age"])
        yield g

    m.collect_at_scrape(produce)
    labels = {"document": "trust_list", "source": "trust_list"}
    assert _value(m, "jiaozi_sync_age_seconds", **labels) == 5
    state["age"] = 9
    assert _value(m, "jiaozi_sync_age_seconds", **labels) == 9
    state["fail"] = True
    body, _ = m.exposition()  # the rest of the scrape still answers
    assert b"jiaozi_http_requests" in body and b"jiaozi_sync_age_seconds{" not in body
    assert _value(m, "jiaozi_scrape_errors_total") >= 1


def test_the_fallback_hook_counts_switches_and_holds_the_degraded_gauge() -> None:
    m = ops.Metrics("verifier")
    hook = ops.FallbackHook(m)
    assert _value(m, "jiaozi_ratelimit_degraded") == 0
    hook.changed(True)
    hook.changed(True)  # still degraded: one fallback, not two
    assert _value(m, "jiaozi_ratelimit_fallback_total") == 1
    assert _value(m, "jiaozi_ratelimit_degraded") == 1
    hook.changed(False)
    hook.changed(True)
    assert _value(m, "jiaozi_ratelimit_fallback_total") == 2
    hook.changed(False)
    assert _value(m, "jiaozi_ratelimit_degraded") == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1, 10.0.0.0/8", ("127.0.0.1/32", "10.0.0.0/8")),
        ('["192.0.2.7", "::1"]', ("192.0.2.7/32", "::1/128")),
        (["10.1.2.3/16"], ("10.1.0.0/16",)),
        ("", ()),
    ],
)
def test_metrics_allow_is_parsed(value: object, expected: tuple[str, ...]) -> None:
    assert ops.parse_metrics_allow(value) == expected


@pytest.mark.parametrize("value", ["localhost", "10.0.0.0/33", '["x"]', 12])
def test_a_bad_metrics_allow_is_refused_naming_the_entry(value: object) -> None:
    with pytest.raises(ValueError):
        ops.parse_metrics_allow(value)


def test_address_allow() -> None:
    allow = ops.AddressAllow(ops.DEFAULT_METRICS_ALLOW)
    assert allow("127.0.0.1") and allow("127.8.9.10") and allow("::1")
    assert allow("::ffff:127.0.0.1")  # a dual-stack socket's IPv4 loopback
    assert not allow("10.0.0.1") and not allow("testclient") and not allow(None)
    assert ops.AddressAllow(["10.0.0.0/8"])("10.2.3.4")


def test_readiness_names_the_failing_checks() -> None:
    def ok() -> None:
        return None

    def stale() -> None:
        raise ops.NotReady("status list 3 is stale")

    def broken() -> None:
        raise RuntimeError("postgresql://user:secret@db/x unreachable")

    status, body = asyncio.run(ops.readiness({"database": ok}))
    assert (status, body) == (200, {"status": "ready", "checks": {"database": {"ok": True}}})
    status, body = asyncio.run(
        ops.readiness({"database": broken, "status_lists": stale, "key_store": ok})
    )
    assert status == 503 and body["status"] == "not_ready"
    assert body["failing"] == ["database", "status_lists"]
    assert body["checks"]["status_lists"] == {"ok": False, "detail": "status list 3 is stale"}
    # an unexpected error shows its type only: its message may hold a secret
    assert body["checks"]["database"] == {"ok": False, "detail": "RuntimeError"}
    assert body["checks"]["key_store"] == {"ok": True}


def test_a_check_that_hangs_is_answered_as_failing() -> None:
    import threading

    release = threading.Event()

    def hangs() -> None:
        release.wait(10)

    try:
        status, body = asyncio.run(ops.readiness({"database": hangs}, timeout=0.05))
    finally:
        release.set()
    assert status == 503 and body["failing"] == ["database"]
    assert "no answer" in body["checks"]["database"]["detail"]
