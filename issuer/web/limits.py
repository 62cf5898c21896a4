"""Request bodies are capped before anything reads them, authentication included.

A pure ASGI middleware, outside every route and dependency: a declared ``Content-Length``
over the route's cap is answered 413 at once, without reading a byte of the body; a body
without one (chunked) is read only until it passes the cap, then answered 413. Otherwise
the body, read whole (it is under the cap), is handed on to the app as it came. The batch
upload (the API's, and the console's form) has its own cap (``JIAOZI_BATCH_MAX_BYTES``
and room for the multipart framing);
every other route takes a small one (``JIAOZI_BODY_LIMIT``), since an unauthenticated
caller could otherwise make the service read 100 MB before its 401.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from issuer.settings import IssuerSettings
from issuer.web.problems import problem

__all__ = [
    "BATCH_UPLOAD_PATH",
    "BATCH_UPLOAD_PATHS",
    "MULTIPART_SLACK",
    "PHOTO_PATHS",
    "PHOTO_ROOM",
    "BodyLimit",
]

BATCH_UPLOAD_PATH = "/api/v1/batches"
# the console's upload form posts the same file (issuer.web.routes.office_batches)
BATCH_UPLOAD_PATHS = frozenset({BATCH_UPLOAD_PATH, "/office/batches"})
MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the batch file itself
# one certificate with the holder's photo (2 MiB, base64 in JSON or a form's file part)
PHOTO_PATHS = frozenset({"/api/v1/certificates", "/office/certificates/new"})
PHOTO_ROOM = 3 * 1024 * 1024


class BodyLimit:
    """Refuse (413 problem JSON) a request body over its route's cap, before the app."""

    def __init__(self, app: ASGIApp, settings: IssuerSettings) -> None:
        self.app = app
        self.settings = settings

    def cap(self, scope: Scope) -> int:
        """Return the most bytes the body of the request ``scope`` may hold."""
        if scope.get("method") == "POST" and scope.get("path") in BATCH_UPLOAD_PATHS:
            # the file and its zip of photos (the route holds each part to its own cap)
            s = self.settings
            return s.batch_max_bytes + s.batch_photos_max_bytes + MULTIPART_SLACK
        path = str(scope.get("path", ""))
        if scope.get("method") == "POST" and (
            path in PHOTO_PATHS
            or (path.startswith("/api/v1/certificates/") and path.endswith("/replacement"))
        ):  # one certificate's photo (a replacement may bring a new one)
            return self.settings.body_limit + PHOTO_ROOM
        return self.settings.body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap(scope)
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            await _too_large(scope, receive, send, cap)
            return
        chunks: list[bytes] = []
        size = 0
        last: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                last = message
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await _too_large(scope, receive, send, cap)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                if last is not None:
                    return last
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    """Return the declared body length, or None when there is none or it is not ASCII
    digits (the app refuses such a header itself). A length of more digits than any cap
    is returned as 10**20: ``int()`` refuses strings of over 4,300 digits."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not (text.isascii() and text.isdigit()):
                return None
            digits = text.lstrip("0") or "0"
            return int(digits) if len(digits) <= 20 else 10**20
    return None


async def _too_large(scope: Scope, receive: Receive, send: Send, cap: int) -> None:
    if cap > MULTIPART_SLACK and scope.get("path") in BATCH_UPLOAD_PATHS:
        limit = cap - MULTIPART_SLACK  # as the batch route itself words it
        code, title = "upload_too_large", ("The file is too large", "文件过大")
        detail = (
            f"A batch file may be at most {limit:,} bytes; split it into smaller files.",
            f"批量文件不能超过{limit}字节；请拆分为多个文件。",
        )
    else:
        code, title = "body_too_large", ("The request body is too large", "请求体过大")
        detail = (
            f"A request to this address may carry at most {cap:,} bytes.",
            f"此地址的请求体不能超过{cap}字节。",
        )
    response = problem(
        Request(scope),
        status=413,
        code=code,
        title=title,
        detail=detail,
        headers={"Connection": "close"},
    )
    await response(scope, receive, send)
