"""The restore's reconcile gate (issuer.db.allowance.RECONCILE_GATE): while it is set no
status list is signed, served or exported, every refusal names the command, and
``reconcile_status`` / ``none_published`` clear it. The whole procedure (restore, backup,
reconcile, publish) is tests/jiaozi/backup/test_backup_drill.py; here the gate row is set directly.

Every test with ``issuer_env`` runs on SQLite and on PostgreSQL (see conftest.py)."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer import lifecycle
from issuer.db import tables
from issuer.db.allowance import RECONCILE_GATE, reconcile_needed
from issuer.errors import Conflict, ReconcileNeeded
from issuer.lifecycle.reconcile import NONE_PUBLISHED, RECONCILE_DONE
from tests.factory.issuer import DECISION, IssuerHarness, issue, list_value, officer, post, rows

COMMAND = "jiaozi issuer reconcile-status --published"


def _set_gate(env: IssuerHarness) -> None:
    with env.engine.begin() as conn:
        conn.execute(sa.insert(tables.EVENT_HEAD).values(name=RECONCILE_GATE, seq=1))


def _signed(env: IssuerHarness) -> dict[int, tuple[int, int | None]]:
    """Return each list's (revision, signed revision)."""
    got = rows(env, "SELECT id, revision, signed_revision FROM status_list")
    return {r["id"]: (r["revision"], r["signed_revision"]) for r in got}


def _publish(env: IssuerHarness, session: Session) -> lifecycle.Publication:
    return lifecycle.publish_all(
        session, signer=env.signer, settings=env.settings, now=dt.datetime.now(dt.UTC)
    )


def _audited(env: IssuerHarness, action: str) -> list[dict[str, object]]:
    got = rows(env, f"SELECT detail_json FROM audit_record WHERE action = '{action}'")
    return [json.loads(str(r["detail_json"])) for r in got]


def test_while_set_nothing_signs_serves_or_exports_and_each_names_the_command(
    issuer_env: IssuerHarness, caplog: pytest.LogCaptureFixture
) -> None:
    sup = officer(issuer_env, "sup-gate", "supervisor")
    cert = issue(issuer_env, 1)
    _set_gate(issuer_env)
    before = _signed(issuer_env)

    # An officer's status change waits for the reconcile (which would overwrite it).
    number = cert["certificate_number"]
    r = post(issuer_env, f"/api/v1/certificates/{number}/suspend", DECISION, sup)
    assert r.status_code == 503, r.text
    assert r.json()["type"].endswith("reconcile_needed")
    assert "reconcile-status --published" in r.json()["detail"]
    held = rows(issuer_env, f"SELECT status FROM certificate WHERE certificate_number = '{number}'")
    assert [r["status"] for r in held] == ["valid"]  # nothing changed
    # An issuance commits (it is the database's to hold) but its list is not signed.
    with caplog.at_level(logging.WARNING):
        issue(issuer_env, 2)
    assert "Traceback" not in caplog.text  # a step to take, not a fault
    ((list_id, (revision, signed)),) = _signed(issuer_env).items()
    assert signed == before[list_id][1] and revision == before[list_id][0]
    assert len(rows(issuer_env, "SELECT id FROM certificate")) == 2  # the issuance held

    path = cert["status_list"]["uri"].removeprefix("http://testserver")
    got = issuer_env.client.get(path)
    assert got.status_code == 503, got.text
    assert got.json()["type"].endswith("reconcile_needed")
    assert "reconcile-status --published" in got.json()["detail"]

    with Session(issuer_env.engine) as session:
        with pytest.raises(ReconcileNeeded, match="reconcile-status") as refused:
            _publish(issuer_env, session)
        assert COMMAND in refused.value.detail
        with pytest.raises(ReconcileNeeded):
            lifecycle.public_artefacts(session, settings=issuer_env.settings)
        assert reconcile_needed(session)
        session.rollback()
    assert _signed(issuer_env)[list_id][1] == signed  # nothing was signed by any of them

    with Session(issuer_env.engine) as session:
        now = dt.datetime.now(dt.UTC)
        assert lifecycle.none_published(
            session, settings=issuer_env.settings, actor="cli:test", now=now
        )
        done = _publish(issuer_env, session)
    assert done.status_lists == []  # no entry changed while the gate was set
    r = post(issuer_env, f"/api/v1/certificates/{number}/suspend", DECISION, sup)
    assert r.status_code == 200, r.text
    assert list_value(issuer_env, cert) == 2  # the suspension, published once reconciled
    assert [d["none_published"] for d in _audited(issuer_env, NONE_PUBLISHED)] == [True]


def test_reconcile_clears_the_gate_when_it_completes_not_when_it_refuses(
    issuer_env: IssuerHarness,
) -> None:
    issue(issuer_env, 1)
    _set_gate(issuer_env)
    now = dt.datetime.now(dt.UTC)
    with Session(issuer_env.engine) as session:
        # no backup.restored record and no --since: refused, nothing changed
        with pytest.raises(Conflict, match=r"records no restore from a backup"):
            lifecycle.reconcile_status(
                session,
                tokens=[],
                trust=issuer_env.trust,
                settings=issuer_env.settings,
                actor="cli:test",
                now=now,
            )
        assert reconcile_needed(session)
        session.rollback()
        done = lifecycle.reconcile_status(
            session,
            tokens=[],
            trust=issuer_env.trust,
            settings=issuer_env.settings,
            actor="cli:test",
            now=now,
            backup_at=int(now.timestamp()) - 60,
        )
        assert done.gate_cleared
        assert not reconcile_needed(session)
        session.rollback()
        again = lifecycle.reconcile_status(
            session,
            tokens=[],
            trust=issuer_env.trust,
            settings=issuer_env.settings,
            actor="cli:test",
            now=now,
            backup_at=int(now.timestamp()) - 60,
        )
        assert not again.gate_cleared
        assert not lifecycle.none_published(
            session, settings=issuer_env.settings, actor="cli:test", now=now
        )
        assert _publish(issuer_env, session).status_lists == []  # nothing due, no refusal
    assert [d["lists_read"] for d in _audited(issuer_env, RECONCILE_DONE)] == [0]
    assert _audited(issuer_env, NONE_PUBLISHED) == []
