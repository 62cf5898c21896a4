"""The registry had no API documentation at all; ``/docs`` and ``/redoc`` now come from
assets it serves itself, nothing from outside (issue 13 point 8)."""

from __future__ import annotations

from tests.factory.apidocs import assert_docs_offline
from tests.factory.registry import RegistryHarness


def test_docs_and_redoc_load_nothing_from_outside(registry_env: RegistryHarness) -> None:
    urls = assert_docs_offline(registry_env.client)
    assert "/docs/assets/redoc.standalone.js" in urls
    spec = registry_env.client.get("/openapi.json").json()
    assert "/api/v1/restrictions" in spec["paths"]


def test_docs_refused_under_a_foreign_host(registry_env: RegistryHarness) -> None:
    for path in ("/docs", "/docs/assets/swagger-ui.css"):
        r = registry_env.client.get(path, headers={"Host": "evil.example"})
        assert r.status_code == 400, (path, r.status_code)
