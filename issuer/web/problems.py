"""The one place errors become RFC 9457 problem JSON (contract section 10).

Language follows Accept-Language (zh-CN by default, English on request). Request
validation errors, the services' errors, HTTP errors (404/405) and anything unexpected
all leave as ``application/problem+json``; an unexpected error is logged server-side and
answered with a bare 500, never a traceback. Every refused field is one
``issuer.fields.FieldError`` in ``errors`` (field, code, message in the request's
language), whether a field rule or the request schema refused it, with the same code
for the same defect.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from credential import InvalidFieldError, preferred_language
from issuer.errors import IssuerError
from issuer.fields import FieldError, ValidationFailed
from issuer.pdf import PdfError
from ops import route_template

__all__ = ["PROBLEM_TYPE_BASE", "install", "language", "problem"]

log = logging.getLogger("jiaozi.issuer")
PROBLEM_TYPE_BASE = "https://jiaozi.example.org/problems/"
MEDIA_TYPE = "application/problem+json"


def language(accept_language: str | None) -> str:
    """Return ``"en"`` or ``"zh"``: the supported language the client weights highest."""
    return preferred_language(accept_language)


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    title: tuple[str, str],
    detail: tuple[str, str] | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Return a problem response; ``title``/``detail`` are (English, Chinese) pairs.

    For a person's browser on a console page (a path under ``/office`` whose request
    accepts HTML), the same problem as an HTML page instead, drawn by the renderer the
    console registered as ``app.state.problem_page`` (``issuer.web.office_pages``): a
    clerk who sends a field too long sees a page naming it, not JSON."""
    app = request.scope.get("app")  # (absent when a middleware is driven on its own)
    render = getattr(getattr(app, "state", None), "problem_page", None)
    if render is not None and _wants_page(request):
        return render(request, status, title, detail, errors or [], headers or {})  # type: ignore[no-any-return]
    en = language(request.headers.get("accept-language")) == "en"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title[0] if en else title[1],
        "status": status,
    }
    if detail is not None and (detail[0] or detail[1]):
        body["detail"] = detail[0] if en else detail[1]
    if errors is not None:
        body["errors"] = [
            {"field": e.field, "code": e.code, "message": e.message if en else e.message_zh}
            for e in errors
        ]
    hdrs = {"Content-Language": "en" if en else "zh-CN", **(headers or {})}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=hdrs)


def _wants_page(request: Request) -> bool:
    path = request.url.path
    if path != "/office" and not path.startswith("/office/"):
        return False
    return "text/html" in request.headers.get("accept", "")


_VALIDATION_TITLE = ("The request has invalid fields", "请求中有字段不符合要求")

# Chinese for the pydantic error types a client can provoke; others get a generic text.
_PYDANTIC_ZH = {
    "missing": "缺少必填字段",
    "string_type": "应为字符串",
    "string_too_long": "内容过长",
    "string_too_short": "不能为空",
    "int_parsing": "应为整数",
    "json_invalid": "请求体不是有效的JSON",
    "model_attributes_type": "请求体应为JSON对象",
    "dict_type": "请求体应为JSON对象",
    "extra_forbidden": "不允许的字段",
}


# Pydantic's error types for a field rule's defect take that rule's code (one code per
# defect, whichever layer finds it): an absent field is ``required`` as an empty one is.
_RULE_CODES = {"missing": "required", "string_type": "type", "string_too_long": "too_long"}


def _from_pydantic(exc: RequestValidationError) -> list[FieldError]:
    out: list[FieldError] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
            loc = loc[1:]
        kind = str(err.get("type", "invalid"))
        if kind == "json_invalid":  # its loc is a character position, not a field
            loc = []
        out.append(
            FieldError(
                ".".join(loc) or "body",
                _RULE_CODES.get(kind, kind),
                str(err.get("msg", "invalid value")),
                _PYDANTIC_ZH.get(kind, "格式不正确"),
            )
        )
    return out


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(ValidationFailed)
    async def _validation_failed(request: Request, exc: ValidationFailed) -> Response:
        return problem(
            request, status=422, code="validation", title=_VALIDATION_TITLE, errors=exc.errors
        )

    @app.exception_handler(InvalidFieldError)
    async def _invalid_field(request: Request, exc: InvalidFieldError) -> Response:
        return problem(
            request,
            status=422,
            code="validation",
            title=_VALIDATION_TITLE,
            errors=[FieldError.of(exc)],
        )

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> Response:
        return problem(
            request,
            status=422,
            code="validation",
            title=_VALIDATION_TITLE,
            errors=_from_pydantic(exc),
        )

    @app.exception_handler(IssuerError)
    async def _issuer_error(request: Request, exc: IssuerError) -> Response:
        return problem(
            request,
            status=exc.status,
            code=exc.code,
            title=(exc.title, exc.title_zh),
            detail=(exc.detail, exc.detail_zh),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(PdfError)
    async def _pdf_error(request: Request, exc: PdfError) -> Response:
        # A name no font can draw or a value too wide to print: the certificate's content,
        # not the server, so 422 naming the field; a missing font or key is the server's.
        field = getattr(exc, "field", None)
        if field is not None:
            text = str(exc)
            en, _, zh = text.partition(" / ")
            return problem(
                request,
                status=422,
                code="unprintable",
                title=("The certificate cannot be printed", "证书无法打印"),
                errors=[FieldError(field=field, code="unprintable", message=en, message_zh=zh)],
            )
        # the route, not the path: a path holds a certificate number
        log.error("cannot print on %s: %s", route_template(request.scope), exc)
        return problem(
            request,
            status=503,
            code="printing_unavailable",
            title=("Printing is unavailable", "暂时无法生成证书 PDF"),
            detail=("The error was logged.", "错误已记录。"),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {
            400: ("The body cannot be parsed", "请求体无法解析"),
            404: ("Not found", "未找到"),
            405: ("Method not allowed", "不支持该请求方法"),
        }
        return problem(
            request,
            status=exc.status_code,
            code={400: "invalid_body", 404: "not_found", 405: "method_not_allowed"}.get(
                exc.status_code, "http"
            ),
            title=titles.get(exc.status_code, (str(exc.detail), str(exc.detail))),
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error(
            "unexpected error on %s %s", request.method, route_template(request.scope), exc_info=exc
        )
        return problem(
            request,
            status=500,
            code="internal",
            title=("Internal error", "服务器内部错误"),
            detail=("The error was logged.", "错误已记录。"),
        )
