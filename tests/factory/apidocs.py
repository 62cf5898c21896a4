"""The check the three services' offline API documentation is held to (issue 13 point 8)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from fastapi.testclient import TestClient


class _Urls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value is not None:
                self.urls.append(value)


def assert_docs_offline(client: TestClient, *, spec: str = "/openapi.json") -> list[str]:
    """GET /docs and /redoc on ``client``; assert each is HTML that names no other site
    and that every URL it loads (and the OpenAPI document) answers 200 here. Returns
    the URLs checked."""
    checked: list[str] = []
    for page in ("/docs", "/redoc"):
        r = client.get(page)
        assert r.status_code == 200, (page, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")
        # The page's policy lets the browser fetch from this service alone (ReDoc's bundle
        # asks cdn.redoc.ly for a logo: blocked), and lets Swagger UI's inline start run.
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "http" not in csp and "*" not in csp, csp
        assert page == "/redoc" or "script-src 'self' 'unsafe-inline'" in csp, csp
        assert "http://" not in r.text and "https://" not in r.text and "//cdn" not in r.text
        parser = _Urls()
        parser.feed(r.text)
        scripts = [u for u in parser.urls if u.endswith(".js")]
        assert scripts, f"{page} loads no script of its own"
        for url in parser.urls:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc, f"{page} loads {url} from elsewhere"
            assert url.startswith("/"), url
            asset = client.get(url)
            assert asset.status_code == 200, (url, asset.status_code)
            assert asset.content, url
            checked.append(url)
        assert spec in r.text
    assert client.get(spec).status_code == 200
    return checked
