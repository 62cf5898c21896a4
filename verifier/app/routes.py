"""``create_app``: the verifier's FastAPI app, its routes and their OpenAPI description.

``POST /api/v1/verify`` judges a QR URL or token, a full credential, or an uploaded PDF /
PNG / JPEG; every judgement is HTTP 200 with the contract's JSON, and 4xx (problem JSON)
only when there is nothing to judge. ``POST /api/v1/admission-checks`` answers an employer
whether a person is on the restricted list, and nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from credential import Check, IdType

from .. import problems, web
from .._offline import OfflineDataError, load_root_keys
from ..accounts import authenticate
from ..extract import UnreadableFile
from ..problems import Problem
from ..sandbox import ExtractorBusy, Sandbox
from ..settings import VerifierSettings
from ..sync import BackgroundSync
from .fastpath import VERIFY_PATH, JsonVerifyFastPath, judge, verdict_response
from .hosts import HostCheck
from .reading import (
    inputs,
    is_json,
    json_object,
    media_type,
    nothing_to_judge,
    read_limited,
    too_large,
)
from .service import Clock, Verifier, rate_limited

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
_ADMISSION_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["name", "id_type", "id_number", "consent_reference"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "id_type": {
                        "type": "string",
                        "enum": [t.value for t in IdType],
                    },
                    "id_number": {"type": "string", "minLength": 1, "maxLength": 40},
                    "consent_reference": {"type": "string", "minLength": 1, "maxLength": 200},
                },
            }
        }
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
        description="Verify teacher-qualification e-licences; admission checks for employers.",
    )
    app.state.verifier = v
    app.state.settings = settings
    app.state.sandbox = sandbox
    problems.install(app)
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
        return verdict_response(await judge(v, qr, cred, lang, file), lang)

    @app.post(
        "/api/v1/admission-checks",
        summary="Employers: is this person on the restricted-qualification list?",
        openapi_extra={"requestBody": _ADMISSION_BODY},
        responses={
            200: {"description": "{query_id, restricted, checked_at, data_as_of}"},
            401: {"description": "Problem: no or wrong API key"},
            422: {"description": "Problem: invalid fields"},
            429: {"description": "Problem: rate limited (Retry-After)"},
        },
    )
    async def admission_check(request: Request) -> JSONResponse:
        employer = await run_in_threadpool(
            authenticate, v.engine, request.headers.get("authorization")
        )
        if employer is None:
            raise Problem(
                401,
                "unauthorized",
                ("Authentication required", "需要认证"),
                (
                    "Send an employer API key as a bearer token.",
                    "请以 Bearer 方式提供用人单位的 API 密钥。",
                ),
                headers={"WWW-Authenticate": 'Bearer realm="jiaozi-verifier"'},
            )
        if settings.admission_rate_limit > 0:
            retry = await run_in_threadpool(
                lambda: v.limiter.hit(
                    f"admission:{employer.id}",
                    limit=settings.admission_rate_limit,
                    window=settings.admission_rate_window,
                    now=v.clock(),
                )
            )
            if retry is not None:
                raise rate_limited(retry)
        if media_type(request) not in ("application/json", ""):
            raise Problem(
                415, "unsupported_media_type", ("Unsupported media type", "不支持的内容类型")
            )
        body = json_object(await read_limited(request, 16 * 1024))
        answer = await run_in_threadpool(v.admission_check, employer.id, body)
        return JSONResponse(answer)

    # Outside the fast path (the last added runs first): a foreign Host or Origin is
    # refused before anything is read or counted; outside everything, the one reader of
    # the forwarding headers, believed only from the configured proxies (the client
    # address the verify rate limit counts is then scope["client"]).
    app.add_middleware(HostCheck, settings=settings)
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    return app
