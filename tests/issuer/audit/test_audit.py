"""Every issuance writes one audit record in its own transaction, hash-chained."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import canonical_json
from issuer.audit.chain import GENESIS_HASH, verify_chain
from issuer.db.models import AuditRecord
from tests.factory.issuer import IssuerHarness, application


def _issue(env: IssuerHarness, n: int) -> list[str]:
    numbers = []
    for i in range(n):
        r = env.issue(application(10 + i))
        assert r.status_code == 201, r.text
        numbers.append(r.json()["certificate_number"])
    return numbers


def test_one_record_per_issuance_each_linked_to_the_previous(issuer_env: IssuerHarness) -> None:
    numbers = _issue(issuer_env, 5)
    with Session(issuer_env.engine) as session:
        records = session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)).all()
    assert [r.id for r in records] == [1, 2, 3, 4, 5]
    assert [r.subject for r in records] == numbers
    assert {r.action for r in records} == {"certificate.issued"}
    assert [json.loads(r.detail_json)["certificate_number"] for r in records] == numbers
    prev = GENESIS_HASH
    for r in records:
        assert r.prev_hash == prev
        assert r.at.tzinfo is dt.UTC  # read back aware UTC on both databases
        body = {
            "seq": r.id,
            "at": r.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": r.actor,
            "action": r.action,
            "subject": r.subject,
            "detail": json.loads(r.detail_json),
            "prev_hash": prev,
        }
        assert r.hash == hashlib.sha256(prev.encode() + canonical_json(body)).hexdigest()
        prev = r.hash
    with Session(issuer_env.engine) as session:
        assert verify_chain(session) is None


def test_a_changed_record_and_a_deleted_tail_are_found(issuer_env: IssuerHarness) -> None:
    _issue(issuer_env, 4)
    with issuer_env.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_record SET actor = 'someone-else' WHERE id = 3"))
    with Session(issuer_env.engine) as session:
        assert verify_chain(session) == 3
    with issuer_env.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_record WHERE id >= 3"))
    with Session(issuer_env.engine) as session:
        assert verify_chain(session) == 3  # the head still names record 4


def test_a_failed_issuance_leaves_no_audit_record(issuer_env: IssuerHarness) -> None:
    _issue(issuer_env, 1)
    assert issuer_env.issue(application(1, name="")).status_code == 422
    with issuer_env.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_record")).scalar_one() == 1
    with Session(issuer_env.engine) as session:
        assert verify_chain(session) is None


def test_append_many_chains_as_one_append_per_record_would(issuer_env: IssuerHarness) -> None:
    """A step that audits many subjects at once (a batch's claim codes) writes the chain
    ``append`` would: consecutive numbers after the head, each hash over the previous one,
    the head left at the last; the chain still verifies, and appends go on after it."""
    from issuer.audit.chain import append, append_many, record_hash
    from issuer.db import write

    at = dt.datetime(2026, 12, 5, 9, 30, tzinfo=dt.UTC)
    _issue(issuer_env, 1)
    with Session(issuer_env.engine) as s:
        with write(s):
            append_many(
                s,
                actor="t",
                action="holder.claim_code_issued",
                records=[(f"n{i}", {"i": i, "名": "林芳"}) for i in range(3)],
                at=at,
            )
        with write(s):
            append(s, actor="t", action="after", subject="x", detail={}, at=at)
        records = list(s.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)))
        assert verify_chain(s) is None
    mine = [r for r in records if r.action == "holder.claim_code_issued"]
    assert [r.subject for r in mine] == ["n0", "n1", "n2"]
    assert [r.id for r in mine] == [mine[0].id, mine[0].id + 1, mine[0].id + 2]
    for before, r in itertools.pairwise(records):
        assert r.prev_hash == before.hash
    for i, r in enumerate(mine):
        assert r.hash == record_hash(
            seq=r.id,
            at=at,
            actor="t",
            action=r.action,
            subject=f"n{i}",
            detail={"i": i, "名": "林芳"},
            prev_hash=r.prev_hash,
        )
    assert records[-1].action == "after" and records[-1].id == mine[-1].id + 1
