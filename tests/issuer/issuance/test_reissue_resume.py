"""Reissue commits per chunk: a crash keeps the finished chunks, a re-run does the rest
exactly once, and issuing goes on meanwhile without breaking the audit chain or the feed
(SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import issuer.issuance.reissue as reissue_module
from issuer.audit.check import verify_audit
from issuer.db.models import Certificate, CertificateVersion, Event
from issuer.issuance import reissue_by_key
from keys import mark_compromised, rotate_office
from tests.factory.reissue import (
    OFFICE,
    T_COMPROMISE,
    T_ISSUE_A,
    T_ISSUE_B,
    T_MARK,
    T_REISSUE,
    T_ROTATE,
    Office,
    at,
)


def _counts(office: Office) -> tuple[int, int, int]:
    with office.engine.connect() as conn:
        versions = conn.execute(sa.select(sa.func.count()).select_from(CertificateVersion))
        events = conn.execute(
            sa.select(sa.func.count()).select_from(Event).where(Event.type == "reissued")
        )
        v2 = conn.execute(
            sa.select(sa.func.count()).select_from(Certificate).where(Certificate.version == 2)
        )
        return versions.scalar_one(), events.scalar_one(), v2.scalar_one()


def _compromise_a(office: Office) -> str:
    kid_a = office.store.active_key(OFFICE, now=T_ISSUE_A).kid
    rotate_office(office.store, OFFICE, now=T_ROTATE)
    mark_compromised(office.store, kid_a, at=T_COMPROMISE, now=T_MARK)
    return kid_a


def test_a_crash_mid_run_keeps_whole_chunks_and_a_rerun_finishes(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        office.issue(200 + i, T_ISSUE_A + i)
    kid_a = _compromise_a(office)
    signer = office.store.active_signer(OFFICE, now=T_REISSUE)

    real_sign = reissue_module.sign_certificate
    calls = {"n": 0}

    def failing_sign(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:  # the first certificate of the second chunk
            raise RuntimeError("power cut")
        return real_sign(*args, **kwargs)

    monkeypatch.setattr(reissue_module, "sign_certificate", failing_sign)
    with Session(office.engine) as session, pytest.raises(RuntimeError, match="power cut"):
        reissue_by_key(
            session,
            kid=kid_a,
            signer=signer,
            settings=office.settings,
            actor="cli:test",
            now=at(T_REISSUE),
            chunk_size=2,
        )
    assert _counts(office) == (2, 2, 2)

    monkeypatch.setattr(reissue_module, "sign_certificate", real_sign)
    with Session(office.engine) as session:
        done = reissue_by_key(
            session,
            kid=kid_a,
            signer=signer,
            settings=office.settings,
            actor="cli:test",
            now=at(T_REISSUE + 60),
            chunk_size=2,
        )
        assert done == 3
        assert verify_audit(session, public_keys=office.store.public_keys(OFFICE)).ok
    assert _counts(office) == (5, 5, 5)
    assert {r.kid for r in office.rows().values()} == {signer.kid}


def test_issuing_goes_on_while_a_reissue_runs(office: Office) -> None:
    for i in range(6):
        office.issue(300 + i, T_ISSUE_A + i)
    kid_a = _compromise_a(office)
    signer = office.store.active_signer(OFFICE, now=T_REISSUE)
    errors: list[Exception] = []
    issued: list[str] = []

    def issue_more() -> None:
        try:
            for i in range(8):
                issued.append(office.issue(320 + i, T_ISSUE_B + 600 + i))
        except Exception as exc:  # reported below
            errors.append(exc)

    worker = threading.Thread(target=issue_more)
    worker.start()
    with Session(office.engine) as session:
        done = reissue_by_key(
            session,
            kid=kid_a,
            signer=signer,
            settings=office.settings,
            actor="cli:test",
            now=at(T_REISSUE),
            chunk_size=1,
        )
    worker.join()
    assert not errors, errors
    assert done == 6 and len(issued) == 8
    rows = office.rows()
    assert len(rows) == 14
    assert sorted(r.version for r in rows.values()) == [1] * 8 + [2] * 6
    with Session(office.engine) as session:
        report = verify_audit(session, public_keys=office.store.public_keys(OFFICE))
        assert report.ok and report.records_checked == 6 + 8 + 6, report
        seqs = session.scalars(sa.select(Event.seq).order_by(Event.seq)).all()
        assert seqs == list(range(1, len(seqs) + 1))
