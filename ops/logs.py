"""Structured logs: one JSON object per line, and the logging configuration the services'
``serve`` commands hand to uvicorn.

Every line has ``ts`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``, ``msg``,
``request_id`` (None outside a request), ``service`` and whatever the call passed in
``extra=``. An exception is written as its type and its stack (file, line and function of
each frame), never its message nor the source lines: a message may quote what a client
sent (an identity number must never reach a log); ``JIAOZI_LOG_FORMAT=text``
(development) writes the full traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
from typing import Any, Literal

from .context import current_request_id, current_service

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
    "log_config",
]

LogFormat = Literal["json", "text"]
LOG_FORMATS: tuple[str, ...] = ("json", "text")

# The attributes every LogRecord has: anything else on a record came from ``extra=``.
_STANDARD = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "taskName", "color_message"}


def _iso(created: float) -> str:
    return (
        dt.datetime.fromtimestamp(created, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line (see the module's docstring).

    ``service`` names the service when the record was not written within a request (the
    request's own service, set by ``ops.RequestContext``, wins).
    """

    def __init__(self, service: str | None = None, **_ignored: Any) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
            "service": current_service() or self.service,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in out:
                out[key] = _jsonable(value)
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _, tb = record.exc_info
            out["exc_type"] = exc_type.__name__
            # where, not what: file, line and function of each frame, without the message
            # or the source lines (a test's source may hold the very value it plants)
            out["stack"] = [
                f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb)
            ]
        if record.stack_info:
            out["stack_info"] = record.stack_info
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """A readable line for development: time, level, logger, request id, message (and the
    full traceback)."""

    def __init__(self, service: str | None = None, **_ignored: Any) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return super().format(record)


def log_config(service: str, fmt: str = "json", level: str = "INFO") -> dict[str, Any]:
    """Return a ``logging.config.dictConfig`` dictionary (what ``uvicorn.run(log_config=)``
    takes): every logger, uvicorn's included, to stderr in ``fmt`` ("json" or "text").

    uvicorn's own access log should be turned off (``access_log=False``): it writes the
    raw path, which may hold a certificate number; ``ops.RequestContext`` writes one line
    per request naming the route template instead. Raises ValueError on another ``fmt``.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}")
    formatter = "ops.logs.JsonFormatter" if fmt == "json" else "ops.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"jiaozi": {"()": formatter, "service": service}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "jiaozi",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's loggers write through the root's handler, not their own
            name: {"handlers": [], "level": level, "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure_logging(service: str, fmt: str = "json", level: str = "INFO") -> None:
    """Configure this process's logging as ``log_config`` says (for commands that log
    without uvicorn)."""
    import logging.config

    logging.config.dictConfig(log_config(service, fmt, level))
