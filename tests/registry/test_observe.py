"""The registry's /healthz, /readyz, /metrics and request ids (registry.observe, ops)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from registry.admission import create_account
from registry.app import create_app
from registry.db import make_engine
from registry.settings import RegistrySettings
from tests.factory.registry import NationalWorld, RegistryHarness

LOCAL = ("127.0.0.1", 40000)


def _sample(app: object, name: str, **labels: str) -> float | None:
    return app.state.metrics.registry.get_sample_value(name, labels)  # type: ignore[attr-defined]


def test_healthz_keeps_its_answer_and_readyz_checks(registry_env: RegistryHarness) -> None:
    r = registry_env.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = registry_env.client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ready",
        "checks": {"database": {"ok": True}, "key_store": {"ok": True}, "trust_list": {"ok": True}},
    }


def test_readyz_names_a_trust_list_that_is_not_loaded_and_a_key_store(database_url: str) -> None:
    def no_trust() -> object:
        raise FileNotFoundError("trust-list.jwt")

    def no_key() -> object:
        raise PermissionError("keys")

    engine = make_engine(database_url)
    app = create_app(
        RegistrySettings(env="development", database_url=database_url),
        engine=engine,
        signer_provider=no_key,  # type: ignore[arg-type]
        trust_provider=no_trust,  # type: ignore[arg-type]
    )
    try:
        with TestClient(app) as client:
            r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["failing"] == ["key_store", "trust_list"]
        assert r.json()["checks"]["trust_list"] == {"ok": False, "detail": "FileNotFoundError"}
        assert r.json()["checks"]["database"] == {"ok": True}
    finally:
        engine.dispose()


def test_metrics_and_request_ids(database_url: str) -> None:
    world = NationalWorld()
    engine = make_engine(database_url)
    app = create_app(
        RegistrySettings(
            env="development",
            database_url=database_url,
            admission_rate_limit=1,
            admission_rate_window=3600,
        ),
        engine=engine,
        signer_provider=lambda: world.signers["R"],
        trust_provider=lambda: world.trust,
    )
    try:
        with TestClient(app) as client:
            key = create_account(engine, "school", "第一中学", dt.datetime.now(dt.UTC))[1]
            headers = {"Authorization": f"Bearer {key}", "X-Request-ID": "school-9"}
            body = {
                "name": "",
                "id_type": "resident_id",
                "id_number": "",
                "consent_reference": "C-1",
            }
            first = client.post("/api/v1/admission-checks", json=body, headers=headers)
            second = client.post("/api/v1/admission-checks", json=body, headers=headers)
            assert second.status_code == 429 and second.headers["x-request-id"] == "school-9"
            assert first.headers["x-request-id"] == "school-9"
            assert _sample(app, "jiaozi_ratelimit_refusals_total", limiter="admission") == 1
            labels = {"route": "/api/v1/admission-checks", "method": "POST", "status": "429"}
            assert _sample(app, "jiaozi_http_requests_total", **labels) == 1
            assert client.get("/metrics").status_code == 404  # "testclient": not allowed
            local = TestClient(app, client=LOCAL).get("/metrics")
            assert local.status_code == 200
            assert 'route="/api/v1/admission-checks"' in local.text
            made = client.get("/healthz")
            assert len(made.headers["x-request-id"]) == 32
    finally:
        engine.dispose()
