"""Signing ahead: while chunk N is written the pool signs chunk N+1, and ``issue_file``
signs the first chunk while the file is still validated. A guess another writer made
wrong is thrown away and signed again; numbers stay distinct and gapless.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import csv
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer import batches, issuance
from issuer.audit.chain import verify_chain
from issuer.batches import run as batch_run
from issuer.batches.bulk import StatusIndices
from issuer.batches.reading import read_batch
from issuer.batches.signing import Job
from issuer.db.models import AuditRecord, Batch, BatchItem, Certificate
from tests.factory import APPLICANTS_CSV
from tests.factory.issuer import IssuerHarness, count_rows, verify_sample, xlsx_from_csv


def _issue_by_hand(issuer_env: IssuerHarness, k: int) -> str:
    """Issue a person of applicant ``k``'s qualification (not in the shared file, which the
    batch certifies) as a clerk would, one at a time; return its number."""
    from issuer.issuance import CertificateCreate
    from tests.factory.issuer import distinct_application

    body = distinct_application(1000 + k, certified_on="2026-06-30")
    with Session(issuer_env.engine) as s:
        got = issuance.issue_certificate(
            s,
            request=CertificateCreate(**body),
            signer=issuer_env.signer,
            settings=issuer_env.settings,
            actor="clerk",
            now=dt.datetime.now(dt.UTC),
        )
    return got.certificate_number


def test_the_look_ahead_is_used_and_discarded_when_another_writer_moves_first(
    issuer_env: IssuerHarness,
) -> None:
    """The pool signs chunk N+1 while chunk N is written, numbered as if nobody else
    issued. A certificate issued between two chunks makes that guess wrong: the guess is
    thrown away and the chunk re-signed, and every number stays distinct and gapless."""

    engine, settings = issuer_env.engine, issuer_env.settings
    with Session(engine) as s:
        opened = batches.open_batch(
            s,
            data=APPLICANTS_CSV.read_bytes(),
            filename="a.csv",
            settings=settings,
            actor="test",
            now=dt.datetime.now(dt.UTC),
        )
    singles: list[str] = []

    def meanwhile(done: int, total: int) -> None:
        if done in (200, 600):  # between chunks: a clerk issues one certificate by hand
            singles.append(_issue_by_hand(issuer_env, 900 + len(singles)))

    timing = batches.Timing()
    batches.run_batch(
        engine,
        batch_id=opened.batch.id,
        rows=opened.rows,
        signer=issuer_env.signer,
        settings=settings,
        actor="test",
        now_fn=lambda: dt.datetime.now(dt.UTC),
        chunk=200,
        workers=2,
        start_method="fork",
        progress=meanwhile,
        timing=timing,
    )
    assert len(singles) == 2
    # 200 x 4, then the last 200 tapered (100, 50, 25, 25): every chunk but the first is
    # signed ahead, and the two after a hand-issued certificate are re-signed
    assert timing.chunks == 8, timing
    assert timing.ahead_missed == 2 and timing.ahead_used == 5, timing
    with Session(engine) as s:
        rows = s.execute(sa.select(Certificate.certificate_number, Certificate.serial)).all()
        assert verify_chain(s) is None
    assert len(rows) == 1002 and len({n for n, _ in rows}) == 1002
    assert sorted(serial for _, serial in rows) == list(range(1, 1003))
    numbers = [n for n, _ in rows if n not in singles]
    verify_sample(issuer_env, numbers, k=30)


def test_still_free_sees_a_taken_status_index(issuer_env: IssuerHarness) -> None:
    """The look-ahead's check of its status indices (a plain SELECT) answers False when
    any of them is held by a certificate, True when none is."""
    from issuer.issuance import CertificateCreate
    from tests.factory.issuer import application

    engine, settings = issuer_env.engine, issuer_env.settings
    with Session(engine) as s:
        issuance.issue_certificate(
            s,
            request=CertificateCreate(**application(1, certified_on="2026-06-30")),
            signer=issuer_env.signer,
            settings=settings,
            actor="clerk",
            now=dt.datetime.now(dt.UTC),
        )
    with Session(engine) as s:
        list_id, taken = s.execute(
            sa.select(Certificate.status_list_id, Certificate.status_idx)
        ).one()
        row = read_batch(APPLICANTS_CSV.read_bytes(), filename="a.csv").rows[0]
        free = [Job(row, 1, list_id, "u", i) for i in range(taken + 1, taken + 40)]
        indices = StatusIndices(settings)
        assert indices.still_free(s, free)
        assert not indices.still_free(s, [*free, Job(row, 1, list_id, "u", taken)])
        assert indices.still_free(s, [Job(row, 1, list_id + 1, "u", taken)])


# --- issue_file: the first chunk signed while the file is validated ----------------------


def _issue_file(issuer_env: IssuerHarness, data: bytes, **kw):
    engine, settings = issuer_env.engine, issuer_env.settings
    timing = batches.Timing()
    batch = batches.issue_file(
        engine,
        data=data,
        filename=kw.pop("filename", "round.csv"),
        signer=issuer_env.signer,
        settings=settings,
        actor="test",
        now_fn=kw.pop("now_fn", lambda: dt.datetime.now(dt.UTC)),
        workers=2,
        start_method="fork",
        timing=timing,
        **kw,
    )
    return batch, timing


def test_issue_file_signs_the_first_chunk_before_the_file_is_validated(
    issuer_env: IssuerHarness,
) -> None:
    """The pool's workers are running and the first chunk signed ahead before issuing
    starts; that chunk's signatures are the ones stored, and they verify."""
    import multiprocessing

    seen: list[tuple[int, int]] = []

    def opened(ob: batches.OpenedBatch) -> None:  # validated; nothing issued yet
        seen.append((len(multiprocessing.active_children()), count_rows(issuer_env, Certificate)))

    batch, timing = _issue_file(issuer_env, APPLICANTS_CSV.read_bytes(), chunk=200, opened=opened)
    assert seen and seen[0][0] >= 2 and seen[0][1] == 0, seen
    assert batch.state == "done" and batch.issued_rows == 1000
    # 200 x 4 and the last 200 tapered: every chunk, the first included, signed ahead
    assert timing.chunks == 8 and timing.ahead_used == 8 and timing.ahead_missed == 0, timing
    with Session(issuer_env.engine) as s:
        rows = s.execute(sa.select(Certificate.certificate_number, Certificate.serial)).all()
        assert verify_chain(s) is None
        assert count_rows(issuer_env, AuditRecord) == 1000
    assert sorted(serial for _, serial in rows) == list(range(1, 1001))
    verify_sample(issuer_env, [n for n, _ in rows], k=30)


