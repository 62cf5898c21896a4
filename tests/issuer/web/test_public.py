"""The issuer's public endpoints: the trust list it holds, served as signed and verifiable."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from credential import verify_trust_list
from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from keys import root_keys
from tests.factory import T0, signer
from tests.factory.keys import OFFICE, make_store


def test_trust_list_is_served_as_stored_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIAOZI_HOME", str(tmp_path))
    make_store(tmp_path, now=T0)
    app = create_app(
        IssuerSettings(database_url=f"sqlite:///{tmp_path / 'i.db'}"), signer=signer(seed=3)
    )
    with TestClient(app) as client:
        r = client.get("/trust-list.jwt")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/jiaozi-trustlist+jwt")
    trust = verify_trust_list(r.text, root_keys(tmp_path))
    assert [o.id for o in trust.offices] == [OFFICE]


def test_no_trust_list_is_a_404_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIAOZI_HOME", str(tmp_path / "empty"))
    app = create_app(
        IssuerSettings(database_url=f"sqlite:///{tmp_path / 'i.db'}"), signer=signer(seed=3)
    )
    with TestClient(app) as client:
        r = client.get("/trust-list.jwt")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 404
