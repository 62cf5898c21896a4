"""Reading a request to the API: bodies under a size limit, strict JSON, the ``qr`` and
``credential`` inputs, the media type, and the problems each refusal answers with.

Shared by the routes and the JSON fast path, so both read, limit and refuse alike.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.requests import ClientDisconnect
from starlette.types import Receive

from credential import MalformedError, strict_json_loads

from ..problems import VALIDATION_TITLE, FieldProblem, Problem
from ..settings import VerifierSettings

__all__ = [
    "inputs",
    "is_json",
    "json_object",
    "media_of",
    "media_type",
    "nothing_to_judge",
    "read_limited",
    "receive_limited",
    "too_large",
]


async def read_limited(request: Request, limit: int) -> bytes:
    return await receive_limited(request.receive, request.headers.get("content-length"), limit)


async def receive_limited(receive: Receive, declared: str | None, limit: int) -> bytes:
    """``read_limited`` on the raw ASGI messages (the JSON fast path has no Request)."""
    # ASCII digits only: str.isdigit() accepts "²", which int() refuses
    if declared is not None and declared.isascii() and declared.isdigit():
        # (more digits than any limit has is too large, and int() of over 4,300 raises)
        if len(declared) > 18 or int(declared) > limit:
            raise too_large()
    buf = b""
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            chunk: bytes = message.get("body", b"")
            buf += chunk
            if len(buf) > limit:
                raise too_large()
            if not message.get("more_body", False):
                return buf
        elif kind == "http.disconnect":
            raise ClientDisconnect()


def too_large(what: tuple[str, str] = ("The request body", "请求内容")) -> Problem:
    return Problem(
        413,
        "too_large",
        ("Too large", "内容过大"),
        (f"{what[0]} is larger than this verifier accepts.", f"{what[1]}超过本服务允许的大小。"),
    )


def nothing_to_judge() -> Problem:
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


def json_object(raw: bytes) -> dict[str, Any]:
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


def inputs(values: dict[str, Any], settings: VerifierSettings) -> tuple[str | None, str | None]:
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
            raise too_large(("The token", "令牌"))
        out.append(value)
    if out[0] is None and out[1] is None:
        raise nothing_to_judge()
    return out[0], out[1]


def media_type(request: Request) -> str:
    return media_of(request.headers.get("content-type", ""))


def media_of(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")
