"""The verifier's /healthz, /readyz, /metrics, request ids and JSON logs
(verifier.app.observe, ops)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factory import REPO
from tests.factory.verifier import Harness, make_harness

LOCAL = ("127.0.0.1", 40000)


def _sample(h: Harness, name: str, **labels: str) -> float | None:
    return h.app.state.metrics.registry.get_sample_value(name, labels)


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Harness]:
    """A verifier that has not synced yet."""
    gen = make_harness(f"sqlite:///{tmp_path / 'verifier.db'}", tmp_path)
    yield next(gen)
    gen.close()


def test_healthz_keeps_its_answer(api: Harness) -> None:
    r = api.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert "/healthz" in api.client.get("/openapi.json").json()["paths"]


def test_readyz_names_what_is_missing_before_the_first_sync(fresh: Harness) -> None:
    r = fresh.client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["failing"] == ["trust_list", "restricted_list"]
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["root_keys"] == {"ok": True}
    fresh.verifier.syncer.run_once(extra_status=[fresh.world.status_uri])
    r = fresh.client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ready"
    assert set(r.json()["checks"]) == {
        "database",
        "root_keys",
        "trust_list",
        "status_lists",
        "restricted_list",
    }


def test_readyz_names_a_status_list_past_its_ttl_and_grace(api: Harness) -> None:
    assert api.client.get("/readyz").status_code == 200
    api.clock.advance(300 + api.settings.status_grace + 10)  # ttl 300 (the fake issuer's)
    r = api.client.get("/readyz")
    assert r.status_code == 503 and r.json()["failing"] == ["status_lists"]
    assert api.world.status_uri in r.json()["checks"]["status_lists"]["detail"]


def test_metrics_count_verdicts_and_requests_by_route(api: Harness) -> None:
    good = api.world.issue(idx=301)
    api.verify(qr=good.qr_token)  # answered by the JSON fast path, before routing
    api.client.post("/api/v1/verify", json={"qr": good.qr_token[:-4] + "AAAA"})
    assert _sample(api, "jiaozi_verdicts_total", verdict="valid", reason="none") == 1
    labels = {"route": "/api/v1/verify", "method": "POST", "status": "200"}
    assert _sample(api, "jiaozi_http_requests_total", **labels) == 2
    r = TestClient(api.app, client=LOCAL).get("/metrics")
    assert r.status_code == 200
    assert 'jiaozi_verdicts_total{reason="none",verdict="valid"} 1.0' in r.text
    assert 'verdict="not_valid"' in r.text
    assert (
        f'jiaozi_sync_age_seconds{{document="status_list",source="{api.world.status_uri}"}}'
        in r.text
    )
    assert 'jiaozi_sync_age_seconds{document="trust_list",source="trust_list"}' in r.text
    assert "jiaozi_ratelimit_degraded 0.0" in r.text


def test_metrics_are_not_found_from_another_address(api: Harness) -> None:
    assert api.client.get("/metrics").status_code == 404  # "testclient"
    r = TestClient(api.app, client=("192.0.2.1", 1)).get("/metrics")
    assert r.status_code == 404 and r.json()["status"] == 404


def test_rate_limit_refusals_are_counted(tmp_path: Path) -> None:
    gen = make_harness(f"sqlite:///{tmp_path / 'v.db'}", tmp_path, verify_rate_limit=2)
    h = next(gen)
    try:
        h.verifier.syncer.run_once(extra_status=[h.world.status_uri])
        token = h.world.issue(idx=302).qr_token
        codes = [h.client.post("/api/v1/verify", json={"qr": token}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert _sample(h, "jiaozi_ratelimit_refusals_total", limiter="verify") == 1
    finally:
        gen.close()


def test_a_limiter_that_falls_back_is_wired_to_the_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Falling:
        on_fallback: Any = None

        def hit(self, bucket: str, **_: Any) -> None:
            return None

    monkeypatch.setattr("verifier.app.service.make_limiter", lambda *a: Falling())
    gen = make_harness(f"sqlite:///{tmp_path / 'v.db'}", tmp_path)
    h = next(gen)
    try:
        h.verifier.limiter.on_fallback(True)  # what the limiter calls when Redis is down
        assert _sample(h, "jiaozi_ratelimit_fallback_total") == 1
        assert _sample(h, "jiaozi_ratelimit_degraded") == 1
        h.verifier.limiter.on_fallback(False)
        assert _sample(h, "jiaozi_ratelimit_degraded") == 0
    finally:
        gen.close()


def test_the_request_id_is_on_fast_path_and_refusal_answers(api: Harness) -> None:
    token = api.world.issue(idx=303).qr_token
    r = api.client.post("/api/v1/verify", json={"qr": token}, headers={"X-Request-ID": "scan-1"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "scan-1"
    r = api.client.get("/healthz", headers={"Host": "evil.example", "X-Request-ID": "scan-2"})
    assert r.status_code == 400 and r.headers["x-request-id"] == "scan-2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_writes_json_lines_with_the_request_id(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "JIAOZI_ENV": "development",
        "JIAOZI_DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}",
        "JIAOZI_ROOT_JWKS": str(tmp_path / "absent.jwks.json"),
        "JIAOZI_SYNC_INTERVAL": "0",
        "JIAOZI_EXTRACT_WORKERS": "0",
    }
    env.pop("JIAOZI_LOG_FORMAT", None)
    code = "from verifier.commands import verifier_group; verifier_group()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{port}/readyz",
                    headers={"X-Request-ID": "probe-42"},
                    timeout=1,
                )
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert r.status_code == 503 and r.headers["x-request-id"] == "probe-42"
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert metrics.status_code == 200 and "jiaozi_http_requests_total" in metrics.text
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    assert len(lines) == len(err.splitlines()), err  # every line one JSON object
    access = [x for x in lines if x["logger"] == "jiaozi.access" and x["route"] == "/readyz"]
    assert access and access[0]["request_id"] == "probe-42" and access[0]["status"] == 503
    assert {"ts", "level", "logger", "msg", "request_id", "service"} <= set(access[0])
    assert access[0]["service"] == "verifier"
    assert any(x["logger"].startswith("uvicorn") for x in lines)  # uvicorn's own lines too
    assert not any(x["logger"] == "uvicorn.access" for x in lines)  # raw paths: off


def test_metrics_judge_the_address_the_trusted_proxy_gives(tmp_path: Path) -> None:
    gen = make_harness(f"sqlite:///{tmp_path / 'v.db'}", tmp_path, trusted_proxies="10.0.0.1")
    h = next(gen)
    try:
        forwarded = {"X-Forwarded-For": "127.0.0.1"}
        via_proxy = TestClient(h.app, client=("10.0.0.1", 1)).get("/metrics", headers=forwarded)
        assert via_proxy.status_code == 200  # the proxy says loopback asked: believed
        spoofed = TestClient(h.app, client=("10.9.9.9", 1)).get("/metrics", headers=forwarded)
        assert spoofed.status_code == 404  # anyone else's header is not
        direct = TestClient(h.app, client=("10.0.0.1", 1)).get("/metrics")
        assert direct.status_code == 404  # the proxy itself is not in metrics_allow
    finally:
        gen.close()
