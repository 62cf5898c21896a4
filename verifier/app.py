"""The verifier's HTTP API (contract sections 8 and 9): ``create_app(settings)``.

``POST /api/v1/verify`` judges a QR URL or token, a full credential, or an uploaded PDF /
PNG / JPEG; every judgement is HTTP 200 with the contract's JSON, and 4xx (problem JSON)
only when there is nothing to judge. ``POST /api/v1/admission-checks`` answers an employer
whether a person is on the restricted list, and nothing more.

The network (``http``) and the clock are injected so tests run against fake issuers and
move time. Held data lives in the database and is shared by replicas; rate limits live in
Redis when ``JIAOZI_REDIS_URL`` is set.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from credential import (
    IdType,
    InvalidFieldError,
    MalformedError,
    PublicKey,
    StatusSnapshot,
    VerifyPolicy,
    mask_id,
    normalise_id,
    person_reference,
    strict_json_loads,
    verify,
)

from . import db, problems, web
from ._offline import OfflineDataError, load_root_keys
from .accounts import authenticate
from .extract import UnreadableFile, extract
from .problems import VALIDATION_TITLE, FieldProblem, Problem
from .ratelimit import make_limiter
from .settings import VerifierSettings
from .store import DatedRestrictions, Held, Store, china_date
from .sync import BackgroundSync, Syncer

__all__ = ["Verifier", "create_app"]


class NeedsIO(Exception):
    """Judging now would wait on the database or the network (see ``Verifier.judge``)."""


log = logging.getLogger("jiaozi.verifier")
Clock = Callable[[], dt.datetime]
_MULTIPART_OVERHEAD = 64 * 1024


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Verifier:
    """Everything a request needs, built once per app."""

    def __init__(
        self,
        settings: VerifierSettings,
        http: httpx.Client | None,
        clock: Clock | None,
        roots: list[PublicKey],
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or _utcnow
        self.own_http = http is None
        self.http = http or httpx.Client(timeout=settings.sync_timeout)
        self.engine = db.make_engine(settings.database_url)
        self.store = Store(self.engine, roots, settings.reload_interval)
        self.syncer = Syncer(settings, self.engine, self.http, self.store, roots, self.clock)
        self.limiter = make_limiter(self.engine, settings.redis_url, settings.redis_prefix)
        self.policy = VerifyPolicy(
            verifier_origin=settings.public_url,
            max_token_length=settings.token_limit,
            status_grace=settings.status_grace,
            person_ref_key=settings.person_ref_key_bytes,
        )
        self.restriction_sources = [s.base_url for s in settings.issuers if s.api_key]
        self._restrictions_known: tuple[Held | None, bool] = (None, False)

    def close(self) -> None:
        if self.own_http:
            self.http.close()
        close = getattr(self.limiter, "close", None)
        if callable(close):
            close()
        self.engine.dispose()

    # -- verification --

    def judge(self, qr: str | None, credential: str | None, lang: str, *, io: bool = True) -> bytes:
        """Return the contract's result JSON (UTF-8) for what was presented.

        With ``io=False`` it uses only what is held in memory and raises NeedsIO when the
        answer would need the database (a due reload) or the network (an on-demand status
        fetch): the server then judges again in a worker thread, where waiting is harmless.
        """
        if not io and self.store.refresh_due():
            raise NeedsIO
        held = self.store.current() if io else self.store.held
        if held.trust is None:
            raise Problem(
                503,
                "no_trust_list",
                ("No trust list yet", "尚未获取信任列表"),
                (
                    "This verifier has not synced the national trust list yet.",
                    "本验证服务尚未同步国家信任列表，暂时无法验证。",
                ),
                headers={"Retry-After": "60"},
            )
        now = self.clock()
        t = now.timestamp()

        def status(uri: str) -> StatusSnapshot | None:
            snap = held.status.get(uri)
            if snap is None or t > snap.stale_after(0):
                if not io:
                    # only when a fetch would really be tried: during an outage the
                    # retry window answers at once, and judging twice costs a signature
                    if self.syncer.would_fetch(uri):
                        raise NeedsIO
                    return snap
                fresh = self.syncer.on_demand_status(uri)
                if fresh is not None:
                    return fresh
            return snap

        restrictions = None
        if self._restrictions_held(held):
            restrictions = DatedRestrictions(held.restrictions, china_date(now))
        result = verify(
            qr,
            credential=credential,
            trust=held.trust,
            status=status,
            restrictions=restrictions,
            now=now,
            policy=self.policy,
        )
        return result.json_bytes(lang)

    def _restrictions_held(self, held: Held) -> bool:
        """Return True if ``held`` has restricted-list data from every source (computed
        once per ``Held``: it is immutable)."""
        known = self._restrictions_known
        if known[0] is not held:
            answer = bool(self.restriction_sources) and (
                held.restrictions_as_of(self.restriction_sources) is not None
            )
            known = self._restrictions_known = (held, answer)
        return known[1]

    # -- admission checks --

    def admission_check(self, employer_id: int, body: dict[str, Any]) -> dict[str, Any]:
        errors: list[FieldProblem] = []

        def text(name: str, lo: int, hi: int) -> str | None:
            value = body.get(name)
            if value is None:
                errors.append(FieldProblem(name, "missing", "required", "缺少必填字段"))
                return None
            if not isinstance(value, str):
                errors.append(FieldProblem(name, "type", "must be a string", "应为字符串"))
                return None
            value = value.strip()
            if not lo <= len(value) <= hi:
                errors.append(
                    FieldProblem(
                        name, "length", f"must be {lo}-{hi} characters", f"长度应为{lo}至{hi}个字符"
                    )
                )
                return None
            return value

        text("name", 1, 100)
        consent = text("consent_reference", 1, 200)
        raw_type = text("id_type", 1, 40)
        raw_number = text("id_number", 1, 40)
        id_type = number = None
        try:
            if raw_type is not None:
                id_type = IdType.parse(raw_type)
            if id_type is not None and raw_number is not None:
                number = normalise_id(id_type, raw_number)
        except InvalidFieldError as exc:
            errors.append(FieldProblem(exc.field, exc.code, exc.message, exc.message_zh))
        if errors or id_type is None or number is None or consent is None:
            raise Problem(422, "validation", VALIDATION_TITLE, errors=errors)

        held = self.store.current()
        as_of = held.restrictions_as_of(self.restriction_sources)
        if as_of is None:
            raise Problem(
                503,
                "no_restriction_data",
                ("Restricted list not available", "暂无教师资格限制库数据"),
                (
                    "This verifier holds no restricted-list data yet; try again later.",
                    "本验证服务尚未同步教师资格限制库，请稍后再试。",
                ),
                headers={"Retry-After": "60"},
            )
        now = self.clock()
        ref = person_reference(self.settings.person_ref_key_bytes, id_type, number)
        restricted = held.restrictions.person_restricted(ref, china_date(now))
        query_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                db.admission_audit.insert().values(
                    query_id=query_id,
                    employer_id=employer_id,
                    at=now,
                    id_type=id_type.value,
                    person_ref=ref,
                    id_masked=mask_id(number),
                    consent_reference=consent,
                    restricted=restricted,
                    data_as_of=as_of,
                )
            )
        log.info("admission check %s by employer %s", query_id, employer_id)
        return {
            "query_id": query_id,
            "restricted": restricted,
            "checked_at": _rfc3339(now),
            "data_as_of": _rfc3339(as_of),
        }

    def sync_status_view(self) -> dict[str, Any]:
        held = self.store.current()
        return {
            "trust_list": (
                {
                    "seq": held.trust.sequence,
                    "fetched_at": _rfc3339(held.trust_age.fetched_at),
                    "checked_at": _rfc3339(held.trust_age.checked_at),
                }
                if held.trust is not None and held.trust_age is not None
                else None
            ),
            "status_lists": [
                {
                    "uri": uri,
                    "as_of": _rfc3339(snap.as_of),
                    "stale_after": _rfc3339(
                        dt.datetime.fromtimestamp(
                            snap.stale_after(self.settings.status_grace), dt.UTC
                        )
                    ),
                    "checked_at": _rfc3339(held.status_age[uri].checked_at),
                }
                for uri, snap in sorted(held.status.items())
            ],
            "restrictions_as_of": (
                _rfc3339(a) if (a := held.restrictions_as_of(self.restriction_sources)) else None
            ),
        }


# --- request reading ------------------------------------------------------------------


async def _read_limited(request: Request, limit: int) -> bytes:
    return await _receive_limited(request.receive, request.headers.get("content-length"), limit)


async def _receive_limited(receive: Receive, declared: str | None, limit: int) -> bytes:
    """``_read_limited`` on the raw ASGI messages (the JSON fast path has no Request)."""
    # ASCII digits only: str.isdigit() accepts "²", which int() refuses
    if declared is not None and declared.isascii() and declared.isdigit():
        # (more digits than any limit has is too large, and int() of over 4,300 raises)
        if len(declared) > 18 or int(declared) > limit:
            raise _too_large()
    buf = b""
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            chunk: bytes = message.get("body", b"")
            buf += chunk
            if len(buf) > limit:
                raise _too_large()
            if not message.get("more_body", False):
                return buf
        elif kind == "http.disconnect":
            raise ClientDisconnect()


def _too_large(what: tuple[str, str] = ("The request body", "请求内容")) -> Problem:
    return Problem(
        413,
        "too_large",
        ("Too large", "内容过大"),
        (f"{what[0]} is larger than this verifier accepts.", f"{what[1]}超过本服务允许的大小。"),
    )


def _nothing_to_judge() -> Problem:
    return Problem(
        422,
        "validation",
        VALIDATION_TITLE,
        errors=[
            FieldProblem(
                "qr",
                "missing",
                'give "qr" (QR URL or token), "credential" (e-licence JWS) or a file',
                "请提供 qr（二维码链接或令牌）、credential（电子证照）或上传文件",
            )
        ],
    )


def _json_object(raw: bytes) -> dict[str, Any]:
    """Return the JSON object of a request body; raise a 400 Problem for anything that
    is not strict JSON in UTF-8 (``credential.strict_json_loads``: RFC 8259 section 8.1,
    no byte-order mark, no duplicate keys, no floats), a 422 for JSON that is not an
    object."""
    try:
        body = strict_json_loads(raw, "body")
    except MalformedError:
        raise Problem(
            400,
            "invalid_json",
            ("The body is not valid JSON", "请求体不是有效的JSON"),
        ) from None
    if not isinstance(body, dict):
        raise Problem(
            422,
            "validation",
            VALIDATION_TITLE,
            errors=[FieldProblem("body", "type", "must be a JSON object", "请求体应为JSON对象")],
        )
    return body


def _inputs(values: dict[str, Any], settings: VerifierSettings) -> tuple[str | None, str | None]:
    out: list[str | None] = []
    for name, limit in (("qr", 2 * settings.token_limit), ("credential", settings.token_limit)):
        value = values.get(name)
        if value is None or value == "":
            out.append(None)
            continue
        if not isinstance(value, str):
            raise Problem(
                422,
                "validation",
                VALIDATION_TITLE,
                errors=[FieldProblem(name, "type", "must be a string", "应为字符串")],
            )
        if len(value) > limit:
            raise _too_large(("The token", "令牌"))
        out.append(value)
    if out[0] is None and out[1] is None:
        raise _nothing_to_judge()
    return out[0], out[1]


def _media_type(request: Request) -> str:
    return _media_of(request.headers.get("content-type", ""))


def _media_of(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _verdict_response(body: bytes, lang: str) -> Response:
    # The headers and bytes JSONResponse(result.to_json(lang)) would send.
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Language": "en" if lang == "en" else "zh-CN"},
    )


async def _judge(v: Verifier, qr: str | None, cred: str | None, lang: str) -> bytes:
    # Judging is ~0.1 ms of CPU: in the event loop when nothing must be waited for (a
    # thread hop costs as much again); in a worker thread when it needs I/O.
    try:
        return v.judge(qr, cred, lang, io=False)
    except NeedsIO:
        return await run_in_threadpool(v.judge, qr, cred, lang)


VERIFY_PATH = "/api/v1/verify"


class JsonVerifyFastPath:
    """ASGI middleware answering ``POST /api/v1/verify`` with a JSON body itself.

    It reads, limits, judges and answers exactly as the FastAPI route does (same helpers,
    same problem JSON, same response bytes and headers); what it skips is only the
    framework's per-request work (routing over every route, dependency solving, the
    Request wrapper), which cost about as much CPU as judging minus the signature check.
    Every other request, any other form of this one, a mounted app (``root_path``) and a
    verifier with per-client rate limits go on to the app, where the route stays the
    operation that OpenAPI declares. Unexpected errors propagate to the app's server-error
    handler, as they do from the route.
    """

    def __init__(self, app: ASGIApp, *, verifier: Verifier) -> None:
        self.app = app
        self.verifier = verifier
        self.settings = verifier.settings
        self.json_limit = 4 * self.settings.token_limit + 4096

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != VERIFY_PATH
            or scope["method"] != "POST"
            or scope.get("root_path")
            or self.settings.verify_rate_limit > 0
        ):
            await self.app(scope, receive, send)
            return
        # First occurrence of each, as Starlette's Headers.get reads them.
        content_type = accept_language = declared = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                if content_type is None:
                    content_type = value.decode("latin-1")
            elif name == b"accept-language":
                if accept_language is None:
                    accept_language = value.decode("latin-1")
            elif name == b"content-length" and declared is None:
                declared = value.decode("latin-1")
        if not _is_json(_media_of(content_type or "")):
            await self.app(scope, receive, send)
            return
        lang = problems.language(accept_language)
        try:
            raw = await _receive_limited(receive, declared, self.json_limit)
            qr, cred = _inputs(_json_object(raw), self.settings)
            body = await _judge(self.verifier, qr, cred, lang)
        except Problem as p:
            await problems.render(Request(scope), p)(scope, receive, send)
            return
        # What _verdict_response's Response would send, without building one.
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-language", b"en" if lang == "en" else b"zh-CN"),
                    (b"content-length", str(len(body)).encode("latin-1")),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# --- the app --------------------------------------------------------------------------

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
            v.close()

    app = FastAPI(
        title="Jiaozi verifier",
        version="0.1.0",
        lifespan=lifespan,
        description="Verify teacher-qualification e-licences; admission checks for employers.",
    )
    app.state.verifier = v
    app.state.settings = settings
    problems.install(app)
    web.install(app)  # GET / and /v: the page for people (verifier/web.py)

    def limit_verify(request: Request) -> None:
        if settings.verify_rate_limit <= 0:
            return
        client = request.client.host if request.client else "unknown"
        retry = v.limiter.hit(
            "verify:" + client,
            limit=settings.verify_rate_limit,
            window=settings.verify_rate_window,
            now=v.clock(),
        )
        if retry is not None:
            raise _rate_limited(retry)

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
        },
    )
    async def verify_endpoint(request: Request) -> Response:
        lang = problems.language(request.headers.get("accept-language"))
        if settings.verify_rate_limit > 0:
            await run_in_threadpool(limit_verify, request)
        media = _media_type(request)
        if _is_json(media):  # without rate limits, JsonVerifyFastPath answers these
            raw = await _read_limited(request, 4 * settings.token_limit + 4096)
            qr, cred = _inputs(_json_object(raw), settings)
        elif media in ("multipart/form-data", "application/x-www-form-urlencoded"):
            raw = await _read_limited(request, settings.upload_limit + _MULTIPART_OVERHEAD)
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
                    raise _too_large(("The file", "文件"))
                if not data:
                    raise _nothing_to_judge()
                try:
                    found = await run_in_threadpool(extract, data)
                except UnreadableFile as exc:
                    raise Problem(
                        422,
                        exc.code,
                        ("The file cannot be used", "无法使用该文件"),
                        (str(exc.en), exc.zh),
                    ) from None
                qr, cred = found.qr, found.credential
            else:
                fields = {k: form.get(k) for k in ("qr", "credential")}
                qr, cred = _inputs(fields, settings)
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
        return _verdict_response(await _judge(v, qr, cred, lang), lang)

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
                raise _rate_limited(retry)
        if _media_type(request) not in ("application/json", ""):
            raise Problem(
                415, "unsupported_media_type", ("Unsupported media type", "不支持的内容类型")
            )
        body = _json_object(await _read_limited(request, 16 * 1024))
        answer = await run_in_threadpool(v.admission_check, employer.id, body)
        return JSONResponse(answer)

    return app


def _rate_limited(retry: int) -> Problem:
    return Problem(
        429,
        "rate_limited",
        ("Too many requests", "请求过于频繁"),
        (f"Try again in {retry} seconds.", f"请在{retry}秒后重试。"),
        headers={"Retry-After": str(retry)},
    )
