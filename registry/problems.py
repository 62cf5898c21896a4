"""The one place the registry's errors become RFC 9457 problem JSON (contract section 10):
zh-CN by default, English when Accept-Language prefers it. Nothing a client sent is echoed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from credential import FeedError, RestrictionListError, preferred_language

from .feed import FeedGap
from .store import CursorBeforeRestore, RegistryError, UnknownEntry

__all__ = ["MEDIA_TYPE", "Problem", "install", "render"]

log = logging.getLogger("jiaozi.registry")
PROBLEM_TYPE_BASE = "https://jiaozi.example.org/problems/"
MEDIA_TYPE = "application/problem+json"


@dataclass
class Problem(Exception):
    """An error answer: raised anywhere, rendered by the handler. ``field`` names the
    input at fault, if one is."""

    status: int
    code: str
    title: tuple[str, str]
    field: str | None = None
    # Several inputs at fault (an admission check's 422): (field, code, en, zh) each.
    errors: tuple[tuple[str, str, str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    # RFC 9457 extension members, e.g. a feed gap's ``last`` (what the client resumes from)
    extra: tuple[tuple[str, Any], ...] = ()


def render(request: Request, p: Problem) -> JSONResponse:
    """Return ``p`` as problem JSON in the client's language."""
    en = preferred_language(request.headers.get("accept-language")) == "en"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + p.code,
        "title": p.title[0] if en else p.title[1],
        "status": p.status,
    }
    if p.errors:
        body["errors"] = [
            {"field": f, "code": c, "message": m_en if en else m_zh}
            for f, c, m_en, m_zh in p.errors
        ]
    elif p.field is not None:
        body["errors"] = [{"field": p.field, "code": p.code, "message": body["title"]}]
    body.update(dict(p.extra))
    headers = {"WWW-Authenticate": "Bearer"} if p.status == 401 else {}
    headers.update(dict(p.headers))
    return JSONResponse(body, status_code=p.status, media_type=MEDIA_TYPE, headers=headers)


_HTTP_TITLES = {
    400: ("Bad request", "请求无效"),
    401: ("Authentication required", "需要认证"),
    403: ("Forbidden", "无权访问"),
    404: ("Not found", "未找到"),
    405: ("Method not allowed", "不支持该请求方法"),
    413: ("Request too large", "请求内容过大"),
    415: ("Unsupported media type", "不支持的内容类型"),
}


def _map(exc: Exception) -> Problem:
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, UnknownEntry):
        return Problem(
            409,
            "unknown_entry",
            ("The registry holds no such entry to remove", "登记中心没有该条目，无法撤除"),
            "body",
        )
    if isinstance(exc, CursorBeforeRestore):
        return Problem(
            409,
            "cursor_before_restore",
            (
                "The cursor is from before this registry was restored: read a snapshot",
                "游标早于本登记中心的恢复：请重新读取快照",
            ),
            "after",
            extra=(("floor", exc.floor),),
        )
    if isinstance(exc, FeedGap):
        # ``last``: the office's event the registry holds last (after a restore of the
        # registry, older than the office's cursor): the office sends again after it.
        # Only the office learns it: the batch's signature was checked before.
        return Problem(
            409,
            "feed_gap",
            ("The batch does not start at the office's next event", "批次未从本机构的下一事件开始"),
            "body",
            extra=(("last", exc.last),),
        )
    if isinstance(exc, FeedError):
        return Problem(
            422,
            "bad_feed_batch",
            (
                "The batch is not one signed by a listed office key for this registry",
                "该批次不是由信任列表中机构密钥为本登记中心签名的",
            ),
            "body",
        )
    if isinstance(exc, RestrictionListError):
        return Problem(
            422,
            "bad_signed_entry",
            (
                "The entry is not one signed by a listed office key for this registry",
                "该条目不是由信任列表中机构密钥为本登记中心签名的",
            ),
            "body",
        )
    if isinstance(exc, RequestValidationError):
        loc = [str(x) for x in (exc.errors()[0].get("loc", ()) if exc.errors() else ())]
        name = loc[-1] if loc else "request"
        return Problem(400, "invalid_field", ("A field is not valid", "字段不合法"), name)
    if isinstance(exc, StarletteHTTPException):
        # the framework's own detail ("Not Found") is English whatever was asked: a title
        # of ours in both languages instead
        title = _HTTP_TITLES.get(exc.status_code, ("Request error", "请求出错"))
        return Problem(exc.status_code, "http_error", title)
    log.exception("registry error", exc_info=exc)
    return Problem(500, "internal", ("Internal error", "内部错误"))


def install(app: FastAPI) -> None:
    """Map every error the registry raises (and the framework's) to problem JSON."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return render(request, _map(exc))

    for kind in (
        Problem,
        RegistryError,
        RestrictionListError,
        FeedError,
        RequestValidationError,
        StarletteHTTPException,
        Exception,
    ):
        app.add_exception_handler(kind, handle)
