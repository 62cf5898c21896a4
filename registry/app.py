"""The registry's web app: ``create_app`` (FastAPI), its Host/Origin check, its routes.

- ``POST /api/v1/restrictions``: the body is an office-signed national entry or removal
  (``credential.load_national_entry``); the signature against the trust list is the
  office's authentication. 201 with the change recorded, 200 for a replay.
- ``GET /api/v1/restricted-list[?after=<cursor>]``: ``Authorization: Bearer <signed read
  request>`` (``credential.load_registry_auth``), offices only: the list holds person
  references, so it is never public. Without ``after``, a signed snapshot; with it, a
  signed page of the changes after it (``application/jwt``). A cursor beyond the head is
  a 409: the office's state is not this registry's.
- ``POST /api/v1/feed/events``: an office-signed batch of certificate events
  (``credential.load_feed_batch``); 201 when events were appended, 200 for a replay, 409
  for a gap (``registry.feed``).
- ``GET /api/v1/feed?after=<seq>&limit=<n>``: ``Authorization: Bearer <system client API
  key>``; the national feed, hash-chained; the identity number only for a client with
  the identity flag. docs/integration.md.
- ``POST /api/v1/admission-checks``: a school's or employer's API key as bearer token,
  ``{name, id_type, id_number, consent_reference}``; answers only ``{query_id,
  restricted, checked_at, data_as_of}`` (contract section 9; ``registry.admission``).
  401 without a valid key, 422 naming the fields at fault, 429 over the account's rate.
- ``GET /trust-list.jwt`` (``application/jiaozi-trustlist+jwt``) and ``GET
  /root.jwks.json``: the trust list the key ceremony signed and the root keys it was
  checked against, the exported bytes as they are (``registry.trust``; the registry holds
  no root key and signs neither). Public, conditional (``ETag``/``If-None-Match``): a
  verifier may take its trust list from here (``JIAOZI_TRUST_LIST_URL``).
- ``GET /healthz``, ``GET /readyz``, ``GET /metrics`` (``registry.observe``); ``/docs``
  and ``/redoc`` (the API documentation, from assets served here: ``_install_docs``).
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable
from importlib.resources import files
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from credential import (
    NATIONAL_LIST_TYP,
    HostRules,
    MalformedError,
    Signer,
    TrustList,
    load_feed_batch,
    load_national_entry,
    load_registry_auth,
    national_list_claims,
    sign_national,
    strict_json_loads,
)
from keys import DataCipher, parse_data_key

from . import admission, feed, problems, restore, store
from .observe import install_ops
from .problems import Problem
from .settings import RegistrySettings
from .trust import ROOT_JWKS_MEDIA_TYPE, TRUST_LIST_MEDIA_TYPE, TrustDocuments

__all__ = ["FEED_MAX_BODY", "MAX_BODY", "create_app"]

MAX_BODY = 16 * 1024
FEED_MAX_BODY = 256 * 1024
_NO_CLIENT = Problem(
    401,
    "unauthorised",
    ("A system client API key is needed", "需要系统客户端的API密钥"),
    "Authorization",
)
_NO_TRUST_LIST = Problem(
    404,
    "not_found",
    ("This registry serves no trust list", "本登记中心不提供信任列表"),
)
_UNAUTHORISED = Problem(
    401,
    "unauthorised",
    ("A read request signed by a listed office is needed", "需要由信任列表中的机构签名的读取请求"),
    "Authorization",
)


class _HostCheck:
    """Refuse a foreign Host (400) or a foreign Origin on an unsafe method (403)."""

    def __init__(self, app: ASGIApp, settings: RegistrySettings) -> None:
        self.app = app
        self.rules = HostRules(settings.public_url, settings.allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            why = self.rules.judge(scope["method"], scope.get("scheme", "http"), scope["headers"])
            if why is not None:
                status, title = (
                    (400, ("The host name is not this service's", "请求的主机名不属于本服务"))
                    if why == "bad_host"
                    else (403, ("The request comes from another site", "请求来自其他网站"))
                )
                answer = problems.render(Request(scope), Problem(status, why, title))
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _body(request: Request, cap: int) -> bytes:
    """Return the request body; raise a 413 Problem as soon as it passes ``cap`` bytes."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise Problem(413, "too_large", ("The body is too large", "请求体过大"), "body")
    return body


