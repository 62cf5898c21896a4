"""Signed audit checkpoints and the full audit check: the first changed record is named
whatever column changed, and deleted records, deleted tails, rewritten stretches and forged
checkpoints are found (each test on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import PublicKey, encode_jws
from issuer.audit.chain import record_hash
from issuer.audit.check import (
    CHECKPOINT_TYP,
    AuditReport,
    ChainBroken,
    verify_audit,
    write_checkpoint,
)
from issuer.db.models import AuditCheckpoint, AuditRecord
from tests.factory import signer
from tests.factory.issuer import IssuerHarness, application

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


def _issue(env: IssuerHarness, n: int, start: int = 100) -> None:
    for i in range(n):
        r = env.issue(application(start + i))
        assert r.status_code == 201, r.text


def _checkpoint(env: IssuerHarness, *, key=None, now: dt.datetime = NOW) -> AuditCheckpoint:
    with Session(env.engine) as session:
        cp = write_checkpoint(
            session, signer=key or env.signer, office_id=env.settings.office_id, now=now
        )
        session.refresh(cp)
        session.expunge(cp)
        return cp


def _base(env: IssuerHarness) -> int:
    """Return how many audit records exist before a test's own (e.g. the office's creation
    when the app starts)."""
    with env.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT seq FROM audit_head WHERE id = 1")).scalar_one())


def _keys(env: IssuerHarness) -> list[PublicKey]:
    return [env.signer.public_key()]


def _verify(env: IssuerHarness, keys: list[PublicKey] | None = None) -> AuditReport:
    with Session(env.engine) as session:
        return verify_audit(
            session, public_keys=keys or _keys(env), office_id=env.settings.office_id
        )


def _edit(env: IssuerHarness, seq: int, change: Callable[[AuditRecord], None]) -> None:
    with Session(env.engine) as session:
        rec = session.get(AuditRecord, seq)
        assert rec is not None
        change(rec)
        session.commit()


def _sql(env: IssuerHarness, statement: str, **params: object) -> None:
    with env.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def _rehash(rec: AuditRecord) -> None:
    rec.hash = record_hash(
        seq=rec.id,
        at=rec.at,
        actor=rec.actor,
        action=rec.action,
        subject=rec.subject,
        detail=json.loads(rec.detail_json),
        prev_hash=rec.prev_hash,
    )


def _flip_last(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


# one changed byte (or tick) in each column of record 4
COLUMN_CHANGES: dict[str, Callable[[AuditRecord], None]] = {
    "actor": lambda r: setattr(r, "actor", _flip_last(r.actor)),
    "action": lambda r: setattr(r, "action", r.action.replace("issued", "issuee")),
    "subject": lambda r: setattr(r, "subject", _flip_last(r.subject)),
    "detail_json": lambda r: setattr(
        r, "detail_json", r.detail_json.replace('"version":1', '"version":2')
    ),
    "at": lambda r: setattr(r, "at", r.at + dt.timedelta(seconds=1)),
    "prev_hash": lambda r: setattr(r, "prev_hash", _flip_last(r.prev_hash)),
    "hash": lambda r: setattr(r, "hash", _flip_last(r.hash)),
}


def test_an_intact_trail_with_checkpoints_holds(issuer_env: IssuerHarness) -> None:
    b = _base(issuer_env)
    start = _verify(issuer_env)
    assert start.ok and start.records_checked == b and start.latest_checkpoint_seq is None
    assert "检查点" in start.message_zh  # says that no checkpoint exists yet
    _issue(issuer_env, 3)
    cp = _checkpoint(issuer_env)
    assert cp.audit_seq == b + 3
    _issue(issuer_env, 2, start=110)
    cp2 = _checkpoint(issuer_env, now=NOW + dt.timedelta(minutes=1))
    assert cp2.audit_seq == b + 5
    report = _verify(issuer_env)
    assert report.ok, report
    assert (report.records_checked, report.first_bad_seq, report.reason) == (b + 5, None, None)
    assert report.latest_checkpoint_seq == b + 5 and report.checkpoints_checked == 2
    assert str(b + 5) in report.message("zh") and "holds" in report.message("en")
    # the checkpoint is a JWS of the head, signed by the office key
    from credential import parse_jws

    parsed = parse_jws(cp.signed_jws)
    assert parsed.typ == CHECKPOINT_TYP and parsed.kid == issuer_env.signer.kid
    assert parsed.verify(issuer_env.signer.public_key())
    assert dict(parsed.payload) == {
        "iss": issuer_env.settings.office_id,
        "seq": b + 3,
        "hash": cp.audit_hash,
        "at": "2026-11-29T08:00:00Z",
    }


@pytest.mark.parametrize("column", sorted(COLUMN_CHANGES))
def test_a_changed_byte_in_any_column_names_that_record(
    issuer_env: IssuerHarness, column: str
) -> None:
    b = _base(issuer_env)
    _issue(issuer_env, 3)
    _checkpoint(issuer_env)
    _issue(issuer_env, 3, start=110)
    _edit(issuer_env, b + 4, COLUMN_CHANGES[column])
    report = _verify(issuer_env)
    assert not report.ok
    assert (report.first_bad_seq, report.reason) == (b + 4, "record_changed")
    assert report.records_checked == b + 3
    assert str(b + 4) in report.message_zh and "篡改" in report.message_zh


@pytest.mark.parametrize("with_checkpoint", [False, True])
def test_a_record_rewritten_with_a_recomputed_hash_is_still_named(
    issuer_env: IssuerHarness, with_checkpoint: bool
) -> None:
    b = _base(issuer_env)
    _issue(issuer_env, 3)
    if with_checkpoint:
        _checkpoint(issuer_env)
    _issue(issuer_env, 3, start=110)

    def rewrite(rec: AuditRecord) -> None:
        rec.actor = "officer:nobody"
        _rehash(rec)

    _edit(issuer_env, b + 3, rewrite)  # its successor still names its old hash
    report = _verify(issuer_env)
    assert (report.ok, report.first_bad_seq) == (False, b + 3)


def test_a_successor_rewritten_to_point_at_a_changed_hash_is_named(
    issuer_env: IssuerHarness,
) -> None:
    b = _base(issuer_env)
    _issue(issuer_env, 6)

    def repoint(rec: AuditRecord) -> None:
        rec.prev_hash = "f" * 64
        _rehash(rec)

    _edit(issuer_env, b + 4, repoint)  # it holds by itself; its successor names its old hash
    report = _verify(issuer_env)
    assert (report.ok, report.first_bad_seq, report.reason) == (False, b + 4, "record_changed")


def test_a_deleted_middle_record_is_named(issuer_env: IssuerHarness) -> None:
    b = _base(issuer_env)
    _issue(issuer_env, 5)
    _sql(issuer_env, "DELETE FROM audit_record WHERE id = :i", i=b + 3)
    report = _verify(issuer_env)
    assert (report.ok, report.first_bad_seq, report.reason) == (False, b + 3, "record_missing")
    assert report.records_checked == b + 2


def test_a_deleted_tail_is_found_from_the_head_row(issuer_env: IssuerHarness) -> None:
    b = _base(issuer_env)
    _issue(issuer_env, 5)
    _sql(issuer_env, "DELETE FROM audit_record WHERE id >= :i", i=b + 4)
    report = _verify(issuer_env)
    assert (report.ok, report.first_bad_seq, report.reason) == (False, b + 4, "tail_deleted")


def test_a_deleted_tail_with_a_repaired_head_is_found_from_the_checkpoint(
    issuer_env: IssuerHarness,
) -> None:
    b = _base(issuer_env)
    _issue(issuer_env, 5)
    _checkpoint(issuer_env)
    with issuer_env.engine.connect() as conn:
        h3 = conn.execute(
            sa.text("SELECT hash FROM audit_record WHERE id = :i"), {"i": b + 3}
        ).scalar_one()
    _sql(issuer_env, "DELETE FROM audit_record WHERE id >= :i", i=b + 4)
    _sql(issuer_env, "UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1", s=b + 3, h=h3)
    report = _verify(issuer_env)
    assert (report.ok, report.first_bad_seq, report.reason) == (False, b + 4, "tail_deleted")
    assert report.latest_checkpoint_seq == b + 5
    assert "checkpoint" in report.message_en and "检查点" in report.message_zh


def test_a_wholly_rewritten_chain_disagrees_with_its_checkpoint(
    issuer_env: IssuerHarness,
) -> None:
    b = _base(issuer_env)
    _issue(issuer_env, 2)
    _checkpoint(issuer_env)
    _issue(issuer_env, 3, start=110)
    _checkpoint(issuer_env, now=NOW + dt.timedelta(minutes=1))
    # rewrite the last three records and relink them, head included: only the checkpoint knows
    with Session(issuer_env.engine) as session:
        prev = session.get(AuditRecord, b + 2).hash  # type: ignore[union-attr]
        for seq in (b + 3, b + 4, b + 5):
            rec = session.get(AuditRecord, seq)
            assert rec is not None
            if seq == b + 3:
                rec.actor = "officer:nobody"
            rec.prev_hash = prev
            _rehash(rec)
            prev = rec.hash
            session.flush()
        session.commit()
    _sql(issuer_env, "UPDATE audit_head SET hash = :h WHERE id = 1", h=prev)
    report = _verify(issuer_env)
    assert (report.ok, report.first_bad_seq, report.reason) == (False, b + 3, "chain_rewritten")


def test_forged_and_altered_checkpoints_are_found(issuer_env: IssuerHarness) -> None:
    b = _base(issuer_env)
    _issue(issuer_env, 3)
    _checkpoint(issuer_env)
    impostor = signer(kid=issuer_env.signer.kid)  # same kid, another key
    _checkpoint(issuer_env, key=impostor)
    report = _verify(issuer_env)
    assert (report.ok, report.reason, report.first_bad_seq) == (False, "checkpoint_forged", None)
    assert [p.checkpoint_id for p in report.problems] == [2]
    assert report.latest_checkpoint_seq == b + 3  # the genuine one still counts

    _sql(issuer_env, "DELETE FROM audit_checkpoint WHERE id = 2")
    assert _verify(issuer_env).ok
    # a genuine signature over other claims than the row says
    _sql(issuer_env, "UPDATE audit_checkpoint SET audit_seq = :s", s=b + 2)
    assert _verify(issuer_env).reason == "checkpoint_forged"
    # a checkpoint claiming a tail that never existed, signed with an unknown key
    token = encode_jws(
        {"typ": CHECKPOINT_TYP},
        {"iss": issuer_env.settings.office_id, "seq": 9, "hash": "0" * 64, "at": "x"},
        signer(kid="11001-9"),
    )
    with Session(issuer_env.engine) as session:
        session.add(AuditCheckpoint(audit_seq=9, audit_hash="0" * 64, signed_jws=token, at=NOW))
        session.commit()
    report = _verify(issuer_env)
    assert report.reason == "checkpoint_forged" and report.latest_checkpoint_seq is None


def test_a_checkpoint_signed_after_its_key_was_compromised_is_not_trusted(
    issuer_env: IssuerHarness,
) -> None:
    _issue(issuer_env, 2)
    _checkpoint(issuer_env, now=NOW)
    _checkpoint(issuer_env, now=NOW + dt.timedelta(hours=2))
    compromised = issuer_env.signer.public_key(
        compromised_at=int((NOW + dt.timedelta(hours=1)).timestamp())
    )
    report = _verify(issuer_env, [compromised])
    assert report.reason == "checkpoint_forged"
    assert [p.checkpoint_id for p in report.problems] == [2]


def test_no_checkpoint_is_signed_over_a_broken_chain(issuer_env: IssuerHarness) -> None:
    b = _base(issuer_env)
    _issue(issuer_env, 3)
    _checkpoint(issuer_env)
    _issue(issuer_env, 2, start=110)
    _sql(issuer_env, "UPDATE audit_record SET actor = 'x' WHERE id = :i", i=b + 4)
    with pytest.raises(ChainBroken) as caught:
        _checkpoint(issuer_env)
    assert caught.value.report.first_bad_seq == b + 4
    with issuer_env.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_checkpoint")).scalar_one() == 1


def test_the_api_signs_checkpoints_and_reports_the_check(issuer_env: IssuerHarness) -> None:
    b = _base(issuer_env)
    _issue(issuer_env, 2)
    auth = {"Authorization": issuer_env.headers()["Authorization"]}
    r = issuer_env.client.post("/api/v1/audit/checkpoints", headers=auth)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["seq"], body["kid"]) == (b + 2, issuer_env.signer.kid)
    r = issuer_env.client.get("/api/v1/audit/verify", headers=auth)
    assert r.status_code == 200
    assert r.json()["ok"] is True and r.json()["latest_checkpoint_seq"] == b + 2

    _sql(issuer_env, "UPDATE audit_record SET subject = 'x' WHERE id = 1")
    r = issuer_env.client.get("/api/v1/audit/verify", headers=auth)
    got = r.json()
    assert (got["ok"], got["first_bad_seq"], got["reason"]) == (False, 1, "record_changed")
    assert got["problems"][0]["seq"] == 1
    # a new checkpoint re-checks what it vouches for: the records since the last one
    _issue(issuer_env, 1, start=120)
    _sql(issuer_env, "UPDATE audit_record SET subject = 'x' WHERE id = :i", i=b + 3)
    r = issuer_env.client.post("/api/v1/audit/checkpoints", headers=auth)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")

    for method, path in (("get", "/api/v1/audit/verify"), ("post", "/api/v1/audit/checkpoints")):
        assert getattr(issuer_env.client, method)(path).status_code == 401
