"""The issuer's health, readiness and metrics (``ops``): what ``create_app`` installs.

Readiness (``/readyz``): the database answers; the key store gives the active signing key
(not in public-only mode, which holds none); every status list was signed within
``status_ttl_seconds`` (an older one is stale to every verifier: the publication job is
not running). Metrics computed at scrape time from the database, so that batches and
publications made by another process (``jiaozi issuer batch``, ``publish``) count too:
certificates issued (the serial counters; the batch share from the batches' issued
rows), the last or current batch's rows per second, and each published document's age.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy.engine import Engine
from sqlmodel import Session

import ops
from credential import Signer, as_utc
from issuer.batches import batch_progress
from issuer.db import tables
from issuer.db.allowance import reconcile_needed
from issuer.db.models import Batch
from issuer.settings import IssuerSettings

__all__ = ["install_ops"]

# 429s of the issuer are sign-in lockouts: named after what they protect.
_LIMITERS = {
    "/holder/login": "holder_signin",
    "/holder/certificates/{number}/copy": "holder_copies",
    "/office/signin": "console_signin",
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _scrape(engine: Engine) -> Callable[[], Iterator[Metric]]:
    def produce() -> Iterator[Metric]:
        now = _now()
        with engine.connect() as conn:
            total = conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(tables.SERIAL_COUNTER.c.last_serial), 0))
            ).scalar_one()
            in_batches = conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(tables.BATCH.c.issued_rows), 0))
            ).scalar_one()
            lists = conn.execute(
                sa.select(tables.STATUS_LIST.c.uri, tables.STATUS_LIST.c.signed_at)
            ).all()
            documents = conn.execute(
                sa.select(
                    tables.PUBLISHED_DOCUMENT.c.name, tables.PUBLISHED_DOCUMENT.c.published_at
                )
            ).all()
            restricted = conn.execute(
                sa.select(
                    tables.RESTRICTION_DOCUMENT.c.name, tables.RESTRICTION_DOCUMENT.c.published_at
                )
            ).all()
            last = conn.execute(
                sa.select(tables.BATCH)
                .where(tables.BATCH.c.run_started_at.is_not(None))
                .order_by(tables.BATCH.c.run_started_at.desc())
                .limit(1)
            ).first()
        issued = CounterMetricFamily(
            ops.CERTIFICATES_ISSUED,
            "Certificates issued, one at a time or in batches",
            labels=["way"],
        )
        issued.add_metric(["batch"], float(in_batches))
        issued.add_metric(["single"], float(max(0, int(total) - int(in_batches))))
        yield issued
        rate = GaugeMetricFamily(
            ops.BATCH_ROWS_PER_SECOND, "Rows issued per second by the last or current batch"
        )
        progress = batch_progress(Batch(**last._mapping), now=now) if last is not None else None
        rate.add_metric([], float(progress.rows_per_second or 0) if progress else 0.0)
        yield rate
        age = GaugeMetricFamily(
            ops.PUBLICATION_AGE,
            "Seconds since each status list, public document and restricted-list document "
            "was published (a status list never signed is absent)",
            labels=["document"],
        )
        for uri, signed_at in lists:
            if signed_at is not None:
                age.add_metric([uri], (now - as_utc(signed_at)).total_seconds())
        for name, published_at in documents:
            age.add_metric([name], (now - as_utc(published_at)).total_seconds())
        for name, published_at in restricted:
            age.add_metric(
                [f"restricted-list/{name}"], (now - as_utc(published_at)).total_seconds()
            )
        yield age

    return produce


def _checks(
    settings: IssuerSettings, engine: Engine, signer_provider: Callable[[], Signer] | None
) -> dict[str, ops.Check]:
    def database() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def key_store() -> None:
        assert signer_provider is not None
        signer_provider()

    def status_lists() -> None:
        now = _now()
        ttl = dt.timedelta(seconds=settings.status_ttl_seconds)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(tables.STATUS_LIST.c.uri, tables.STATUS_LIST.c.signed_at)
            ).all()
        stale = [uri for uri, at in rows if at is None or now - as_utc(at) > ttl]
        if stale:
            raise ops.NotReady(
                f"status list {stale[0]} not published within {settings.status_ttl_seconds} s"
                + (f" (and {len(stale) - 1} more)" if len(stale) > 1 else "")
            )

    def restore() -> None:
        # A restored office must take back the status published after its backup before it
        # serves: its status lists are refused until then (docs/operations.md, restore
        # step 6), so the load balancer should not send it traffic either.
        with Session(engine) as session:
            if reconcile_needed(session):
                raise ops.NotReady(
                    "restored, not reconciled: run jiaozi issuer reconcile-status "
                    "--published DIR_OR_URL"
                )

    checks: dict[str, ops.Check] = {"database": database}
    if signer_provider is not None:
        checks["key_store"] = key_store
    checks["restore"] = restore
    checks["status_lists"] = status_lists
    return checks


def install_ops(
    app: object,
    settings: IssuerSettings,
    engine: Engine,
    signer_provider: Callable[[], Signer] | None,
) -> ops.Metrics:
    """Give the issuer ``app`` ``/healthz``, ``/readyz``, ``/metrics`` and the request
    context (``ops.install``); returns its metrics."""
    metrics = ops.Metrics("issuer")
    metrics.collect_at_scrape(_scrape(engine))
    ops.install(
        app,
        service="issuer",
        metrics=metrics,
        checks=_checks(settings, engine, signer_provider),
        metrics_allow=settings.metrics_allow,
        healthz=True,
        limiters=_LIMITERS,
    )
    return metrics
