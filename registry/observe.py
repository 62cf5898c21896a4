"""The registry's health, readiness and metrics (``ops``): what ``create_app`` installs.

Readiness (``/readyz``): the database answers; the key store gives the registry's active
signing key; the trust list is loaded (the one offices' signatures are checked against).
``/healthz`` stays the route ``create_app`` always had. Metrics: the HTTP ones and the
admission checks' rate-limit refusals (``limiter="admission"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

import ops
from credential import Signer, TrustList

from .settings import RegistrySettings

__all__ = ["install_ops"]


def install_ops(
    app: Any,
    settings: RegistrySettings,
    *,
    engine: Engine,
    signer_provider: Callable[[], Signer],
    trust_provider: Callable[[], TrustList],
) -> ops.Metrics:
    """Give the registry ``app`` ``/readyz``, ``/metrics`` and the request context
    (``ops.install``); returns its metrics."""

    def database() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def key_store() -> None:
        signer_provider()

    def trust_list() -> None:
        trust_provider()

    metrics = ops.Metrics("registry")
    ops.install(
        app,
        service="registry",
        metrics=metrics,
        checks={"database": database, "key_store": key_store, "trust_list": trust_list},
        metrics_allow=settings.metrics_allow,
        limiters={"/api/v1/admission-checks": "admission"},
    )
    return metrics
