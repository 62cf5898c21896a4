"""``create_app``: the verifier's FastAPI app, its routes and their OpenAPI description.

``POST /api/v1/verify`` judges a QR URL or token, a full credential, or an uploaded PDF /
PNG / JPEG; every judgement is HTTP 200 with the contract's JSON, and 4xx (problem JSON)
only when there is nothing to judge. ``POST /api/v1/admission-checks`` is a 410 problem:
admission checks are the national registry's (``JIAOZI_REGISTRY_URL``; docs/registry.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from credential import Check

from .. import problems, web
from .._offline import OfflineDataError, load_root_keys
from ..extract import UnreadableFile
from ..problems import Problem
from ..sandbox import ExtractorBusy, Sandbox
from ..settings import PERSON_KEY_VARIABLES, VerifierSettings
from ..sync import BackgroundSync
from .apidocs import install_docs
from .fastpath import VERIFY_PATH, JsonVerifyFastPath, judge, verdict_response
from .hosts import HostCheck
from .observe import install_ops
from .reading import (
    inputs,
    is_json,
    json_object,
    media_type,
    nothing_to_judge,
    read_limited,
    too_large,
)
from .service import Clock, Verifier

__all__ = ["create_app"]

log = logging.getLogger("jiaozi.verifier")
_MULTIPART_OVERHEAD = 64 * 1024

_TEXT_FIELDS = {
    "qr": {"type": "string", "description": "QR URL, QR token or transport digits"},
    "credential": {"type": "string", "description": "The full e-licence (compact JWS)"},
}
_VERIFY_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": {"type": "object", "properties": _TEXT_FIELDS}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "PDF/PNG/JPEG"},
                    **_TEXT_FIELDS,
                },
            }
        },
    },
}


def create_app(
    settings: VerifierSettings | None = None,
    *,
    http: httpx.Client | None = None,
    clock: Clock | None = None,
    background_sync: bool | None = None,
) -> FastAPI:
    """Return the verifier app. Raises ValueError on settings refused in production, and
    OfflineDataError when the pinned root keys cannot be read in production."""
    settings = settings or VerifierSettings()
    for name in PERSON_KEY_VARIABLES:
        if os.environ.get(name):
            # Ignored, not refused: one environment file often serves an office and a
            # verifier on a laptop; in production the secret should leave this host.
            log.warning(
                "%s is set but a public verifier holds no person key: ignored (remove it "
                "from this host; admission checks are the registry's)",
                name,
            )
    try:
        roots = load_root_keys(settings.root_jwks)
    except OfflineDataError:
        if settings.env == "production":
            raise
        log.warning("no pinned root keys at %s: nothing will verify", settings.root_jwks)
        roots = []
    v = Verifier(settings, http, clock, roots)
    sandbox = Sandbox(
        settings.extract_workers,
        timeout=settings.extract_timeout,
        memory=settings.extract_memory_mib * 1024 * 1024,
        max_tasks=settings.extract_max_tasks,
    )
    run_sync = settings.sync_interval > 0 if background_sync is None else background_sync

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        bg = BackgroundSync(v.syncer, settings.sync_interval or 60) if run_sync else None
        if bg is not None:
            bg.start()
        try:
            yield
        finally:
            if bg is not None:
                bg.stop()
            sandbox.close()
            v.close()

    app = FastAPI(
        title="Jiaozi verifier",
        version="0.1.0",
        lifespan=lifespan,
        description="Verify teacher-qualification e-licences.",
        docs_url=None,  # served from local assets below (install_docs)
        redoc_url=None,
    )
    app.state.verifier = v
    app.state.settings = settings
    app.state.sandbox = sandbox
    problems.install(app)
    install_docs(app)
    web.install(app)  # GET / and /v: the page for people (verifier/web.py)

    @app.get("/healthz", summary="Liveness (no database access)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/sync-status", summary="How old the held trust, status and restricted data is")
    def sync_status() -> dict[str, Any]:
        return v.sync_status_view()

    app.add_middleware(JsonVerifyFastPath, verifier=v)

    @app.post(
        VERIFY_PATH,
        summary="Verify a QR URL or token, a full credential, or a PDF / PNG / JPEG",
        openapi_extra={"requestBody": _VERIFY_BODY},
        responses={
            200: {"description": "A judgement (valid, not_valid or cannot_determine)"},
            400: {"description": "Problem: body is not JSON"},
            413: {"description": "Problem: too large"},
            415: {"description": "Problem: unsupported content type"},
            422: {"description": "Problem: nothing to judge, or an unreadable file"},
            503: {"description": "Problem: every file reader is busy (Retry-After)"},
        },
    )
    async def verify_endpoint(request: Request) -> Response:
        lang = problems.language(request.headers.get("accept-language"))
        if settings.verify_rate_limit > 0:
            await run_in_threadpool(v.limit_verify, v.client_address(request.scope))
        media = media_type(request)
        file: Check | None = None  # the check of an uploaded file's own signature
        photo, in_pdf = None, False  # an uploaded PDF's photo.jpg
        if is_json(media):  # JsonVerifyFastPath answers these, unless mounted
            raw = await read_limited(request, 4 * settings.token_limit + 4096)
            qr, cred = inputs(json_object(raw), settings)
        elif media in ("multipart/form-data", "application/x-www-form-urlencoded"):
            raw = await read_limited(request, settings.upload_limit + _MULTIPART_OVERHEAD)
            request._body = raw  # let Starlette parse what was read under the limit
            try:
                form = await request.form(max_files=1, max_fields=10)
            except Exception:
                raise Problem(
                    400, "invalid_form", ("The form cannot be read", "无法读取表单")
                ) from None
            upload = form.get("file")
            if isinstance(upload, UploadFile):
                data = await upload.read(settings.upload_limit + 1)
                if len(data) > settings.upload_limit:
                    raise too_large(("The file", "文件"))
                if not data:
                    raise nothing_to_judge()
                try:
                    found = await run_in_threadpool(sandbox.run, data)
                except ExtractorBusy:
                    raise Problem(
                        503,
                        "extractor_busy",
                        ("Service temporarily unavailable", "服务暂时不可用"),
                        (
                            "Too many files are being read: try again.",
                            "正在读取的文件过多，请稍后重试。",
                        ),
                        headers={"Retry-After": "5"},
                    ) from None
                except UnreadableFile as exc:
                    raise Problem(
                        422,
                        exc.code,
                        ("The file cannot be used", "无法使用该文件"),
                        (str(exc.en), exc.zh),
                    ) from None
                qr, cred = found.qr, found.credential
                photo, in_pdf = found.photo, found.kind == "pdf"
                file = await run_in_threadpool(v.file_signature, found.kind, data)
            else:
                fields = {k: form.get(k) for k in ("qr", "credential")}
                qr, cred = inputs(fields, settings)
        else:
            raise Problem(
                415,
                "unsupported_media_type",
                ("Unsupported media type", "不支持的内容类型"),
                (
                    "Send application/json, multipart/form-data or a urlencoded form.",
                    "请使用 application/json、multipart/form-data 或表单编码。",
                ),
            )
        response = verdict_response(await judge(v, qr, cred, lang, file, photo, in_pdf), lang)
        if photo is not None:  # the holder's photo, inline: kept by no cache
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.post(
        "/api/v1/admission-checks",
        summary="Moved: admission checks are made at the national registry",
        responses={410: {"description": "Problem: ask the registry (its URL when configured)"}},
    )
    async def admission_check() -> JSONResponse:
        # A public verifier holds no person-level data (issue 12 point 4): nothing to
        # check a person against here. Same request, same answer, at the registry.
        where = settings.registry_url
        raise Problem(
            410,
            "admission_checks_moved",
            ("Admission checks moved to the national registry", "准入查询已迁至全国登记中心"),
            (
                f"Send the same request to {where}/api/v1/admission-checks"
                if where
                else "Send the same request to the national registry's /api/v1/admission-checks",
                f"请将同样的请求发送至 {where}/api/v1/admission-checks"
                if where
                else "请将同样的请求发送至全国登记中心的 /api/v1/admission-checks",
            ),
            headers={"Link": f'<{where}/api/v1/admission-checks>; rel="alternate"'}
            if where
            else {},
        )

    # Outside the fast path (the last added runs first): a foreign Host or Origin is
    # refused before anything is read or counted; outside everything, the one reader of
    # the forwarding headers, believed only from the configured proxies (the client
    # address the verify rate limit counts is then scope["client"]).
    app.add_middleware(HostCheck, settings=settings)
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    # /readyz, /metrics, and outside everything the request id, the access log and the
    # HTTP metrics (docs/operations.md, "Health, metrics and logs")
    install_ops(app, v)
    return app