async def _jws_body(request: Request, cap: int) -> str:
    """Return the body as a compact JWS's text (ASCII); raise 413 or 400 Problems."""
    try:
        return (await _body(request, cap)).decode("ascii").strip()
    except UnicodeDecodeError:
        raise Problem(
            400, "not_a_jws", ("The body is not a JWS", "请求体不是JWS"), "body"
        ) from None


def _exported(request: Request, body: bytes, etag: str, media_type: str) -> Response:
    """Return ``body`` as exported, or a 304 when the request already holds ``etag``."""
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    held = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
    if etag in held or "*" in held:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


_DOCS_ASSETS = "/docs/assets"


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


def _install_docs(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets (the ``fastapi-offline`` package's
    Swagger UI and ReDoc) from this service, nothing from outside (issue 13 point 8).
    The same glue as ``issuer.web.apidocs`` and ``verifier.app.apidocs``: the registry may
    import neither."""
    spec = app.openapi_url
    assert spec is not None
    assets = str(files("fastapi_offline") / "static")
    app.mount(_DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _policy(
            get_swagger_ui_html(
                openapi_url=spec,
                title=f"{app.title} · API",
                swagger_js_url=f"{_DOCS_ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{_DOCS_ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{_DOCS_ASSETS}/favicon.png",
            ),
            _SWAGGER_POLICY,
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _policy(
            get_redoc_html(
                openapi_url=spec,
                title=f"{app.title} · API",
                redoc_js_url=f"{_DOCS_ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{_DOCS_ASSETS}/favicon.png",
                with_google_fonts=False,
            ),
            _REDOC_POLICY,
        )


def create_app(
    settings: RegistrySettings,
    *,
    engine: Engine,
    signer_provider: Callable[[], Signer],
    trust_provider: Callable[[], TrustList],
    trust_documents: Callable[[], TrustDocuments] | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """Return the registry app over ``engine``; ``signer_provider`` gives the registry's
    active key, ``trust_provider`` the current trust list (both called per use), and
    ``trust_documents`` what ``/trust-list.jwt`` and ``/root.jwks.json`` serve
    (``registry.trust.TrustSource.documents``; None: those answer 404)."""
    cipher = DataCipher(parse_data_key(settings.data_key.get_secret_value()))
    app = FastAPI(title="Jiaozi registry", docs_url=None, redoc_url=None)
    problems.install(app)
    _install_docs(app)
    app.add_middleware(_HostCheck, settings=settings)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/trust-list.jwt")
    def trust_list(request: Request) -> Response:
        if trust_documents is None:
            raise _NO_TRUST_LIST
        docs = trust_documents()
        return _exported(
            request, docs.trust_list.encode("ascii"), docs.trust_etag, TRUST_LIST_MEDIA_TYPE
        )

    @app.get("/root.jwks.json")
    def root_jwks(request: Request) -> Response:
        if trust_documents is None:
            raise _NO_TRUST_LIST
        docs = trust_documents()
        return _exported(request, docs.root_jwks, docs.root_etag, ROOT_JWKS_MEDIA_TYPE)

    @app.post("/api/v1/restrictions")
    async def submit(request: Request) -> JSONResponse:
        token = await _jws_body(request, MAX_BODY)
        sub = load_national_entry(token, trust_provider(), registry_id=settings.registry_id)
        now = dt.datetime.fromtimestamp(clock(), dt.UTC)
        # In a worker thread: the write waits for the head lock, never in the event loop.
        done = await run_in_threadpool(store.accept, engine, sub, token, now=now)
        return JSONResponse(
            {"ref": done.ref, "op": done.op, "recorded": done.changed, "seq": done.seq},
            status_code=201 if done.changed else 200,
        )

    @app.post("/api/v1/feed/events")
    async def feed_events(request: Request) -> JSONResponse:
        token = await _jws_body(request, FEED_MAX_BODY)
        batch = load_feed_batch(token, trust_provider(), registry_id=settings.registry_id)
        now = dt.datetime.fromtimestamp(clock(), dt.UTC)
        added, last = await run_in_threadpool(
            functools.partial(feed.accept_batch, cipher=cipher, now=now), engine, batch
        )
        return JSONResponse(
            {"office": batch.office, "appended": added, "last": last},
            status_code=201 if added else 200,
        )

    @app.get("/api/v1/feed")
    def national_feed(
        request: Request,
        after: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    ) -> JSONResponse:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        client = feed.authenticate(engine, key.strip()) if scheme.lower() == "bearer" else None
        if client is None:
            raise _NO_CLIENT
        page = feed.read_feed(
            engine, after=after, limit=limit, identity=client.identity, cipher=cipher
        )
        if page is None:
            raise Problem(
                409,
                "cursor_ahead",
                ("The cursor is beyond this registry's feed", "游标超出本登记中心的事件流"),
                "after",
            )
        top, events = page
        # every restore's jump (registry.restore): the follower crosses it knowingly
        jumps = restore.feed_restores(engine)
        return JSONResponse(
            {"after": after, "head": top, "events": events, "restores": jumps},
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/api/v1/restricted-list")
    def restricted_list(
        request: Request, after: Annotated[int | None, Query(ge=0, le=2**62)] = None
    ) -> Response:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _UNAUTHORISED
        now = int(clock())
        trust = trust_provider()
        try:
            load_registry_auth(
                token.strip(),
                trust,
                registry_id=settings.registry_id,
                now=now,
                leeway=settings.request_leeway,
            )
        except Exception as exc:  # any failure of the check is the same 401
            raise _UNAUTHORISED from exc
        if after is None:
            snapshot = store.published_snapshot(
                engine, signer=signer_provider(), iss=settings.registry_id, now=now
            )
            return Response(snapshot, media_type="application/jwt")
        page = store.read_changes(engine, after=after, limit=settings.page_limit)
        if page is None:
            raise Problem(
                409,
                "cursor_ahead",
                ("The cursor is beyond this registry's list", "游标超出本登记中心的列表"),
                "after",
            )
        changes = page[1]
        claims = national_list_claims(
            iss=settings.registry_id,
            iat=now,
            cursor=changes[-1][0] if changes else after,
            after=after,
            changes=changes,
        )
        token_out = sign_national(NATIONAL_LIST_TYP, claims, signer_provider())
        return Response(token_out, media_type="application/jwt")

    @app.post("/api/v1/admission-checks")
    async def admission_check(request: Request) -> JSONResponse:
        account = await run_in_threadpool(
            admission.authenticate, engine, request.headers.get("authorization")
        )
        if account is None:
            raise Problem(
                401,
                "unauthorized",
                ("A school or employer API key is needed", "需要学校或用人单位的 API 密钥"),
                "Authorization",
            )
        now = dt.datetime.fromtimestamp(clock(), dt.UTC)
        if settings.admission_rate_limit > 0:
            retry = await run_in_threadpool(
                lambda: admission.hit_rate_limit(
                    engine,
                    f"admission:{account.id}",
                    limit=settings.admission_rate_limit,
                    window=settings.admission_rate_window,
                    now=now,
                )
            )
            if retry is not None:
                raise Problem(
                    429,
                    "rate_limited",
                    ("Too many requests", "请求过于频繁"),
                    headers=(("Retry-After", str(retry)),),
                )
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in ("application/json", ""):
            raise Problem(
                415, "unsupported_media_type", ("Unsupported media type", "不支持的内容类型")
            )
        raw = await _body(request, MAX_BODY)
        try:
            body = strict_json_loads(raw, "body")
        except MalformedError:
            raise Problem(
                400, "invalid_json", ("The body is not valid JSON", "请求体不是有效的JSON"), "body"
            ) from None
        answer = await run_in_threadpool(
            lambda: admission.check(engine, settings, account, body, now=now)
        )
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    # /readyz, /metrics, and outside everything the request id, the access log and the
    # HTTP metrics (docs/operations.md, "Health, metrics and logs")
    install_ops(
        app,
        settings,
        engine=engine,
        signer_provider=signer_provider,
        trust_provider=trust_provider,
    )
    return app
