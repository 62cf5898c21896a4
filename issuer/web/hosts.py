"""Requests are answered only under the office's own names, and a browser's cross-site
request is refused, before routing, body reading and authentication.

A pure ASGI middleware applying ``credential.HostRules`` (the decisions are there and in
docs/operations.md section 8): a ``Host`` that is not the public URL's host, a loopback
literal or one of ``JIAOZI_ALLOWED_HOSTS`` is answered 400 ``bad_host``; an unsafe request whose
``Origin`` is another site's (or ``null``, or absent with ``Sec-Fetch-Site: cross-site``)
is answered 403 ``bad_origin``. The holder pages (cookie session, forms) are what this
protects first; a bearer-key API client sends no ``Origin`` and passes.

Outside it, ``create_app`` puts uvicorn's proxy-header middleware when
``JIAOZI_TRUSTED_PROXIES`` names any proxy: the one place ``X-Forwarded-For`` and
``X-Forwarded-Proto`` are read, whatever server runs the app (``jiaozi issuer serve`` turns
uvicorn's own reading off).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from credential import HostRules
from issuer.settings import IssuerSettings
from issuer.web.problems import problem

__all__ = ["HostCheck"]

_REFUSALS = {
    "bad_host": (
        400,
        ("The host name is not this service's", "请求的主机名不属于本服务"),
        (
            "This service answers only under its configured address.",
            "本服务只响应其配置地址下的请求。",
        ),
    ),
    "bad_origin": (
        403,
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

    def __init__(self, app: ASGIApp, settings: IssuerSettings) -> None:
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
        status, title, detail = _REFUSALS[why]
        response = problem(Request(scope), status=status, code=why, title=title, detail=detail)
        await response(scope, receive, send)