def test_a_head_start_voided_by_a_certificate_issued_meanwhile_is_signed_again(
    issuer_env: IssuerHarness,
) -> None:
    """A clerk issues one certificate between validation and issuing: the first chunk's
    guessed serials are taken, so it is signed again; numbers stay distinct and gapless."""
    singles: list[str] = []

    def opened(ob: batches.OpenedBatch) -> None:
        singles.append(_issue_by_hand(issuer_env, 901))

    batch, timing = _issue_file(issuer_env, APPLICANTS_CSV.read_bytes(), chunk=200, opened=opened)
    assert batch.issued_rows == 1000 and len(singles) == 1
    assert timing.ahead_missed == 1 and timing.ahead_used == 7, timing
    with Session(issuer_env.engine) as s:
        rows = s.execute(sa.select(Certificate.certificate_number, Certificate.serial)).all()
        assert verify_chain(s) is None
    assert len({n for n, _ in rows}) == 1001
    assert sorted(serial for _, serial in rows) == list(range(1, 1002))
    verify_sample(issuer_env, [n for n, _ in rows if n not in singles], k=30)


def test_a_head_start_voided_by_a_restricted_person_issues_every_other_row(
    issuer_env: IssuerHarness,
) -> None:
    """A person in the first chunk is on the restricted list: that is found only after the
    whole file is read, so the chunk signed ahead (with that row) is thrown away; the
    row is reported and every other row issued, none of them twice."""
    from tests.factory.issuer import restrict

    with APPLICANTS_CSV.open(encoding="utf-8") as f:
        barred = list(csv.DictReader(f))[3]  # row 5 of the file
    restrict(issuer_env, barred, category="lost", bar_until=None)
    batch, timing = _issue_file(issuer_env, APPLICANTS_CSV.read_bytes(), chunk=200)
    assert batch.valid_rows == 999 and batch.issued_rows == 999
    assert [(e.row_number, e.code) for e in batches.batch_errors(batch)] == [(5, "restricted")]
    assert timing.ahead_missed == 1, timing
    with Session(issuer_env.engine) as s:
        items = s.execute(sa.select(BatchItem.row_number)).scalars().all()
        assert verify_chain(s) is None
    assert len(items) == 999 and 5 not in items and len(set(items)) == 999
    assert count_rows(issuer_env, Certificate) == 999


def test_a_file_refused_after_the_head_start_leaves_no_batch_and_no_worker(
    issuer_env: IssuerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An XLSX is counted while it is validated: one over the row limit is refused after
    the first chunk was already being signed. Nothing is issued, the batch row is gone and
    the pool is shut."""
    import multiprocessing

    from issuer.batches.reading import BatchFileError

    started: list[object] = []
    real = batch_run._head_start

    def head_start(*args, **kw):
        started.append(got := real(*args, **kw))
        return got

    monkeypatch.setattr(batch_run, "_head_start", head_start)
    with APPLICANTS_CSV.open(encoding="utf-8") as f:
        head = "".join(f.readline() for _ in range(31))
    with pytest.raises(BatchFileError) as caught:
        _issue_file(
            issuer_env,
            xlsx_from_csv(head.encode("utf-8")),
            filename="round.xlsx",
            chunk=10,
            max_rows=25,
        )
    assert caught.value.code == "too_many_rows"
    assert len(started) == 1 and isinstance(started[0], batch_run._Head), started
    assert count_rows(issuer_env, Certificate) == 0 and count_rows(issuer_env, Batch) == 0
    assert multiprocessing.active_children() == []


def test_a_head_start_signed_long_before_issuing_is_signed_again(
    issuer_env: IssuerHarness,
) -> None:
    """A first chunk signed while a long file validated would carry a signing time long
    before its issuance: past _HEAD_MAX_AGE it is signed again at issuing time."""
    clock = [dt.datetime.now(dt.UTC)]

    def opened(ob: batches.OpenedBatch) -> None:  # a long file took this long to read
        clock[0] += batch_run._HEAD_MAX_AGE + dt.timedelta(seconds=2)

    after = clock[0] + batch_run._HEAD_MAX_AGE
    batch, timing = _issue_file(
        issuer_env,
        APPLICANTS_CSV.read_bytes(),
        chunk=200,
        opened=opened,
        now_fn=lambda: clock[0],
    )
    assert batch.issued_rows == 1000
    assert timing.ahead_missed == 1 and timing.ahead_used == 7, timing
    with Session(issuer_env.engine) as s:
        created = s.execute(sa.select(Certificate.created_at)).scalars().all()
    assert len(created) == 1000
    assert min(c.replace(tzinfo=dt.UTC) if c.tzinfo is None else c for c in created) > after
