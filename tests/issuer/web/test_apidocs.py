"""``/docs`` and ``/redoc`` were Swagger UI and ReDoc from a CDN: a blank page on an
office intranet. They are served from the issuer itself (issue 13 point 8)."""

from __future__ import annotations

from tests.factory.apidocs import assert_docs_offline
from tests.factory.issuer import IssuerHarness


def test_docs_and_redoc_load_nothing_from_outside(issuer_env: IssuerHarness) -> None:
    urls = assert_docs_offline(issuer_env.client)
    assert "/docs/assets/swagger-ui-bundle.js" in urls
    assert "/docs/assets/redoc.standalone.js" in urls


def test_docs_refused_under_a_foreign_host(issuer_env: IssuerHarness) -> None:
    # the Host check covers the documentation and its assets like every route
    for path in ("/docs", "/docs/assets/swagger-ui.css"):
        r = issuer_env.client.get(path, headers={"Host": "evil.example"})
        assert r.status_code == 400, (path, r.status_code)
