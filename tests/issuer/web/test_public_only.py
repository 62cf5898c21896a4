"""A public-only issuer app (``create_app(settings, public_only=True)``, ``jiaozi issuer serve
--public-only``): the key-free artefacts served from the database by a process that holds
no key store and nothing that can sign."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credential import load_status_list, verify_trust_list
from issuer.web.app import create_app
from keys import root_keys
from tests.factory import signer
from tests.factory.issuer import IssuerHarness, issue
from tests.factory.keys import make_store


def _signers_in(value: Any, seen: set[int], depth: int = 0) -> list[Any]:
    """Return every object reachable from ``value`` (a few levels) that can sign."""
    if id(value) in seen or depth > 4:
        return []
    seen.add(id(value))
    found = [value] if callable(getattr(value, "sign", None)) else []
    if callable(value) and getattr(value, "__closure__", None):
        for cell in value.__closure__:
            found += _signers_in(cell.cell_contents, seen, depth + 1)
    if isinstance(value, dict):
        for v in value.values():
            found += _signers_in(v, seen, depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            found += _signers_in(v, seen, depth + 1)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        for v in vars(value).values():
            found += _signers_in(v, seen, depth + 1)
    return found


def test_public_only_app_serves_the_published_artefacts_and_cannot_sign(
    issuer_env: IssuerHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIAOZI_HOME", str(tmp_path))
    make_store(tmp_path)  # the trust list the full app publishes
    cert = issue(issuer_env, 1)
    issuer_env.app.state.publisher.run_once()  # the job: JWKS and trust list stored
    full_jwks = issuer_env.client.get("/.well-known/jwks.json")
    uri = cert["status_list"]["uri"]
    path = uri.removeprefix("http://testserver")

    monkeypatch.delenv("JIAOZI_HOME")  # no key store anywhere near this process
    app = create_app(issuer_env.settings, public_only=True)
    with TestClient(app) as client:
        status = client.get(path)
        jwks = client.get("/.well-known/jwks.json")
        trust = client.get("/trust-list.jwt")
        issuing = client.post("/api/v1/certificates", json={})
        pdf = client.get(f"/api/v1/certificates/{cert['certificate_number']}/pdf")
    assert status.status_code == 200
    assert status.headers["content-type"].startswith("application/statuslist+jwt")
    snap = load_status_list(status.text, issuer_env.trust, expected_uri=uri)
    assert snap.status_list.get(cert["status_list"]["idx"]) == 0
    assert (jwks.status_code, jwks.content) == (200, full_jwks.content)
    assert trust.status_code == 200
    assert [o.id for o in verify_trust_list(trust.text, root_keys(tmp_path)).offices]
    assert (issuing.status_code, pdf.status_code) == (404, 404)  # not even routed
    state = app.state._state
    assert state["signer_provider"] is None and state["document_key_provider"] is None
    assert state["publisher"] is None
    assert _signers_in(state, set()) == []
    assert _signers_in(issuer_env.app.state._state, set()) != []  # the probe finds one


def test_public_only_app_without_publication_answers_404_problems(tmp_path: Path) -> None:
    from issuer.settings import IssuerSettings

    settings = IssuerSettings(env="development", database_url=f"sqlite:///{tmp_path / 'i.db'}")
    with TestClient(create_app(settings, public_only=True)) as client:
        answers = [
            client.get(p) for p in ("/statuslists/1", "/.well-known/jwks.json", "/trust-list.jwt")
        ]
    assert [r.status_code for r in answers] == [404, 404, 404]
    assert all(r.headers["content-type"].startswith("application/problem+json") for r in answers)


def test_public_only_app_refuses_a_key(tmp_path: Path) -> None:
    from issuer.settings import IssuerSettings

    settings = IssuerSettings(env="development", database_url=f"sqlite:///{tmp_path / 'i.db'}")
    with pytest.raises(RuntimeError, match="no signer"):
        create_app(settings, public_only=True, signer=signer(seed=3))
