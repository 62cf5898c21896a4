"""One certificate per person and qualification in batches (issue 11, point 6), on
SQLite and PostgreSQL: a corrected copy of a file issues nothing twice, a person twice in
one file is refused on the second row (naming the first), and a person certified meanwhile (by hand or by
another batch) becomes a row error naming that certificate instead of a second one."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer import batches, issuance
from issuer.audit.chain import verify_chain
from issuer.db.models import Batch, BatchItem, Certificate
from issuer.issuance import CertificateCreate
from tests.factory import APPLICANTS_CSV
from tests.factory.issuer import IssuerHarness, application, count_rows


def _file(lines: list[str]) -> bytes:
    header = APPLICANTS_CSV.read_text(encoding="utf-8").splitlines()[0]
    return ("\r\n".join([header, *lines]) + "\r\n").encode("utf-8")


def _shared(n: int) -> list[str]:
    return APPLICANTS_CSV.read_text(encoding="utf-8").splitlines()[1 : n + 1]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _issue_file(env: IssuerHarness, data: bytes, name: str, **kw) -> Batch:
    return batches.issue_file(
        env.engine,
        data=data,
        filename=name,
        signer=env.signer,
        settings=env.settings,
        actor="test",
        now_fn=_now,
        workers=kw.pop("workers", 1),
        **kw,
    )


def _numbers_by_row(env: IssuerHarness, batch_id: int) -> dict[int, str]:
    with Session(env.engine) as s:
        got = s.execute(
            sa.select(BatchItem.row_number, Certificate.certificate_number)
            .join(Certificate, Certificate.id == BatchItem.certificate_id)
            .where(BatchItem.batch_id == batch_id)
        ).all()
    return dict(got)


def test_a_corrected_copy_of_a_300_row_file_refuses_every_row_and_issues_nothing_twice(
    issuer_env: IssuerHarness,
) -> None:
    lines = _shared(300)
    first = _issue_file(issuer_env, _file(lines), "round.csv")
    assert (first.state, first.issued_rows, first.error_rows) == ("done", 300, 0)
    issued = _numbers_by_row(issuer_env, first.id)  # type: ignore[arg-type]

    fields = lines[9].split(",")
    fields[1] = "王芳"  # the clerk corrected one name: another file, the same persons
    corrected = [*lines[:9], ",".join(fields), *lines[10:]]
    second = _issue_file(issuer_env, _file(corrected), "round-corrected.csv")
    assert second.id != first.id
    assert (second.state, second.valid_rows, second.issued_rows) == ("done", 0, 0)
    assert second.error_rows == 300
    errors = batches.batch_errors(second)
    assert len(errors) == 300
    for e in errors:
        assert (e.field, e.code) == ("id_number", "already_certified"), e
        assert issued[e.row_number] in e.message_en and issued[e.row_number] in e.message_zh
        assert "*" in e.value_preview  # masked, never the whole identity number
    assert count_rows(issuer_env, Certificate) == 300


def test_a_person_twice_in_one_file_is_refused_on_the_second_row_naming_the_first(
    issuer_env: IssuerHarness,
) -> None:
    lines = _shared(5)
    twice = lines[1].replace("req-0000001", "req-again")  # file row 3, again as row 7
    batch = _issue_file(issuer_env, _file([*lines, twice]), "twice.csv")
    assert (batch.state, batch.valid_rows, batch.issued_rows) == ("done", 5, 5)
    (error,) = batches.batch_errors(batch)
    assert (error.row_number, error.field, error.code) == (7, "id_number", "duplicate_row")
    assert "row 3" in error.message_en and "第3行" in error.message_zh
    assert sorted(_numbers_by_row(issuer_env, batch.id)) == [2, 3, 4, 5, 6]  # type: ignore[arg-type]


def test_a_person_certified_by_hand_while_the_batch_runs_becomes_a_row_error(
    issuer_env: IssuerHarness,
) -> None:
    """The file was read before the clerk issued applicant 250 by hand: the chunk holding
    that row loses on the unique index, the row becomes an error naming the clerk's
    certificate, and every other row is issued (the pool's look-ahead thrown away)."""
    engine, settings = issuer_env.engine, issuer_env.settings
    with Session(engine) as s:
        opened = batches.open_batch(
            s, data=_file(_shared(300)), filename="a.csv", settings=settings, actor="t", now=_now()
        )
    by_hand: list[str] = []

    def meanwhile(done: int, total: int) -> None:
        if done == 100 and not by_hand:
            with Session(engine) as s:
                got = issuance.issue_certificate(
                    s,
                    request=CertificateCreate(**application(250)),  # file row 252
                    signer=issuer_env.signer,
                    settings=settings,
                    actor="clerk",
                    now=_now(),
                )
            by_hand.append(got.certificate_number)

    batch = batches.run_batch(
        engine,
        batch_id=opened.batch.id,  # type: ignore[arg-type]
        rows=opened.rows,
        signer=issuer_env.signer,
        settings=settings,
        actor="t",
        now_fn=_now,
        chunk=100,
        workers=2,
        start_method="fork",
        progress=meanwhile,
    )
    assert (batch.state, batch.valid_rows, batch.issued_rows, batch.error_rows) == (
        "done",
        299,
        299,
        1,
    )
    (error,) = batches.batch_errors(batch)
    assert (error.row_number, error.code) == (252, "already_certified")
    assert by_hand[0] in error.message_en
    assert 252 not in _numbers_by_row(issuer_env, batch.id)  # type: ignore[arg-type]
    assert count_rows(issuer_env, Certificate) == 300
    with Session(engine) as s:
        assert verify_chain(s) is None


def test_two_files_of_the_same_persons_run_concurrently_issue_each_person_once(
    issuer_env: IssuerHarness,
) -> None:
    engine, settings = issuer_env.engine, issuer_env.settings
    lines = _shared(200)
    files = {"up.csv": _file(lines), "down.csv": _file(lines[::-1])}
    opened = {}
    for name, data in files.items():  # both read before either issues: nobody held yet
        with Session(engine) as s:
            opened[name] = batches.open_batch(
                s, data=data, filename=name, settings=settings, actor="t", now=_now()
            )
        assert opened[name].batch.valid_rows == 200
    barrier = threading.Barrier(2)

    def run(name: str) -> Batch:
        barrier.wait()
        return batches.run_batch(
            engine,
            batch_id=opened[name].batch.id,  # type: ignore[arg-type]
            rows=opened[name].rows,
            signer=issuer_env.signer,
            settings=settings,
            actor="t",
            now_fn=_now,
            chunk=20,
            workers=1,
        )

    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(run, files))
    assert {b.state for b in done} == {"done"}
    assert sum(b.issued_rows for b in done) == 200
    assert sum(b.error_rows for b in done) == 200  # each person refused in one of the two
    for b in done:
        assert b.issued_rows + b.error_rows == 200 and b.valid_rows == b.issued_rows
        assert {e.code for e in batches.batch_errors(b)} <= {"already_certified"}
    assert count_rows(issuer_env, Certificate) == 200
    with Session(engine) as s:
        persons = s.execute(
            sa.select(sa.func.count(sa.distinct(Certificate.id_number_hash)))
        ).scalar_one()
    assert persons == 200
