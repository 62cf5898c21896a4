"""The verify rate limit: per client address, on by default, counted on the JSON fast path
too, never unlimited when its store is down; X-Forwarded-For counts only behind a trusted
proxy."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_forwarded_for_counts_only_behind_a_trusted_proxy(tmp_path: Path) -> None:
    gen = make_harness(
        f"sqlite:///{tmp_path / 'v.db'}", tmp_path, trusted_proxies=("10.0.0.0/8", "::1")
    )
    v = next(gen).verifier
    try:
        assert v.client_address("10.1.2.3", "203.0.113.7") == "203.0.113.7"
        assert v.client_address("::1", "198.51.100.1, 203.0.113.7, 10.0.0.9") == "203.0.113.7"
        assert v.client_address("192.0.2.5", "203.0.113.7") == "192.0.2.5"  # not a proxy
        assert v.client_address("10.1.2.3", None) == "10.1.2.3"
        assert v.client_address("10.1.2.3", "10.0.0.1, 10.0.0.2") == "10.1.2.3"
        assert v.client_address(None, "203.0.113.7") == "unknown"
    finally:
        gen.close()


def test_forwarded_for_from_an_untrusted_peer_is_ignored(api: Harness) -> None:
    assert api.verifier.client_address("192.0.2.5", "203.0.113.7") == "192.0.2.5"
