"""Batch issuance over HTTP and through the service: files in every accepted form issue
every valid row once, bad rows come back in the error report, a failed run resumes.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer import batches
from issuer.audit.chain import verify_chain
from issuer.batches.reading import read_batch
from issuer.db.models import AuditRecord, Batch, BatchItem, Certificate, Event
from tests.factory import APPLICANTS_CSV
from tests.factory.issuer import (
    EN_HEADER,
    IssuerHarness,
    bad_rows_file,
    count_rows,
    poll_batch,
    post_batch,
    verify_sample,
    xlsx_from_csv,
)

FORMS = {
    "utf8": lambda raw: raw,
    "gb18030": lambda raw: raw.decode("utf-8").encode("gb18030"),
    "xlsx": xlsx_from_csv,
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_shared_1000_applicants_issue_in_every_file_form(
    issuer_env: IssuerHarness, form: str
) -> None:
    raw = APPLICANTS_CSV.read_bytes()
    data = FORMS[form](raw)
    r = post_batch(issuer_env, data, f"applicants.{'xlsx' if form == 'xlsx' else 'csv'}")
    assert r.status_code == 202, r.text
    first = r.json()
    assert first["total_rows"] == 1000 and first["valid_rows"] == 1000
    assert first["error_rows"] == 0
    assert r.headers["Location"] == first["links"]["self"]
    got = poll_batch(issuer_env, first["id"])
    assert got["state"] == "done", got
    assert got["issued_rows"] == 1000 and got["finished_at"] is not None

    with Session(issuer_env.engine) as s:
        numbers = list(s.scalars(sa.select(Certificate.certificate_number)))
        assert len(numbers) == len(set(numbers)) == 1000
        rows = list(s.scalars(sa.select(BatchItem.row_number)))
        assert sorted(rows) == list(range(2, 1002))
        issued = sa.select(sa.func.count()).where(AuditRecord.action == "certificate.issued")
        assert s.scalar(issued) == 1000  # one per certificate (the app may add its own)
        assert s.scalar(sa.select(sa.func.count()).where(Event.type == "issued")) == 1000
        assert verify_chain(s) is None
    verify_sample(issuer_env, numbers)

    # The same file again is the same batch, already done: nothing more is issued.
    again = post_batch(issuer_env, data, "again.csv")
    assert again.status_code == 202 and again.json()["id"] == first["id"]
    assert again.json()["state"] == "done"
    assert count_rows(issuer_env, Certificate) == 1000


def test_bad_rows_are_reported_and_good_rows_issued_over_http(issuer_env: IssuerHarness) -> None:
    data, expected, good_rows = bad_rows_file()
    r = post_batch(issuer_env, data, "bad-rows.csv")
    assert r.status_code == 202, r.text
    first = r.json()
    assert (first["total_rows"], first["valid_rows"], first["error_rows"]) == (10, 3, 7)
    got = poll_batch(issuer_env, first["id"])
    assert got["state"] == "done" and got["issued_rows"] == 3

    with Session(issuer_env.engine) as s:
        batch = s.get(Batch, first["id"])
        assert batch is not None
        stored = batches.batch_errors(batch)
        issued_rows = sorted(s.scalars(sa.select(BatchItem.row_number)))
    assert issued_rows == good_rows
    by_row: dict[int, set[str]] = {}
    for e in stored:
        by_row.setdefault(e.row_number, set()).add(e.code)
    assert by_row == expected
    # masked values only: no whole identity number anywhere in what is stored
    ids = {row[5] for row in csv.reader(io.StringIO(data.decode("utf-8")))}
    assert not any(i in batch.errors_json for i in ids if len(i) == 18)

    # The downloadable report, in Chinese by default, formula text guarded.
    rep = issuer_env.client.get(first["links"]["errors_csv"], headers=issuer_env.headers())
    assert rep.status_code == 200
    assert rep.headers["content-type"].startswith("text/csv")
    assert rep.headers["content-disposition"].startswith("attachment;")
    assert rep.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(rep.content.decode("utf-8-sig"))))
    assert table[0] == ["行号", "申请编号", "姓名", "列", "原因", "值"]
    reported = {int(row[0]): [row[0], *row[3:]] for row in table[1:]}  # row, column, ...
    assert set(reported) == set(expected)
    zh = {e.row_number: e.message_zh for e in stored}
    for row_number, row in reported.items():
        assert row[2] == zh[row_number]
    assert reported[5][1] == "id_number" and "校验码" in reported[5][2]
    assert reported[5][3].count("*") == 11  # the bad number, masked
    assert reported[11][3] == "'=1+1"  # never a live formula in the report
    assert reported[7][1] == "qualification_type"

    en = issuer_env.client.get(
        f"/api/v1/batches/{first['id']}/errors.csv?lang=en", headers=issuer_env.headers()
    )
    assert en.status_code == 200
    assert (
        en.content.decode("utf-8-sig").splitlines()[0]
        == "Row,Application number,Name,Column,Reason,Value"
    )

    xl = issuer_env.client.get(first["links"]["errors_xlsx"], headers=issuer_env.headers())
    assert xl.status_code == 200 and xl.content.startswith(b"PK")
    assert "spreadsheetml" in xl.headers["content-type"]
    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(xl.content), read_only=True).worksheets[0]
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    assert cells[0] == ["行号", "申请编号", "姓名", "列", "原因", "值"] and len(cells) == 1 + len(
        stored
    )


def test_batch_api_refuses_what_it_must(issuer_env: IssuerHarness) -> None:
    h = issuer_env.headers()
    # not a table at all: 422 problem, nothing stored
    r = post_batch(issuer_env, b"\x00\x01\x02 binary", "x.csv")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/batch_file")
    # over the upload limit: 413 problem
    r = post_batch(issuer_env, b"x" * (10 * 1024 * 1024 + 1), "huge.csv")
    assert r.status_code == 413, r.text
    assert r.json()["status"] == 413
    # no file field
    r = issuer_env.client.post(
        "/api/v1/batches", data={"other": "1"}, headers={"Authorization": h["Authorization"]}
    )
    assert r.status_code == 422, r.text
    # unknown batch, bad id, bad language
    assert issuer_env.client.get("/api/v1/batches/999", headers=h).status_code == 404
    assert issuer_env.client.get("/api/v1/batches/0", headers=h).status_code == 422
    r = issuer_env.client.get("/api/v1/batches/1/errors.csv?lang=fr", headers=h)
    assert r.status_code == 422
    # no key
    assert issuer_env.client.get("/api/v1/batches/1").status_code == 401
    with Session(issuer_env.engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Batch)) == 0


def test_too_many_rows_is_a_422_problem(issuer_env: IssuerHarness) -> None:
    header = ",".join(EN_HEADER).encode() + b"\r\n"
    line = b"r,a,1,2000-01-01,passport,E1,1,s,2026-01-01\r\n"
    data = header + line * 200_001
    assert len(data) < 10 * 1024 * 1024
    r = post_batch(issuer_env, data, "many.csv", **{"Accept-Language": "en"})
    assert r.status_code == 422, r.text
    assert "200,000" in r.json()["detail"]


def test_openapi_declares_the_batch_problems(issuer_env: IssuerHarness) -> None:
    spec = issuer_env.client.get("/openapi.json").json()
    post = spec["paths"]["/api/v1/batches"]["post"]
    assert {"401", "403", "413", "422"} <= set(post["responses"])
    assert "multipart/form-data" in post["requestBody"]["content"]
    for path in ("", "/errors.csv", "/errors.xlsx"):
        op = spec["paths"][f"/api/v1/batches/{{batch_id}}{path}"]["get"]
        assert {"401", "403", "404", "422"} <= set(op["responses"])


def test_a_failed_run_is_marked_with_its_reason_and_resumes(issuer_env: IssuerHarness) -> None:
    engine, settings = issuer_env.engine, issuer_env.settings
    data = APPLICANTS_CSV.read_bytes()
    with Session(engine) as s:
        opened = batches.open_batch(
            s,
            data=data,
            filename="a.csv",
            settings=settings,
            actor="test",
            now=dt.datetime.now(dt.UTC),
        )
    calls = 0

    def flaky_clock() -> dt.datetime:
        nonlocal calls
        calls += 1
        if calls == 4:  # once, in the middle of the run
            raise RuntimeError("clock broke")
        return dt.datetime.now(dt.UTC)

    with pytest.raises(RuntimeError, match="clock broke"):
        batches.run_batch(
            engine,
            batch_id=opened.batch.id,
            rows=opened.rows,
            signer=issuer_env.signer,
            settings=settings,
            actor="test",
            now_fn=flaky_clock,
            chunk=200,
            workers=1,
        )
    r = issuer_env.client.get(f"/api/v1/batches/{opened.batch.id}", headers=issuer_env.headers())
    got = r.json()
    assert got["state"] == "failed" and "clock broke" in got["failure"]
    assert 0 < got["issued_rows"] < 1000 and got["issued_rows"] % 200 == 0
    assert count_rows(issuer_env, Certificate) == got["issued_rows"]
    # The same file over HTTP resumes it.
    r = post_batch(issuer_env, data, "a.csv")
    assert r.status_code == 202 and r.json()["id"] == opened.batch.id
    final = poll_batch(issuer_env, opened.batch.id)
    assert final["state"] == "done", final
    assert final["issued_rows"] == 1000 and final["failure"] is None
    assert count_rows(issuer_env, Certificate) == 1000


def test_rows_outside_the_office_scope_are_row_errors(database_url: str, tmp_path) -> None:
    from issuer.db.engine import make_engine, upgrade
    from issuer.settings import IssuerSettings

    settings = IssuerSettings(
        database_url=database_url, qualification_types="primary,junior_middle"
    )
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        parsed = read_batch(APPLICANTS_CSV.read_bytes())
        inside = sum(1 for r in parsed.rows if r.qualification_type in settings.qualification_scope)
        with Session(engine) as s:
            opened = batches.open_batch(
                s,
                data=APPLICANTS_CSV.read_bytes(),
                filename="a.csv",
                settings=settings,
                actor="test",
                now=dt.datetime.now(dt.UTC),
            )
        assert len(opened.rows) == inside == opened.batch.valid_rows
        assert opened.batch.error_rows == 1000 - inside
        codes = {e.code for e in batches.batch_errors(opened.batch)}
        assert codes == {"out_of_scope"}
    finally:
        engine.dispose()


def test_the_same_file_posted_concurrently_is_one_batch_issued_once(
    issuer_env: IssuerHarness,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = APPLICANTS_CSV.read_bytes()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda i: post_batch(issuer_env, data, f"copy-{i}.csv"), range(4)))
    assert [a.status_code for a in answers] == [202] * 4, [a.text for a in answers]
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == 1
    got = poll_batch(issuer_env, ids.pop())
    assert got["state"] == "done" and got["issued_rows"] == 1000
    assert count_rows(issuer_env, Certificate) == 1000
    assert count_rows(issuer_env, Batch) == 1
