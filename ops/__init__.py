"""Operations shared by the three services: health, metrics, logs, request ids.

Imports ``credential`` and ``keys`` only (of ours) and no web framework: the services'
apps call ``install`` (``ops.web``), which speaks plain ASGI. Imported by ``issuer``,
``verifier``, ``registry`` and ``jiaozi``.

- ``context``: the request id and service in context variables;
- ``logs``: the JSON (and development text) log formatter, the logging configuration the
  ``serve`` commands hand to uvicorn;
- ``metrics``: one Prometheus registry per app, the metric names;
- ``health``: readiness checks and their answer; ``addresses``: ``metrics_allow``;
- ``web``: the request-context middleware and the endpoints, ``install``;
- ``migrations``: the verifier's and the registry's Alembic runs (imported from
  ``ops.migrations`` by those two only: the issuer's migrations are its own).
"""

from .addresses import DEFAULT_METRICS_ALLOW, AddressAllow, parse_metrics_allow
from .context import current_request_id, new_request_id, sane_request_id
from .health import Check, NotReady, readiness
from .logs import LOG_FORMATS, JsonFormatter, TextFormatter, configure_logging, log_config
from .metrics import (
    BATCH_ROWS_PER_SECOND,
    CERTIFICATES_ISSUED,
    PUBLICATION_AGE,
    RATELIMIT_DEGRADED,
    RATELIMIT_FALLBACK,
    SYNC_AGE,
    VERDICTS,
    FallbackHook,
    Metrics,
)
from .web import UNMATCHED, RequestContext, client_address, install, route_template

__all__ = [
    "BATCH_ROWS_PER_SECOND",
    "CERTIFICATES_ISSUED",
    "DEFAULT_METRICS_ALLOW",
    "LOG_FORMATS",
    "PUBLICATION_AGE",
    "RATELIMIT_DEGRADED",
    "RATELIMIT_FALLBACK",
    "SYNC_AGE",
    "UNMATCHED",
    "VERDICTS",
    "AddressAllow",
    "Check",
    "FallbackHook",
    "JsonFormatter",
    "Metrics",
    "NotReady",
    "RequestContext",
    "TextFormatter",
    "client_address",
    "configure_logging",
    "current_request_id",
    "install",
    "log_config",
    "new_request_id",
    "parse_metrics_allow",
    "readiness",
    "route_template",
    "sane_request_id",
]
