"""The verifier's health, readiness and metrics (``ops``): what ``create_app`` installs.

Readiness (``/readyz``): the database answers; the pinned root keys were read (the
verifier's only key material); the trust list is held; every held status list is within
its ``ttl``/``exp`` plus ``status_grace`` (``JIAOZI_STATUS_GRACE``, the age past which a
judgement would be ``cannot_determine``); the restricted list is held from every source
that has one. ``/healthz`` stays the route ``create_app`` always had.

Metrics: verdicts by reason (``Verifier.on_verdict``), rate-limit refusals (the 429s of
``/api/v1/verify``), the local fallback of a limiter that has one (``on_fallback``,
``ops.FallbackHook``), and the sync age of every held document, computed at scrape time
from the held data (re-read from the database when due).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

import ops

from .service import Verifier

__all__ = ["install_ops"]


def _scrape(v: Verifier) -> Iterator[Metric]:
    held = v.store.current()
    now = v.clock().timestamp()
    age = GaugeMetricFamily(
        ops.SYNC_AGE,
        "Seconds since each held document was last fetched or confirmed unchanged "
        "(restricted list: since the newest data of the source was issued)",
        labels=["document", "source"],
    )
    if held.trust_age is not None:
        age.add_metric(["trust_list", "trust_list"], now - held.trust_age.checked_at.timestamp())
    for uri, checked in sorted(held.status_age.items()):
        age.add_metric(["status_list", uri], now - checked.checked_at.timestamp())
    for source, iat in sorted(held.restrictions_iat.items()):
        age.add_metric(["restricted_list", source], now - iat)
    yield age


def _checks(v: Verifier) -> dict[str, ops.Check]:
    def database() -> None:
        with v.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def root_keys() -> None:
        if not v.roots:
            raise ops.NotReady("no pinned root keys: nothing can verify")

    def trust_list() -> None:
        if v.store.current().trust is None:
            raise ops.NotReady("no trust list synced yet")

    def status_lists() -> None:
        held = v.store.current()
        now = v.clock().timestamp()
        grace = v.settings.status_grace
        stale = sorted(u for u, snap in held.status.items() if now > snap.stale_after(grace))
        if stale:
            raise ops.NotReady(
                f"status list {stale[0]} older than its ttl plus {grace} s"
                + (f" (and {len(stale) - 1} more)" if len(stale) > 1 else "")
            )

    def restricted_list() -> None:
        if v.restriction_sources and (
            v.store.current().restrictions_as_of(v.restriction_sources) is None
        ):
            raise ops.NotReady("the restricted list is not held from every source")

    return {
        "database": database,
        "root_keys": root_keys,
        "trust_list": trust_list,
        "status_lists": status_lists,
        "restricted_list": restricted_list,
    }


def install_ops(app: object, v: Verifier) -> ops.Metrics:
    """Give the verifier ``app`` ``/readyz``, ``/metrics`` and the request context
    (``ops.install``), count ``v``'s verdicts and its limiter's fallbacks; returns the
    metrics."""
    metrics = ops.Metrics("verifier")
    verdicts = metrics.counter(
        ops.VERDICTS, "Judgements given, by verdict and reason", ["verdict", "reason"]
    )

    def on_verdict(verdict: str, reason: str | None) -> None:
        verdicts.labels(verdict, reason or "none").inc()

    v.on_verdict = on_verdict
    hook = ops.FallbackHook(metrics)
    limiter: Any = v.limiter
    if hasattr(limiter, "on_fallback"):  # a limiter that can limit locally (Redis down)
        limiter.on_fallback = hook.changed
    metrics.collect_at_scrape(lambda: _scrape(v))
    ops.install(
        app,
        service="verifier",
        metrics=metrics,
        checks=_checks(v),
        metrics_allow=v.settings.metrics_allow,
        limiters={"/api/v1/verify": "verify"},
    )
    return metrics
