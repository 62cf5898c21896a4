"""Prometheus metrics, one ``CollectorRegistry`` per app (tests build many apps; the
library's global default registry is never used).

The names every service shares are here, with the ones a single service defines, so that
a dashboard has one place to read them from (docs/operations.md, "Health, metrics and
logs"). Counters are exposed with ``_total`` appended by the library.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

__all__ = [
    "BATCH_ROWS_PER_SECOND",
    "CERTIFICATES_ISSUED",
    "HTTP_REQUESTS",
    "HTTP_REQUEST_SECONDS",
    "PUBLICATION_AGE",
    "RATELIMIT_DEGRADED",
    "RATELIMIT_FALLBACK",
    "RATELIMIT_REFUSALS",
    "SYNC_AGE",
    "VERDICTS",
    "FallbackHook",
    "Metrics",
    "ScrapeCollector",
]

HTTP_REQUESTS = "jiaozi_http_requests"  # counter {route, method, status}
HTTP_REQUEST_SECONDS = "jiaozi_http_request_duration_seconds"  # histogram {route, method, status}
RATELIMIT_REFUSALS = "jiaozi_ratelimit_refusals"  # counter {limiter}
# issuer
CERTIFICATES_ISSUED = "jiaozi_certificates_issued"  # counter {way: single | batch}
BATCH_ROWS_PER_SECOND = "jiaozi_batch_rows_per_second"  # gauge: the last or current batch
PUBLICATION_AGE = "jiaozi_publication_age_seconds"  # gauge {document}
# verifier
SYNC_AGE = "jiaozi_sync_age_seconds"  # gauge {document, source}
VERDICTS = "jiaozi_verdicts"  # counter {verdict, reason}
RATELIMIT_FALLBACK = "jiaozi_ratelimit_fallback"  # counter: switches to the local limiter
RATELIMIT_DEGRADED = "jiaozi_ratelimit_degraded"  # gauge: 1 while limiting locally

# Latency buckets (seconds): a verification answers in about a millisecond, a PDF in tens,
# a batch upload or a national round in seconds.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ScrapeCollector(Collector):
    """A collector whose metrics are computed when scraped (from the database, say):
    ``collect`` calls the function; an error in it is swallowed (the scrape still answers
    the other metrics) and counted in ``jiaozi_scrape_errors_total``."""

    def __init__(self, produce: Callable[[], Iterable[Metric]], errors: Counter) -> None:
        self.produce = produce
        self.errors = errors

    def collect(self) -> Iterable[Metric]:
        try:
            return list(self.produce())
        except Exception:  # a broken source must not take the whole scrape down
            self.errors.inc()
            return []

    def describe(self) -> Iterable[Metric]:
        return []  # nothing computed at registration (it may need a database)


class Metrics:
    """One app's metrics: its registry, the HTTP metrics every service has, the
    rate-limit refusals, and whatever the service adds (``counter``, ``gauge``,
    ``collect_at_scrape``)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            HTTP_REQUESTS,
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            HTTP_REQUEST_SECONDS,
            "Time to answer an HTTP request, by route template, method and status",
            ["route", "method", "status"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.ratelimit_refusals = Counter(
            RATELIMIT_REFUSALS,
            "Requests refused by a rate limit or lockout (429), by limiter",
            ["limiter"],
            registry=self.registry,
        )
        self.scrape_errors = Counter(
            "jiaozi_scrape_errors",
            "Metrics computed at scrape time that could not be read",
            registry=self.registry,
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its time."""
        labels = (route, method, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        """Return a new counter ``name`` in this app's registry."""
        return Counter(name, doc, list(labels), registry=self.registry)

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        """Return a new gauge ``name`` in this app's registry."""
        return Gauge(name, doc, list(labels), registry=self.registry)

    def collect_at_scrape(self, produce: Callable[[], Iterable[Metric]]) -> None:
        """Register ``produce``: called at every scrape, it yields metric families
        (``prometheus_client.core.GaugeMetricFamily`` ...)."""
        self.registry.register(ScrapeCollector(produce, self.scrape_errors))

    def exposition(self) -> tuple[bytes, str]:
        """Return the text exposition of every metric and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class FallbackHook:
    """What a rate limiter calls when it stops using its shared store and limits locally
    (``degraded=True``) and when it is back (``False``): counts the switches in
    ``jiaozi_ratelimit_fallback_total`` and holds ``jiaozi_ratelimit_degraded`` at 1 while
    degraded. A limiter that can fall back exposes an ``on_fallback`` attribute; the
    service sets it to ``hook.changed`` (see ``verifier.app.routes``)."""

    def __init__(self, metrics: Metrics) -> None:
        self.fallbacks = metrics.counter(
            RATELIMIT_FALLBACK, "Times a rate limiter fell back to a local in-process limiter"
        )
        self.degraded = metrics.gauge(
            RATELIMIT_DEGRADED, "1 while a rate limiter limits locally (its shared store is down)"
        )
        self._lock = threading.Lock()
        self._state = False

    def changed(self, degraded: bool) -> None:
        """Record that the limiter is now degraded (True) or back on its store (False)."""
        with self._lock:
            if degraded and not self._state:
                self.fallbacks.inc()
            self._state = degraded
            self.degraded.set(1 if degraded else 0)
