"""The one place errors become RFC 9457 problem JSON (contract section 10).

zh-CN by default, English when Accept-Language prefers it. Nothing a client sent is ever
echoed into a problem (an identity number must not come back, nor reach a log).
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from credential import preferred_language
from ops import route_template

from .ratelimit import LimiterUnavailable

__all__ = ["FieldProblem", "Problem", "install", "language"]

log = logging.getLogger("jiaozi.verifier")
PROBLEM_TYPE_BASE = "https://jiaozi.example.org/problems/"
MEDIA_TYPE = "application/problem+json"


def language(accept_language: str | None) -> str:
    """Return ``"en"`` or ``"zh"``: the supported language the client weights highest."""
    # A pure function of the header, which clients repeat: remembered (bounded).
    found = _LANGUAGES.get(accept_language)
    if found is None:
        found = _language(accept_language)
        if accept_language is None or len(accept_language) <= 256:
            if len(_LANGUAGES) >= 512:
                _LANGUAGES.clear()
            _LANGUAGES[accept_language] = found
    return found


_LANGUAGES: dict[str | None, str] = {}


_language = preferred_language


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    code: str
    message: str
    message_zh: str


@dataclass
class Problem(Exception):
    """An answer that is not a judgement: raised anywhere, rendered by the handler."""

    status: int
    code: str
    title: tuple[str, str]
    detail: tuple[str, str] | None = None
    errors: list[FieldProblem] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def render(request: Request, p: Problem) -> JSONResponse:
    en = language(request.headers.get("accept-language")) == "en"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + p.code,
        "title": p.title[0] if en else p.title[1],
        "status": p.status,
    }
    if p.detail is not None:
        body["detail"] = p.detail[0] if en else p.detail[1]
    if p.errors is not None:
        body["errors"] = [
            {"field": e.field, "code": e.code, "message": e.message if en else e.message_zh}
            for e in p.errors
        ]
    headers = {"Content-Language": "en" if en else "zh-CN", **p.headers}
    return JSONResponse(body, status_code=p.status, media_type=MEDIA_TYPE, headers=headers)


VALIDATION_TITLE = ("The request has invalid fields", "请求中有字段不符合要求")

_HTTP_TITLES = {
    400: ("Bad request", "请求无效"),
    401: ("Authentication required", "需要认证"),
    404: ("Not found", "未找到"),
    405: ("Method not allowed", "不支持该请求方法"),
    413: ("Request too large", "请求内容过大"),
    415: ("Unsupported media type", "不支持的内容类型"),
}


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return render(request, exc)

    @app.exception_handler(LimiterUnavailable)
    async def _limiter_down(request: Request, _exc: LimiterUnavailable) -> JSONResponse:
        log.error("rate-limit store unreachable")
        return render(
            request,
            Problem(
                503,
                "rate_limiter_unavailable",
                ("Service temporarily unavailable", "服务暂时不可用"),
                headers={"Retry-After": "30"},
            ),
        )

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path")]
            errors.append(
                FieldProblem(
                    ".".join(loc) or "body", str(err.get("type")), str(err.get("msg")), "格式不正确"
                )
            )
        return render(request, Problem(422, "validation", VALIDATION_TITLE, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = exc.status_code
        title = _HTTP_TITLES.get(code, ("Request error", "请求出错"))
        return render(
            request,
            Problem(
                code,
                {404: "not_found", 405: "method_not_allowed"}.get(code, "http"),
                title,
                headers=dict(exc.headers or {}),
            ),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The type and where it was raised, not the message: that may quote what the client
        # sent (an identity number must never reach a log).
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        log.error(
            "unexpected %s at %s on %s %s",
            type(exc).__name__,
            where,
            request.method,
            route_template(request.scope),  # not the path: whatever a client sent
        )
        return render(
            request,
            Problem(
                500,
                "internal",
                ("Internal error", "服务器内部错误"),
                ("The error was logged.", "错误已记录。"),
            ),
        )
