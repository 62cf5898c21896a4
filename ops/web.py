"""The ASGI side of operations: the request context middleware (request id, access log,
HTTP metrics) and the ``/healthz``, ``/readyz`` and ``/metrics`` endpoints, put on an app
by ``install``.

Pure ASGI, no framework import: each service's app (FastAPI) calls ``install`` at the end
of its factory. The middleware wraps the whole app, outside Starlette's server-error
middleware, so every answer carries ``X-Request-ID``: a refusal before routing (Host,
body size), a problem response and an unexpected error's 500 alike.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any

from .addresses import AddressAllow
from .context import new_request_id, request_id_var, sane_request_id, service_var
from .health import Check, readiness
from .metrics import Metrics

__all__ = ["UNMATCHED", "RequestContext", "client_address", "install", "route_template"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("jiaozi.access")

#: The route label of a request no route matched (a 404, or a refusal before routing of
#: a path no route has): never the raw path, which could be anything a caller sends.
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Mapping[str, Any], routes: Sequence[Any] = ()) -> str:
    """Return the template of the route that served (or would serve) ``scope``
    ("/api/v1/certificates/{number}"), never the raw path: the router's own choice when it
    routed the request, else the first of ``routes`` whose pattern matches the path (a
    request answered before routing, as the verifier's JSON fast path), else
    ``UNMATCHED``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    for candidate in routes:
        try:
            match, _ = candidate.matches(scope)
        except Exception:  # noqa: S112 - a route that cannot judge this scope is not it
            continue
        if getattr(match, "name", "NONE") != "NONE":
            found = getattr(candidate, "path", None)
            if isinstance(found, str):
                return found
    return UNMATCHED


def client_address(scope: Mapping[str, Any]) -> str | None:
    """Return the client's address as the app sees it: ``scope["client"]``, which the
    services' proxy-header middleware has already rewritten from X-Forwarded-For when,
    and only when, the connection came from a configured trusted proxy."""
    client = scope.get("client")
    return str(client[0]) if client else None


def _header(scope: Mapping[str, Any], name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value)
    return None


class RequestContext:
    """Pure ASGI middleware: the request id (the caller's ``X-Request-ID`` when it is a
    sane token, else a new one) set in ``ops.context`` for the request's log records and
    returned as ``X-Request-ID``; one access log line (``jiaozi.access``: method, route
    template, status, duration in ms, client address) and the HTTP metrics per request;
    a 429 counted as a rate-limit refusal of the limiter ``limiters`` names for the route
    (default: the route template)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        metrics: Metrics | None,
        routes: Callable[[], Sequence[Any]] = tuple,
        limiters: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics
        self.routes = routes
        self.limiters = dict(limiters or {})
        # Paths answered before routing (the verifier's JSON fast path) whose route is a
        # static one: matched once, not against every route on every request. Only static
        # templates are kept (template == path), so the dict is bounded by the routes.
        self._static: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = sane_request_id(_header(scope, b"x-request-id")) or new_request_id()
        rid_token = request_id_var.set(rid)
        service_token = service_var.set(self.service)
        raw_id = rid.encode("ascii")
        status = 0
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [
                    (k, v) for k, v in message.get("headers") or () if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", raw_id))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            status = status or 500
            raise
        finally:
            try:
                self._record(scope, rid, status or 500, time.perf_counter() - start)
            finally:
                service_var.reset(service_token)
                request_id_var.reset(rid_token)

    def _route(self, scope: Scope) -> str:
        if "route" not in scope:
            path = scope.get("path")
            known = self._static.get(path) if isinstance(path, str) else None
            if known is not None:
                return known
            found = route_template(scope, self.routes())
            if found == path:
                self._static[path] = found
            return found
        return route_template(scope)

    def _record(self, scope: Scope, rid: str, status: int, seconds: float) -> None:
        route = self._route(scope)
        method = str(scope.get("method", ""))
        if method not in _METHODS:
            method = "other"  # any token is a method to HTTP: the labels stay bounded
        if self.metrics is not None:
            self.metrics.observe(route, method, status, seconds)
            if status == 429:
                self.metrics.ratelimit_refusals.labels(self.limiters.get(route, route)).inc()
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    # said explicitly: a handler that formats later (a queue) is outside
                    # the request's context
                    "request_id": rid,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "client": client_address(scope),
                },
            )


async def _json(send: Send, status: int, body: Mapping[str, Any]) -> None:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    await _send(send, status, data, b"application/json")


async def _send(send: Send, status: int, data: bytes, media_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type),
                (b"content-length", str(len(data)).encode("ascii")),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class _Live:
    """``GET /healthz``: the process answers; touches nothing."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _json(send, 200, {"status": "ok"})


class _Ready:
    """``GET /readyz``: every check passes (200) or the failing ones named (503)."""

    def __init__(self, checks: Mapping[str, Check]) -> None:
        self.checks = dict(checks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, body = await readiness(self.checks)
        await _json(send, status, body)


class _MetricsEndpoint:
    """``GET /metrics``: the exposition to an allowed address; to any other, whatever
    the app answers a path it does not have (``not_found``: a 404), so that the endpoint
    is not revealed."""

    def __init__(self, metrics: Metrics, allow: AddressAllow, not_found: ASGIApp) -> None:
        self.metrics = metrics
        self.allow = allow
        self.not_found = not_found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.allow(client_address(scope)):
            await self.not_found(scope, receive, send)
            return
        data, media_type = self.metrics.exposition()
        await _send(send, 200, data, media_type.encode("ascii"))


def install(
    app: Any,
    *,
    service: str,
    metrics: Metrics,
    checks: Mapping[str, Check],
    metrics_allow: Sequence[str],
    healthz: bool = False,
    limiters: Mapping[str, str] | None = None,
) -> None:
    """Give a Starlette/FastAPI ``app`` ``/readyz``, ``/metrics`` (answered only to
    ``metrics_allow``) and, with ``healthz``, a ``/healthz`` answering ``{"status":
    "ok"}``; and wrap the whole app (outside its server-error middleware) in
    ``RequestContext``. Call it last in the app factory, after every middleware."""
    router = app.router
    if healthz:
        router.add_route("/healthz", _Live(), methods=["GET"], include_in_schema=False)
    router.add_route("/readyz", _Ready(checks), methods=["GET"], include_in_schema=False)
    router.add_route(
        "/metrics",
        _MetricsEndpoint(metrics, AddressAllow(metrics_allow), router.not_found),
        methods=["GET"],
        include_in_schema=False,
    )
    app.state.metrics = metrics
    build = app.build_middleware_stack

    def build_with_context() -> ASGIApp:
        # Starlette builds the stack on the first call; wrapping what it builds puts the
        # context outside ServerErrorMiddleware, which add_middleware cannot.
        return RequestContext(
            build(),
            service=service,
            metrics=metrics,
            routes=lambda: router.routes,
            limiters=limiters,
        )

    app.build_middleware_stack = build_with_context
