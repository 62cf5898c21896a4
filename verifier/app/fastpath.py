"""``POST /api/v1/verify`` with a JSON body, answered before the framework's routing.

The middleware gives the same bytes, headers and problems as the route (it uses the same
readers and the same judgement); a judgement runs in the event loop unless it needs the
database or the network, then in a worker thread.
"""

from __future__ import annotations

import functools

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from credential import Check

from .. import problems
from ..problems import Problem
from .reading import inputs, is_json, json_object, media_of, receive_limited
from .service import NeedsIO, Verifier

__all__ = ["VERIFY_PATH", "JsonVerifyFastPath", "judge", "verdict_response"]


def verdict_response(body: bytes, lang: str) -> Response:
    """Return the response of a judgement: the bytes and headers ``JSONResponse`` of the
    result would send."""
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Language": "en" if lang == "en" else "zh-CN"},
    )


async def judge(
    v: Verifier,
    qr: str | None,
    cred: str | None,
    lang: str,
    file: Check | None = None,
    photo: bytes | None = None,
    in_pdf: bool = False,
) -> bytes:
    """Return the judgement's JSON: in the event loop when it needs nothing to be waited
    for (a hop to a worker thread would cost as much as judging), in a worker thread when
    it needs the database or the network. ``file``, ``photo``, ``in_pdf``: an uploaded
    file's signature check, its photo, whether it is a PDF (``Verifier.judge``)."""
    try:
        return v.judge(qr, cred, lang, io=False, file=file, photo=photo, in_pdf=in_pdf)
    except NeedsIO:
        return await run_in_threadpool(
            functools.partial(v.judge, qr, cred, lang, file=file, photo=photo, in_pdf=in_pdf)
        )


VERIFY_PATH = "/api/v1/verify"


class JsonVerifyFastPath:
    """ASGI middleware answering ``POST /api/v1/verify`` with a JSON body itself.

    It reads, limits, judges and answers exactly as the FastAPI route does (same helpers,
    same problem JSON, same response bytes and headers); what it skips is only the
    framework's per-request work (routing over every route, dependency solving, the
    Request wrapper), which is of the order of the judgement itself.
    Per-client rate limits are counted here as the route counts them
    (``Verifier.limit_verify``). Every other request, any other form of this one and a
    mounted app (``root_path``) go on to the app, where the route stays the operation that
    OpenAPI declares. Unexpected errors propagate to the app's server-error handler, as
    they do from the route.
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
        if not is_json(media_of(content_type or "")):
            await self.app(scope, receive, send)
            return
        lang = problems.language(accept_language)
        try:
            if self.settings.verify_rate_limit > 0:  # as the route counts it
                client = self.verifier.client_address(scope)
                await run_in_threadpool(self.verifier.limit_verify, client)
            raw = await receive_limited(receive, declared, self.json_limit)
            qr, cred = inputs(json_object(raw), self.settings)
            body = await judge(self.verifier, qr, cred, lang)
        except Problem as p:
            await problems.render(Request(scope), p)(scope, receive, send)
            return
        # What verdict_response's Response would send, without building one.
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
