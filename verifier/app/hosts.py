"""Requests are answered only under the verifier's own names, and a browser's cross-site
request is refused, before routing and before the JSON fast path.

A pure ASGI middleware applying ``credential.HostRules`` (the decisions are there and in
docs/operations.md section 8): a ``Host`` that is not the public URL's host, a loopback
literal or one of ``JIAOZI_ALLOWED_HOSTS`` is answered 400 ``bad_host``; an unsafe request whose
``Origin`` is another site's (or ``null``, or absent with ``Sec-Fetch-Site: cross-site``)
is answered 403 ``bad_origin``. The verify API is not meant for other sites' pages (no
CORS is configured, so they could not read an answer anyway): an API client, curl or a
server sends no ``Origin`` and passes.

The proxy headers are read in one place: uvicorn's proxy-header middleware, which
``create_app`` puts outside this one when ``JIAOZI_TRUSTED_PROXIES`` names any proxy; the
client address (``scope["client"]``) is then the one the rate limits count.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from credential import HostRules

from .. import problems
from ..problems import Problem
from ..settings import VerifierSettings

__all__ = ["HostCheck"]

_REFUSALS = {
    "bad_host": Problem(
        400,
        "bad_host",
        ("The host name is not this service's", "请求的主机名不属于本服务"),
        (
            "This service answers only under its configured address.",
            "本服务只响应其配置地址下的请求。",
        ),
    ),
    "bad_origin": Problem(
        403,
        "bad_origin",
        ("The request comes from another site", "请求来自其他网站"),
        (
            "A page of another site may not send this request; open this service's own page.",
            "其他网站的页面不能发送此请求；请打开本服务自己的页面。",
        ),
    ),
}


class HostCheck:
    """Refuse (problem JSON) a request under a foreign host name (400) or from a foreign
    origin (403), before the app."""

    def __init__(self, app: ASGIApp, settings: VerifierSettings) -> None:
        self.app = app
        self.rules = HostRules(settings.public_url, settings.allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        why = self.rules.judge(scope["method"], scope.get("scheme", "http"), scope["headers"])
        if why is None:
            await self.app(scope, receive, send)
            return
        await problems.render(Request(scope), _REFUSALS[why])(scope, receive, send)
