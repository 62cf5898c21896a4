"""The verify rate limit: per client address, on by default, counted on the JSON fast path
too, never unlimited when its store is down; X-Forwarded-For counts only behind a trusted
proxy."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.factory.verifier import Harness, make_harness
from verifier.ratelimit import LimiterUnavailable
from verifier.settings import VerifierSettings


def test_verify_rate_limit_per_client(tmp_path: Path) -> None:
    gen = make_harness(f"sqlite:///{tmp_path / 'v.db'}", tmp_path, verify_rate_limit=2)
    h = next(gen)
    try:
        h.verifier.syncer.run_once(extra_status=[h.world.status_uri])
        token = h.world.issue(idx=119).qr_token
        codes = [h.client.post("/api/v1/verify", json={"qr": token}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        h.clock.advance(60)
        assert h.client.post("/api/v1/verify", json={"qr": token}).status_code == 200
    finally:
        gen.close()


def test_verify_rate_limit_is_on_by_default_and_counted_on_the_json_fast_path(
    tmp_path: Path,
) -> None:
    assert VerifierSettings().verify_rate_limit == 120
    gen = make_harness(f"sqlite:///{tmp_path / 'v.db'}", tmp_path)
    h = next(gen)
    try:
        assert h.settings.verify_rate_limit == 120
        h.verifier.syncer.run_once(extra_status=[h.world.status_uri])
        token = h.world.issue(idx=124).qr_token
        codes = [
            h.client.post("/api/v1/verify", json={"qr": token}).status_code for _ in range(121)
        ]
        assert codes == [200] * 120 + [429]
        r = h.client.post("/api/v1/verify", data={"qr": token})  # the route counts the same
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert r.headers["content-type"] == "application/problem+json"
    finally:
        gen.close()


def test_rate_limit_store_down_is_503_on_the_fast_path_too(
    api: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_a: object, **_k: object) -> None:
        raise LimiterUnavailable("ConnectionError")

    monkeypatch.setattr(api.verifier.limiter, "hit", down)
    token = api.world.issue(idx=125).qr_token
    for r in (
        api.client.post("/api/v1/verify", json={"qr": token}),
        api.client.post("/api/v1/verify", data={"qr": token}),
    ):
        assert r.status_code == 503 and r.json()["type"].endswith("/rate_limiter_unavailable")


def _codes(h: Harness, peer: str, forwarded: list[str | None], token: str) -> list[int]:
    """POST a verify per ``forwarded`` value (None: no header) from ``peer``, alternating
    the JSON fast path and the form route; return the status codes."""
    client = TestClient(h.app, client=(peer, 40000))  # same app, another connection
    codes = []
    for i, value in enumerate(forwarded):
        headers = {} if value is None else {"X-Forwarded-For": value}
        body = {"json": {"qr": token}} if i % 2 == 0 else {"data": {"qr": token}}
        codes.append(client.post("/api/v1/verify", headers=headers, **body).status_code)
    return codes


def test_forwarded_for_counts_only_behind_a_trusted_proxy(tmp_path: Path) -> None:
    gen = make_harness(
        f"sqlite:///{tmp_path / 'v.db'}",
        tmp_path,
        trusted_proxies=("10.0.0.0/8", "::1"),
        verify_rate_limit=2,
    )
    h = next(gen)
    try:
        h.verifier.syncer.run_once(extra_status=[h.world.status_uri])
        token = h.world.issue(idx=126).qr_token
        # behind the proxy: each client counted by its own address, the nearest untrusted hop
        one = ["203.0.113.7", "198.51.100.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"]
        assert _codes(h, "10.1.2.3", one, token) == [200, 200, 429]
        assert _codes(h, "::1", ["203.0.113.8", "203.0.113.8"], token) == [200, 200]
        # a proxy's own requests (no header, or every hop a proxy) count as the proxy
        assert _codes(h, "10.1.2.3", [None, "10.0.0.1, 10.0.0.2"], token) == [200, 200]
        # a caller who is not a proxy cannot pick the address it is counted by
        rotating = ["203.0.113.9", "203.0.113.10", "203.0.113.11"]
        assert _codes(h, "192.0.2.5", rotating, token) == [200, 200, 429]
    finally:
        gen.close()


def test_forwarded_for_is_not_read_without_trusted_proxies(tmp_path: Path) -> None:
    gen = make_harness(f"sqlite:///{tmp_path / 'v.db'}", tmp_path, verify_rate_limit=2)
    h = next(gen)
    try:
        assert h.settings.trusted_proxies == ()
        h.verifier.syncer.run_once(extra_status=[h.world.status_uri])
        token = h.world.issue(idx=127).qr_token
        rotating = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"]
        assert _codes(h, "127.0.0.1", rotating, token) == [200, 200, 429, 429]
    finally:
        gen.close()
