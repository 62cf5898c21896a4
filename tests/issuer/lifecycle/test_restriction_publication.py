"""The verifiers' restricted-list documents are signed by the publication job when the list
changes, and served as stored (issue 12 point 6): a GET signs nothing, a verifier following
the stored documents sees every change, and ``iat`` never goes backwards.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from credential import Signer, parse_jws, sign_trust_list
from issuer.lifecycle import public_artefacts, restriction_publication
from tests.factory import signer
from tests.factory.issuer import (
    IssuerHarness,
    entry_body,
    issue,
    officer,
    record,
    rows,
    service_client,
)
from tests.factory.verifier import TRUST_URL, settings_for
from verifier.app import create_app as create_verifier
from verifier.settings import IssuerSource


@pytest.fixture
def team(issuer_env: IssuerHarness) -> dict[str, dict[str, str]]:
    return {
        "a": officer(issuer_env, "sup-a", "supervisor"),
        "b": officer(issuer_env, "sup-b", "supervisor"),
        "verifier": service_client(issuer_env, "verifier-1", "verifier"),
    }


def _no_signing(*_args: object, **_kwargs: object) -> str:
    raise AssertionError("a verifier's GET signed a restricted-list document")


def test_a_verifier_get_of_the_restricted_list_signs_a_document(
    issuer_env: IssuerHarness,
    team: dict[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issue(issuer_env, 1)  # a status list, published: something public to compare with
    record(issuer_env, entry_body(1), team["a"], team["b"])
    record(issuer_env, entry_body(2, category="lost"), team["b"], team["a"])
    stored = {r["name"]: r["token"] for r in rows(issuer_env, "SELECT * FROM restriction_document")}
    assert set(stored) == {"snapshot", "after:0", "after:1", "after:2"}

    # From here no key is reachable and the signing function refuses: the GETs still answer.
    def no_key() -> Signer:
        raise AssertionError("a verifier's GET asked for the office key")

    monkeypatch.setattr(issuer_env.app.state, "signer_provider", no_key)
    monkeypatch.setattr(restriction_publication, "sign_restrictions", _no_signing)
    served = {}
    for name, path in [
        ("snapshot", "/api/v1/restrictions/snapshot"),
        *[(f"after:{n}", f"/api/v1/restrictions/changes?after={n}") for n in range(3)],
    ]:
        r = issuer_env.client.get(path, headers=team["verifier"])
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/jwt")
        served[name] = r.text
    assert served == stored  # the stored bytes, as signed when the list changed
    # authenticated documents: never among what a public-only process or export-public serves
    with Session(issuer_env.engine) as session:
        public = public_artefacts(session, settings=issuer_env.settings)
    assert public and not {a.body.decode() for a in public} & set(stored.values())
    assert all(parse_jws(t).verify(issuer_env.signer.public_key()) for t in served.values())


def test_publication_signs_again_only_when_the_list_changed_or_the_documents_are_due(
    issuer_env: IssuerHarness, team: dict[str, dict[str, str]]
) -> None:
    env = issuer_env
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def publish(at: dt.datetime) -> bool:
        with Session(env.engine) as session:
            return restriction_publication.publish_restrictions(
                session, signer=env.signer, settings=env.settings, now=at
            )

    def documents() -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in rows(env, "SELECT * FROM restriction_document")}

    assert publish(t0)  # an empty list is published too: the snapshot and the head page
    assert set(documents()) == {"snapshot", "after:0"}
    assert not publish(t0 + dt.timedelta(seconds=1))  # nothing changed, not due
    record(env, entry_body(1), team["a"], team["b"])  # published right after the change
    first = documents()
    assert set(first) == {"snapshot", "after:0", "after:1"}
    assert first["snapshot"]["cursor"] == first["after:1"]["cursor"] == 1
    assert first["after:0"]["cursor"] == 1  # the page of change 1, no longer the head page
    assert not publish(t0 + dt.timedelta(seconds=2))

    # Half a ttl on, the snapshot and the head page are signed again; change 1's page is not.
    due = dt.datetime.fromtimestamp(first["snapshot"]["iat"], dt.UTC) + dt.timedelta(
        seconds=env.settings.status_ttl_seconds // 2
    )
    assert publish(due)
    second = documents()
    assert second["snapshot"]["iat"] == second["after:1"]["iat"] == int(due.timestamp())
    assert second["snapshot"]["token"] != first["snapshot"]["token"]
    assert second["after:0"]["token"] == first["after:0"]["token"]

    # Recorded now, before ``due``: published at once, its iat not earlier than the held
    # one (a replica whose clock is behind cannot take iat backwards: verifiers refuse it).
    record(env, entry_body(2, category="lost"), team["a"], team["b"])
    third = documents()
    assert third["after:1"]["cursor"] == third["snapshot"]["cursor"] == 2
    assert third["after:1"]["iat"] == third["after:2"]["iat"] == int(due.timestamp())
    assert third["after:0"]["token"] == first["after:0"]["token"]


def test_a_verifier_synced_after_a_restriction_sees_it(
    issuer_env: IssuerHarness, team: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    env = issuer_env
    first = issue(env, 1)
    second = issue(env, 2)
    record(env, entry_body(1), team["a"], team["b"])

    # The verifier, on its own database, follows the issuer app's stored documents; the
    # trust list naming the issuer's key comes from a root it pins.
    root = signer(kid="root-1")
    trust = dataclasses.replace(env.trust, sequence=1)
    trust_token = sign_trust_list(trust, root)
    root_file = tmp_path / "root.jwks.json"
    root_file.write_text(json.dumps({"keys": [root.public_key().to_jwk()]}))
    key = team["verifier"]["Authorization"].removeprefix("Bearer ")

    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.raw_path.decode("ascii"))
        if str(request.url) == TRUST_URL:
            return httpx.Response(200, text=trust_token)
        headers = {"Authorization": request.headers.get("authorization", "")}
        r = env.client.get(request.url.raw_path.decode("ascii"), headers=headers)
        return httpx.Response(r.status_code, content=r.content)

    settings = settings_for(
        f"sqlite:///{tmp_path / 'verifier.db'}",
        root_file,
        issuers=(IssuerSource(base_url=env.settings.public_url, api_key=key),),
    )
    http = httpx.Client(transport=httpx.MockTransport(handler))
    verifier = create_verifier(settings, http=http, background_sync=False)
    syncer = verifier.state.verifier.syncer
    store = verifier.state.verifier.store
    what = "restrictions " + env.settings.public_url
    try:
        report = syncer.run_once()
        assert report.by_what()[what].outcome == "updated", report.outcomes
        held = store.current().restrictions
        assert held.category_for(certificate_number=first["certificate_number"]) == "revoked"
        assert held.category_for(certificate_number=second["certificate_number"]) is None

        # A later restriction reaches it through the stored change pages, not a snapshot.
        record(env, entry_body(2, category="lost"), team["a"], team["b"])
        asked.clear()
        n = len(rows(env, "SELECT name FROM restriction_document"))
        report = syncer.run_once()
        assert report.by_what()[what].outcome == "updated", report.outcomes
        held = store.current().restrictions
        assert held.category_for(certificate_number=second["certificate_number"]) == "lost"
        assert len(rows(env, "SELECT name FROM restriction_document")) == n  # GETs stored nothing
        restricted = [p for p in asked if p.startswith("/api/v1/restrictions/")]
        assert restricted == [
            "/api/v1/restrictions/changes?after=1",
            "/api/v1/restrictions/changes?after=2",
        ]
    finally:
        http.close()


def test_replicas_publishing_at_once_sign_the_restricted_list_once(
    issuer_env: IssuerHarness, team: dict[str, dict[str, str]]
) -> None:
    import threading

    env = issuer_env
    record(env, entry_body(1), team["a"], team["b"])
    record(env, entry_body(2, category="lost"), team["b"], team["a"])
    with Session(env.engine) as session:  # as after the upgrade: nothing published yet
        session.execute(restriction_publication._DOC.delete())
        session.commit()
    at = dt.datetime.now(dt.UTC)
    barrier = threading.Barrier(4)
    results: list[bool] = []

    def replica() -> None:
        barrier.wait()
        with Session(env.engine) as session:
            done = restriction_publication.publish_restrictions(
                session, signer=env.signer, settings=env.settings, now=at
            )
        results.append(done)

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    docs = {r["name"]: r for r in rows(env, "SELECT * FROM restriction_document")}
    assert set(docs) == {"snapshot", "after:0", "after:1", "after:2"}
    assert {d["iat"] for d in docs.values()} == {int(at.timestamp())}
