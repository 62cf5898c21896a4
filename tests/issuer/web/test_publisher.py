"""The publication job's thread: started by the issuer app's lifespan, stopped with it, and
off with ``publish_interval_seconds=0``."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from issuer import lifecycle
from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from tests.factory import signer


def test_the_lifespan_runs_the_job_on_its_interval_and_stops_it(tmp_path: Path) -> None:
    settings = IssuerSettings(
        env="development",
        database_url=f"sqlite:///{tmp_path / 'i.db'}",
        publish_interval_seconds=1,
    )
    app = create_app(settings, signer=signer(seed=3))
    publisher = app.state.publisher
    with TestClient(app):
        deadline = time.monotonic() + 60  # a bound on waiting, not a speed goal
        while publisher.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert publisher.runs >= 1
        jwks = TestClient(app).get("/.well-known/jwks.json")  # no lifespan: same app state
    assert publisher._thread is None  # stopped with the app
    assert jwks.status_code == 200
    with Session(app.state.engine) as session:
        doc = lifecycle.read_document(session, ".well-known/jwks.json")
    assert doc is not None and doc.body == jwks.content


def test_interval_zero_leaves_the_job_to_cron(tmp_path: Path) -> None:
    settings = IssuerSettings(
        env="development",
        database_url=f"sqlite:///{tmp_path / 'i.db'}",
        publish_interval_seconds=0,
    )
    assert create_app(settings, signer=signer(seed=3)).state.publisher is None
