"""``/docs`` (Swagger UI) and ``/redoc`` from assets this service serves itself, so the
API documentation works on an intranet with no way out (issue 13 point 8).

The assets come from the ``fastapi-offline`` package (Swagger UI and ReDoc, MIT), served
under ``/docs/assets/``; the pages are FastAPI's own with every URL relative to this
service (no Google fonts, no CDN). The same glue is in ``issuer.web.apidocs``,
``verifier.app.apidocs`` and ``registry.app``: those packages may not import each other.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_URL", "install_docs"]

ASSETS_URL = "/docs/assets"


# The pages' own policy keeps the browser from fetching anything elsewhere (ReDoc's
# sidebar asks cdn.redoc.ly for a logo): Swagger UI starts from an inline script, ReDoc
# injects its styles and runs its search in a blob worker.
_SWAGGER_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_REDOC_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; base-uri 'none'; frame-ancestors 'none'"
)


def _policy(page: HTMLResponse, policy: str) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = policy
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets on ``app`` (made with ``docs_url=None``
    and ``redoc_url=None``). Returns nothing; raises RuntimeError if the app has no
    OpenAPI document to show."""
    spec = app.openapi_url
    if spec is None:
        raise RuntimeError("the API documentation needs the app's openapi_url")
    assets = str(files("fastapi_offline") / "static")
    app.mount(ASSETS_URL, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _policy(
            get_swagger_ui_html(
                openapi_url=spec,
                title=f"{app.title} · API",
                swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            ),
            _SWAGGER_POLICY,
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _policy(
            get_redoc_html(
                openapi_url=spec,
                title=f"{app.title} · API",
                redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            ),
            _REDOC_POLICY,
        )
