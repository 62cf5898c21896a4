"""Publication (issue 12 point 6): status lists are signed when they change and by the
publication job before they go stale, never inside a public GET; the job is idempotent and
safe with concurrent runs."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

import pytest
from sqlalchemy.orm import Session

from credential import Signer, load_status_list
from issuer import issuance, lifecycle
from issuer.lifecycle.publication import JWKS, TRUST_LIST, jwks_body
from tests.factory.issuer import (
    DECISION,
    IssuerHarness,
    issue,
    list_value,
    officer,
    post,
    rows,
)


def _no_signing() -> Signer:
    raise AssertionError("a public GET asked for the signing key")


def _stored(env: IssuerHarness) -> dict[str, Any]:
    (row,) = rows(
        env, "SELECT id, revision, signed_revision, signed_token, signed_at FROM status_list"
    )
    return row


def _iat(env: IssuerHarness, token: str, uri: str) -> int:
    return load_status_list(token, env.trust, expected_uri=uri).issued_at


def test_issuing_publishes_the_new_list_at_once(issuer_env: IssuerHarness) -> None:
    cert = issue(issuer_env, 1)
    row = _stored(issuer_env)  # no GET has happened
    assert row["signed_token"] is not None
    assert row["signed_revision"] == row["revision"]
    uri = cert["status_list"]["uri"]
    snap = load_status_list(row["signed_token"], issuer_env.trust, expected_uri=uri)
    assert snap.status_list.get(cert["status_list"]["idx"]) == 0


def test_a_status_change_publishes_a_newly_signed_list_at_once(
    issuer_env: IssuerHarness,
) -> None:
    sup = officer(issuer_env, "sup-a", "supervisor")
    cert = issue(issuer_env, 1)
    before = _stored(issuer_env)["signed_token"]
    number = cert["certificate_number"]
    r = post(issuer_env, f"/api/v1/certificates/{number}/suspend", DECISION, sup)
    assert r.status_code == 200, r.text
    after = _stored(issuer_env)
    assert after["signed_token"] != before
    assert after["signed_revision"] == after["revision"] == 1
    issuer_env.app.state.signer_provider = _no_signing  # from here on nothing may sign
    assert list_value(issuer_env, cert) == 2  # the GET serves the stored, suspended list


def test_a_public_get_never_signs_and_serves_an_expired_token_as_it_is(
    issuer_env: IssuerHarness, caplog: pytest.LogCaptureFixture
) -> None:
    cert = issue(issuer_env, 1)
    path = cert["status_list"]["uri"].removeprefix("http://testserver")
    # The job has been down for two days: the stored token is past its exp.
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    with issuer_env.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE status_list SET signed_at = NULL")
    with Session(issuer_env.engine) as session:
        expired = issuance.publish_status_list(
            session, list_id=1, signer=issuer_env.signer, settings=issuer_env.settings, now=old
        )
    issuer_env.app.state.signer_provider = _no_signing
    with caplog.at_level(logging.WARNING, logger="jiaozi.issuer.publication"):
        r = issuer_env.client.get(path)
    assert r.status_code == 200
    assert r.text == expired  # its real exp, not re-signed
    assert r.headers["cache-control"] == "no-cache"
    assert "past its exp" in caplog.text
    for other in ("/.well-known/jwks.json", "/trust-list.jwt", "/statuslists/7"):
        assert issuer_env.client.get(other).status_code in (200, 404)


def test_the_refresher_resigns_before_exp_and_not_otherwise(issuer_env: IssuerHarness) -> None:
    cert = issue(issuer_env, 1)
    uri = cert["status_list"]["uri"]
    settings, key = issuer_env.settings, issuer_env.signer
    signed = _stored(issuer_env)
    t0 = dt.datetime.fromtimestamp(_iat(issuer_env, signed["signed_token"], uri), dt.UTC)
    half = dt.timedelta(seconds=settings.status_ttl_seconds / 2)
    with Session(issuer_env.engine) as session:

        def refresh(at: dt.datetime) -> list[int]:
            return issuance.refresh_status_lists(session, signer=key, settings=settings, now=at)

        assert refresh(t0 + half - dt.timedelta(seconds=1)) == []
        assert _stored(issuer_env)["signed_token"] == signed["signed_token"]
        assert refresh(t0 + half + dt.timedelta(seconds=1)) == [1]
        again = _stored(issuer_env)["signed_token"]
        assert again != signed["signed_token"]
        snap = load_status_list(again, issuer_env.trust, expected_uri=uri)
        assert snap.issued_at == int((t0 + half + dt.timedelta(seconds=1)).timestamp())
        assert snap.expires_at > snap.issued_at + settings.status_ttl_seconds
        assert refresh(t0 + half + dt.timedelta(seconds=2)) == []  # idempotent


def test_an_older_publication_never_replaces_a_newer_one(issuer_env: IssuerHarness) -> None:
    issue(issuer_env, 1)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    settings, key = issuer_env.settings, issuer_env.signer
    with Session(issuer_env.engine) as session:
        newer = issuance.publish_status_list(
            session, list_id=1, signer=key, settings=settings, now=now
        )
        older = issuance.publish_status_list(
            session, list_id=1, signer=key, settings=settings, now=now - dt.timedelta(minutes=1)
        )
    assert older != newer
    assert _stored(issuer_env)["signed_token"] == newer


def test_two_replicas_running_the_job_at_once_leave_one_whole_token(
    issuer_env: IssuerHarness,
) -> None:
    cert = issue(issuer_env, 1)
    uri = cert["status_list"]["uri"]
    later = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    done: list[lifecycle.Publication] = []

    def replica() -> None:
        try:
            with Session(issuer_env.engine) as session:
                start.wait(10)
                done.append(
                    lifecycle.publish_all(
                        session,
                        signer=issuer_env.signer,
                        settings=issuer_env.settings,
                        now=later,
                        public_keys=[issuer_env.signer.public_key()],
                    )
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    # Each signed the list, or found it already signed by the other: never anything else.
    assert len(done) == 2 and {tuple(d.status_lists) for d in done} <= {(1,), ()}
    assert any(d.status_lists == [1] for d in done)
    stored = _stored(issuer_env)
    snap = load_status_list(stored["signed_token"], issuer_env.trust, expected_uri=uri)
    assert snap.issued_at == int(later.timestamp())
    assert stored["signed_revision"] == stored["revision"]
    with Session(issuer_env.engine) as session:
        doc = lifecycle.read_document(session, JWKS)
    assert doc is not None
    assert doc.body == jwks_body([issuer_env.signer.public_key()])


def test_the_job_stores_the_jwks_and_trust_list_only_when_they_change(
    issuer_env: IssuerHarness,
) -> None:
    now = dt.datetime.now(dt.UTC)
    keys = [issuer_env.signer.public_key()]
    with Session(issuer_env.engine) as session:

        def run(trust: str | None) -> lifecycle.Publication:
            return lifecycle.publish_all(
                session,
                signer=issuer_env.signer,
                settings=issuer_env.settings,
                now=now,
                public_keys=keys,
                trust_token=trust,
            )

        first = run(None)
        assert (first.documents, first.skipped) == ([JWKS], [TRUST_LIST])
        assert run("a.b.c").documents == [TRUST_LIST]
        assert run("a.b.c").documents == []  # nothing changed: nothing written
        assert run("d.e.f").documents == [TRUST_LIST]
        doc = lifecycle.read_document(session, TRUST_LIST)
    assert doc is not None and doc.body == b"d.e.f"
