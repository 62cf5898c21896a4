"""``/docs`` and ``/redoc`` were Swagger UI and ReDoc from a CDN: a blank page without
the internet. They are served from the verifier itself (issue 13 point 8)."""

from __future__ import annotations

from tests.factory.apidocs import assert_docs_offline
from tests.factory.verifier import Harness


def test_docs_and_redoc_load_nothing_from_outside(api: Harness) -> None:
    urls = assert_docs_offline(api.client)
    assert "/docs/assets/swagger-ui-bundle.js" in urls


def test_docs_refused_under_a_foreign_host(api: Harness) -> None:
    for path in ("/docs", "/docs/assets/swagger-ui.css"):
        r = api.client.get(path, headers={"Host": "evil.example"})
        assert r.status_code == 400, (path, r.status_code)
