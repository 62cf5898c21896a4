"""The issuer's /healthz, /readyz, /metrics and request ids (issuer.web.observe, ops)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from issuer.db import tables
from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from ops import JsonFormatter, current_request_id
from tests.factory.batchfile import EN_HEADER, csv_bytes, person
from tests.factory.issuer import API_KEY, IssuerHarness, issue, poll_batch, post_batch

LOCAL = ("127.0.0.1", 40000)


def _local(env: IssuerHarness) -> TestClient:
    """A client from loopback (the harness's own client is "testclient", not an address)."""
    return TestClient(env.app, client=LOCAL)


def _sample(env: IssuerHarness, name: str, **labels: str) -> float | None:
    return env.app.state.metrics.registry.get_sample_value(name, labels)


@contextmanager
def _json_lines() -> Iterator[list[dict]]:
    """The JSON lines of the ``jiaozi`` loggers, formatted when written (in the request's
    context), as ``jiaozi issuer serve``'s stderr handler does."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(service="issuer"))
    logger = logging.getLogger("jiaozi")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
        lines += [json.loads(x) for x in stream.getvalue().splitlines()]


def test_healthz_and_readyz_answer_when_all_is_well(issuer_env: IssuerHarness) -> None:
    r = issuer_env.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    issue(issuer_env, 1)  # a status list now exists, signed on the write
    r = issuer_env.client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ready",
        "checks": {
            "database": {"ok": True},
            "key_store": {"ok": True},
            "restore": {"ok": True},
            "status_lists": {"ok": True},
        },
    }


def test_readyz_says_a_restored_office_is_not_reconciled(issuer_env: IssuerHarness) -> None:
    # What restore_issuer sets (issuer.issuance.fence.after_restore): the office must take
    # back the status published after its backup before a load balancer sends it traffic.
    from issuer.db.allowance import RECONCILE_GATE

    issue(issuer_env, 4)
    with issuer_env.engine.begin() as conn:
        conn.execute(sa.insert(tables.EVENT_HEAD).values(name=RECONCILE_GATE, seq=1))
    r = issuer_env.client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["failing"] == ["restore"]
    assert "jiaozi issuer reconcile-status" in body["checks"]["restore"]["detail"]


def test_readyz_names_a_status_list_not_published_in_time(issuer_env: IssuerHarness) -> None:
    cert = issue(issuer_env, 2)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(
        seconds=issuer_env.settings.status_ttl_seconds + 60
    )
    with issuer_env.engine.begin() as conn:
        conn.execute(sa.update(tables.STATUS_LIST).values(signed_at=old))
    r = issuer_env.client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "not_ready" and body["failing"] == ["status_lists"]
    assert cert["status_list"]["uri"] in body["checks"]["status_lists"]["detail"]
    assert body["checks"]["database"] == {"ok": True}


def test_readyz_names_an_unreadable_key_store(tmp_path: Path) -> None:
    settings = IssuerSettings(
        database_url=f"sqlite:///{tmp_path / 'issuer.db'}",
        public_url="http://testserver",
        api_key=API_KEY,
        id_hmac_key="test-id-hmac-key-0123456789-abcdef",
        publish_interval_seconds=0,
    )

    def locked() -> object:
        raise OSError("the key store cannot be opened")

    app = create_app(settings, signer_provider=locked, public_keys=[])  # type: ignore[arg-type]
    with TestClient(app) as client:
        r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["failing"] == ["key_store"]
    assert r.json()["checks"]["key_store"] == {"ok": False, "detail": "OSError"}


def test_metrics_count_requests_by_route_template_and_certificates_issued(
    issuer_env: IssuerHarness,
) -> None:
    cert = issue(issuer_env, 3)
    number = cert["certificate_number"]
    issuer_env.client.get(f"/api/v1/certificates/{number}", headers=issuer_env.headers())
    labels = {"route": "/api/v1/certificates/{number}", "method": "GET", "status": "200"}
    before = _sample(issuer_env, "jiaozi_http_requests_total", **labels)
    assert before == 1
    r = _local(issuer_env).get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert (
        'jiaozi_http_requests_total{method="POST",route="/api/v1/certificates",status="201"}'
        in text
    )
    assert number not in text  # the route template, never the path
    assert 'jiaozi_certificates_issued_total{way="single"} 1.0' in text
    assert f'jiaozi_publication_age_seconds{{document="{cert["status_list"]["uri"]}"}}' in text
    issuer_env.client.get(f"/api/v1/certificates/{number}", headers=issuer_env.headers())
    assert _sample(issuer_env, "jiaozi_http_requests_total", **labels) == 2


def test_metrics_count_batch_rows(issuer_env: IssuerHarness) -> None:
    rows = [person(8000 + n, f"obs-{n}") for n in range(3)]
    r = post_batch(issuer_env, csv_bytes(EN_HEADER, rows), "observe.csv")
    assert r.status_code in (201, 202), r.text
    assert poll_batch(issuer_env, r.json()["id"])["state"] == "done"
    assert _sample(issuer_env, "jiaozi_certificates_issued_total", way="batch") == 3
    assert _sample(issuer_env, "jiaozi_certificates_issued_total", way="single") == 0
    rate = _sample(issuer_env, "jiaozi_batch_rows_per_second")
    assert rate is not None and rate > 0


def test_metrics_are_not_found_from_another_address(issuer_env: IssuerHarness) -> None:
    hidden = issuer_env.client.get("/metrics")  # from "testclient": not an allowed address
    unknown = issuer_env.client.get("/no-such-page")
    assert hidden.status_code == 404 and hidden.content == unknown.content
    remote = TestClient(issuer_env.app, client=("198.51.100.7", 5000)).get("/metrics")
    assert remote.status_code == 404


def test_request_id_is_echoed_or_made_and_in_the_access_line(issuer_env: IssuerHarness) -> None:
    with _json_lines() as lines:
        r = issuer_env.client.get(
            "/api/v1/certificates/11001-2026-999999", headers={"X-Request-ID": "office.A-77"}
        )
    assert r.status_code == 401  # a problem response carries it too
    assert r.headers["x-request-id"] == "office.A-77"
    access = [x for x in lines if x["logger"] == "jiaozi.access"]
    assert len(access) == 1
    assert access[0]["request_id"] == "office.A-77" and access[0]["service"] == "issuer"
    assert access[0]["route"] == "/api/v1/certificates/{number}"
    assert access[0]["status"] == 401 and "11001-2026-999999" not in json.dumps(lines)
    made = issuer_env.client.get("/healthz", headers={"X-Request-ID": "bad id!"})
    assert made.headers["x-request-id"] != "bad id!" and len(made.headers["x-request-id"]) == 32


def test_a_batch_runs_in_its_uploads_request_context(
    issuer_env: IssuerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from issuer import batches

    seen: list[str | None] = []
    real = batches.run_batch

    def run_batch(*args: object, **kw: object) -> object:
        seen.append(current_request_id())  # in the batch's own thread
        return real(*args, **kw)

    monkeypatch.setattr(batches, "run_batch", run_batch)
    rows = [person(8100 + n, f"ctx-{n}") for n in range(2)]
    r = post_batch(
        issuer_env, csv_bytes(EN_HEADER, rows), "context.csv", **{"X-Request-ID": "upload-5"}
    )
    assert r.status_code in (201, 202), r.text
    assert poll_batch(issuer_env, r.json()["id"])["state"] == "done"
    assert seen == ["upload-5"]


def test_serve_hands_uvicorn_the_json_logging_and_no_access_log() -> None:
    from issuer.cli.commands import log_options

    settings = IssuerSettings(public_url="http://testserver", api_key=API_KEY)
    options = log_options(settings)
    assert options["access_log"] is False  # uvicorn's line holds the raw path
    formatter = options["log_config"]["formatters"]["jiaozi"]
    assert formatter == {"()": "ops.logs.JsonFormatter", "service": "issuer"}
    text = log_options(IssuerSettings(public_url="http://testserver", log_format="text"))
    assert text["log_config"]["formatters"]["jiaozi"]["()"] == "ops.logs.TextFormatter"


def test_production_refuses_text_logs_and_a_bad_metrics_allow() -> None:
    assert IssuerSettings(env="development", log_format="text").log_format == "text"
    with pytest.raises(ValueError, match="JIAOZI_LOG_FORMAT must be json in production"):
        IssuerSettings(env="production", log_format="text")
    with pytest.raises(ValueError, match="not an IP address"):
        IssuerSettings(metrics_allow="127.0.0.1,prometheus.internal")
    assert IssuerSettings(metrics_allow='["10.0.0.5"]').metrics_allow == ("10.0.0.5/32",)
