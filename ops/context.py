"""The request id and the service name a log record carries, in context variables.

A context variable follows the request into the coroutines it awaits and into the worker
threads Starlette's ``run_in_threadpool`` and ``asyncio.to_thread`` start (both copy the
context), so a log line written anywhere on the request's behalf names the request.
Process pools (the issuer's signing workers, the verifier's file readers) do not inherit
it: their own log lines carry no request id.
"""

from __future__ import annotations

import contextvars
import re
import secrets

__all__ = [
    "current_request_id",
    "current_service",
    "new_request_id",
    "request_id_var",
    "sane_request_id",
    "service_var",
]

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "jiaozi_request_id", default=None
)
service_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "jiaozi_service", default=None
)

# What a caller's X-Request-ID may be for us to keep it: a short token of safe characters,
# so that it can be logged and echoed as it is (no injection into a log line or a header).
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def sane_request_id(value: str | bytes | None) -> str | None:
    """Return ``value`` as a request id if it is 1 to 64 characters of ``[A-Za-z0-9._-]``,
    else None (the caller then makes one with ``new_request_id``)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    return value if _SANE.fullmatch(value) else None


def new_request_id() -> str:
    """Return a fresh request id: 32 lowercase hex digits (128 random bits)."""
    return secrets.token_hex(16)


def current_request_id() -> str | None:
    """Return the id of the request being served in this context, or None outside one."""
    return request_id_var.get()


def current_service() -> str | None:
    """Return the service ("issuer", "verifier", "registry") serving this context, or None."""
    return service_var.get()
