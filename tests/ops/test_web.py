"""ops.web on a small app: request ids, the access log, route templates, the endpoints."""

from __future__ import annotations

import io
import json
import logging

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

import ops

LOCAL = ("127.0.0.1", 40000)


def _app(checks: dict[str, ops.Check] | None = None, **kw: object) -> tuple[FastAPI, ops.Metrics]:
    app = FastAPI()

    @app.get("/certificates/{number}")
    def certificate(number: str) -> dict[str, str]:
        logging.getLogger("jiaozi.test.route").warning("serving")
        return {"n": "x"}

    @app.get("/limited")
    def limited() -> None:
        raise HTTPException(429)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    metrics = ops.Metrics("issuer")
    ops.install(
        app,
        service="issuer",
        metrics=metrics,
        checks=checks or {},
        metrics_allow=ops.DEFAULT_METRICS_ALLOW,
        healthz=True,
        limiters={"/limited": "holder_signin"},
        **kw,  # type: ignore[arg-type]
    )
    return app, metrics


def test_a_sane_request_id_is_echoed_and_carried_into_the_log_lines() -> None:
    app, _ = _app()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ops.JsonFormatter(service="tests"))
    logger = logging.getLogger("jiaozi")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        r = TestClient(app, client=LOCAL).get(
            "/certificates/11001-2026-000123", headers={"X-Request-ID": "abc.DEF-1"}
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    assert r.status_code == 200 and r.headers["x-request-id"] == "abc.DEF-1"
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    route = next(x for x in lines if x["logger"] == "jiaozi.test.route")
    access = next(x for x in lines if x["logger"] == "jiaozi.access")
    assert route["request_id"] == access["request_id"] == "abc.DEF-1"
    assert route["service"] == "issuer"
    assert access["route"] == "/certificates/{number}" and access["status"] == 200
    assert access["method"] == "GET" and access["client"] == "127.0.0.1"
    assert access["duration_ms"] >= 0
    assert "11001-2026-000123" not in stream.getvalue()  # the template, never the path


@pytest.mark.parametrize("sent", [None, "has space", "x" * 65])
def test_a_request_id_is_made_when_none_or_an_insane_one_is_sent(sent: str | None) -> None:
    app, _ = _app()
    headers = {"X-Request-ID": sent} if sent else {}
    r = TestClient(app, client=LOCAL).get("/healthz", headers=headers)
    rid = r.headers["x-request-id"]
    assert rid != sent and ops.sane_request_id(rid) == rid and len(rid) == 32
    assert r.headers.get_list("x-request-id") == [rid]


def test_every_answer_carries_the_request_id_even_an_unexpected_error() -> None:
    app, metrics = _app()
    client = TestClient(app, client=LOCAL, raise_server_exceptions=False)
    for path, status in (("/nowhere", 404), ("/limited", 429), ("/boom", 500)):
        r = client.get(path, headers={"X-Request-ID": "r-" + str(status)})
        assert r.status_code == status and r.headers["x-request-id"] == "r-" + str(status)
    sample = metrics.registry.get_sample_value
    assert (
        sample(
            "jiaozi_http_requests_total", {"route": "unmatched", "method": "GET", "status": "404"}
        )
        == 1
    )
    assert (
        sample("jiaozi_http_requests_total", {"route": "/boom", "method": "GET", "status": "500"})
        == 1
    )
    assert sample("jiaozi_ratelimit_refusals_total", {"limiter": "holder_signin"}) == 1


def test_route_template_is_found_for_a_request_answered_before_routing() -> None:
    app, _ = _app()
    scope = {"type": "http", "path": "/certificates/42", "method": "GET", "root_path": ""}
    assert ops.route_template(scope, app.router.routes) == "/certificates/{number}"
    assert ops.route_template({**scope, "path": "/x/y"}, app.router.routes) == ops.UNMATCHED


def test_metrics_answer_only_allowed_addresses() -> None:
    app, _ = _app()
    TestClient(app, client=LOCAL).get("/certificates/7")
    r = TestClient(app, client=LOCAL).get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert 'route="/certificates/{number}"' in r.text and "/certificates/7" not in r.text
    for client in (("203.0.113.9", 1), ("testclient", 1)):
        hidden = TestClient(app, client=client).get("/metrics")
        unknown = TestClient(app, client=client).get("/no-such-path")
        assert hidden.status_code == 404
        assert hidden.content == unknown.content  # the same answer as a path that is not there


def test_readyz_and_healthz() -> None:
    def stale() -> None:
        raise ops.NotReady("old")

    ok_app, _ = _app({"database": lambda: None})
    r = TestClient(ok_app, client=LOCAL).get("/readyz")
    assert r.status_code == 200 and r.json() == {
        "status": "ready",
        "checks": {"database": {"ok": True}},
    }
    bad_app, _ = _app({"database": lambda: None, "status_lists": stale})
    r = TestClient(bad_app, client=LOCAL).get("/readyz")
    assert r.status_code == 503 and r.json()["failing"] == ["status_lists"]
    r = TestClient(bad_app, client=LOCAL).get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_an_unknown_method_is_one_label() -> None:
    app, metrics = _app()
    client = TestClient(app, client=LOCAL)
    for method in ("FOO", "BAR"):
        assert client.request(method, "/healthz").status_code == 405
    sample = metrics.registry.get_sample_value
    labels = {"route": "/healthz", "method": "other", "status": "405"}
    assert sample("jiaozi_http_requests_total", labels) == 2
