"""A batch's artefacts over HTTP (issue 13 point 4): the manifest maps every row to its
certificate number or its errors and to its teacher's claim code; the claim codes are made
for the whole batch in one step, once; the claim letters name each teacher, number and
code; the PDFs come as a zip and as one print file; the status gives live progress.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import zipfile

import openpyxl
import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from sqlalchemy.orm import Session

from issuer import batches
from issuer.db import tables
from issuer.db.models import Batch, BatchItem, Certificate
from tests.factory.issuer import IssuerHarness, bad_rows_file, poll_batch, post_batch

OFFICE_ORIGIN = {"Origin": "http://testserver"}
CODE = re.compile(r"^[2-9A-HJKMNP-Z]{4}(-[2-9A-HJKMNP-Z]{4}){3}$")


def _done_batch(env: IssuerHarness) -> tuple[int, dict[int, tuple[str, str]], set[int]]:
    """Post the bad-rows file; return (batch id, {row: (number, name)} issued, error rows)."""
    data, expected, _good = bad_rows_file()
    r = post_batch(env, data, "round.csv")
    assert r.status_code == 202, r.text
    batch_id = r.json()["id"]
    assert poll_batch(env, batch_id)["state"] == "done"
    with Session(env.engine) as s:
        issued = {
            row: (number, name)
            for row, number, name in s.execute(
                sa.select(BatchItem.row_number, Certificate.certificate_number, Certificate.name)
                .join(Certificate, Certificate.id == BatchItem.certificate_id)
                .where(BatchItem.batch_id == batch_id)
            )
        }
    return batch_id, issued, set(expected)


def _manifest(env: IssuerHarness, batch_id: int, lang: str = "zh") -> list[list[str]]:
    r = env.client.get(
        f"/api/v1/batches/{batch_id}/manifest.csv?lang={lang}", headers=env.headers()
    )
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


def _make_codes(env: IssuerHarness, batch_id: int) -> dict:
    r = env.client.post(f"/api/v1/batches/{batch_id}/claim-codes", headers=env.headers())
    assert r.status_code == 200, r.text
    return r.json()


def _audit(env: IssuerHarness, action: str) -> list[sa.Row]:
    with env.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(tables.AUDIT_RECORD).where(tables.AUDIT_RECORD.c.action == action)
            )
        )


def _pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode("utf-8")


def test_manifest_maps_every_row_to_its_certificate_or_its_errors_before_and_after_codes(
    issuer_env: IssuerHarness,
) -> None:
    batch_id, issued, errors = _done_batch(issuer_env)
    table = _manifest(issuer_env, batch_id)
    assert table[0] == ["行号", "姓名", "证书编号", "证书状态", "领取码", "领取码有效期至", "说明"]
    by_row = {int(r[0]): r for r in table[1:]}
    assert set(by_row) == set(issued) | errors and len(table) == 1 + len(by_row)
    for row, (number, name) in issued.items():
        assert by_row[row][1:5] == [name, number, "有效", ""]
        assert by_row[row][6] == "尚未生成领取码"
    for row in errors:
        assert by_row[row][2] == "" and by_row[row][3] == "未签发" and by_row[row][6]
    assert "'=1+1" in {r[1] for r in table[1:]}  # a name cell that was a formula, guarded

    made = _make_codes(issuer_env, batch_id)
    assert (made["made"], made["kept"], made["not_valid"], made["live"]) == (3, 0, 0, 3)
    after = {int(r[0]): r for r in _manifest(issuer_env, batch_id)[1:]}
    for row in issued:
        assert CODE.match(after[row][4]), after[row]
        assert after[row][5] and after[row][6] == ""
    assert len({after[row][4] for row in issued}) == 3
    for row in errors:
        assert after[row] == by_row[row]
    # showing the codes is audited, never the codes themselves
    shown = _audit(issuer_env, "holder.batch_codes_shown")
    assert len(shown) == 1 and '"codes":3' in shown[0].detail_json.replace(" ", "")
    assert not any(after[row][4] in shown[0].detail_json for row in issued)

    xlsx = issuer_env.client.get(
        f"/api/v1/batches/{batch_id}/manifest.xlsx?lang=en", headers=issuer_env.headers()
    )
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0]
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    assert cells[0][:3] == ["Row", "Name", "Certificate number"]
    assert {r[0]: r[4] for r in cells[1:]} == {
        row: after[row][4] or None for row in after
    }  # the same codes, as the CSV


def test_claim_codes_are_made_once_and_a_teachers_new_code_is_not_undone(
    issuer_env: IssuerHarness,
) -> None:
    batch_id, issued, _ = _done_batch(issuer_env)
    _make_codes(issuer_env, batch_id)
    first = {int(r[0]): r[4] for r in _manifest(issuer_env, batch_id)[1:] if int(r[0]) in issued}
    with Session(issuer_env.engine) as s:
        hashes = set(s.scalars(sa.select(tables.HOLDER_CLAIM_CODE.c.code_hash)))
    assert len(hashes) == 3

    again = _make_codes(issuer_env, batch_id)
    assert (again["made"], again["kept"], again["live"]) == (0, 3, 3)
    with Session(issuer_env.engine) as s:
        assert set(s.scalars(sa.select(tables.HOLDER_CLAIM_CODE.c.code_hash))) == hashes
    second = {int(r[0]): r[4] for r in _manifest(issuer_env, batch_id)[1:] if int(r[0]) in issued}
    assert second == first  # the letters can be printed again: the same codes
    assert len(_audit(issuer_env, "holder.claim_code_issued")) == 3

    # A teacher lost the letter: the clerk makes that teacher a new code, one at a time.
    row, (number, _name) = sorted(issued.items())[0]
    new = issuer_env.client.post(
        f"/api/v1/certificates/{number}/claim-code", headers=issuer_env.headers()
    )
    assert new.status_code == 201, new.text
    third = _make_codes(issuer_env, batch_id)
    assert (third["made"], third["kept"], third["live"]) == (0, 3, 2)
    now = {int(r[0]): r for r in _manifest(issuer_env, batch_id)[1:]}
    assert now[row][4] == "" and now[row][6] == "已另行生成领取码（单独发放）"
    assert first[row] != new.json()["claim_code"]

    # the batch's codes open the holder pages: the letter's code is the teacher's code
    other_row = sorted(issued)[1]
    issuer_env.client.cookies.clear()
    login = issuer_env.client.post(
        "/holder/login",
        data={"number": issued[other_row][0], "code": first[other_row]},
        headers=OFFICE_ORIGIN,
        follow_redirects=False,
    )
    assert login.status_code == 303, login.text
    issuer_env.client.cookies.clear()
    stale = issuer_env.client.post(
        "/holder/login",
        data={"number": number, "code": first[row]},
        headers=OFFICE_ORIGIN,
        follow_redirects=False,
    )
    assert stale.status_code != 303  # the lost letter's code no longer opens anything


def test_claim_letters_name_each_teacher_number_and_code_one_page_each(
    issuer_env: IssuerHarness,
) -> None:
    batch_id, issued, _ = _done_batch(issuer_env)
    url = f"/api/v1/batches/{batch_id}/claim-letters.pdf"
    before = issuer_env.client.get(url, headers=issuer_env.headers())
    assert before.status_code == 409, before.text
    assert before.headers["content-type"].startswith("application/problem+json")

    _make_codes(issuer_env, batch_id)
    codes = {int(r[0]): r[4] for r in _manifest(issuer_env, batch_id)[1:] if int(r[0]) in issued}
    r = issuer_env.client.get(url, headers=issuer_env.headers())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(r.content)).pages) == len(issued) == 3
    pages = _pdf_text(r.content).split("\f")
    for row, (number, name) in issued.items():
        (page,) = [p for p in pages if number in p]
        assert name in page and codes[row] in page
        assert "领取码" in page and f"{issuer_env.settings.public_url}/holder" in page
        assert issuer_env.settings.office_name in page
        # one verb for checking (issue 15 point 3): 核验, never 查验 or 验证 (核验证书 is
        # 核验 + 证书)
        flat = page.replace(" ", "").replace("\n", "")
        assert "核验" in flat and "查验" not in flat
        assert not re.search("(?<!核)验证", flat)
    actions = [r.detail_json for r in _audit(issuer_env, "holder.batch_codes_shown")]
    assert any("claim-letters.pdf" in d for d in actions)


def test_zip_holds_a_signed_pdf_per_certificate_and_print_file_a_page_each(
    issuer_env: IssuerHarness,
) -> None:
    batch_id, issued, _ = _done_batch(issuer_env)
    with issuer_env.client.stream(
        "GET", f"/api/v1/batches/{batch_id}/certificates.zip", headers=issuer_env.headers()
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/zip"
        assert "content-length" not in r.headers  # streamed as made
        body = b"".join(r.iter_bytes())
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        assert z.testzip() is None
        names = sorted(z.namelist())
        assert names == sorted(f"{n}.pdf" for n, _ in issued.values())
        for name in names:
            pdf = z.read(name)
            assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-32:]
            reader = PdfReader(io.BytesIO(pdf))
            assert len(reader.pages) == 1
            assert "/AcroForm" in reader.trailer["/Root"]  # the signed document
            assert name.removesuffix(".pdf") in reader.pages[0].extract_text().replace(" ", "")

    p = issuer_env.client.get(f"/api/v1/batches/{batch_id}/print.pdf", headers=issuer_env.headers())
    assert p.status_code == 200, p.text
    reader = PdfReader(io.BytesIO(p.content))
    assert len(reader.pages) == 3
    assert "/AcroForm" not in reader.trailer["/Root"]  # paper for the printer: not signed
    text = _pdf_text(p.content).replace(" ", "")
    assert all(n in text for n, _ in issued.values())


def test_zip_leaves_out_a_revoked_certificate_and_says_so(issuer_env: IssuerHarness) -> None:
    batch_id, issued, _ = _done_batch(issuer_env)
    row, (number, _) = sorted(issued.items())[0]
    with issuer_env.engine.begin() as conn:
        conn.execute(
            sa.update(tables.CERTIFICATE)
            .where(tables.CERTIFICATE.c.certificate_number == number)
            .values(status="revoked")
        )
    r = issuer_env.client.get(
        f"/api/v1/batches/{batch_id}/certificates.zip", headers=issuer_env.headers()
    )
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        names = set(z.namelist())
        assert f"{number}.pdf" not in names and len(names) == 3  # two PDFs and the list
        assert f"{row}\t{number}\trevoked" in z.read("未收录.txt").decode("utf-8")
    made = _make_codes(issuer_env, batch_id)
    assert (made["made"], made["not_valid"]) == (2, 1)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("GET", "/manifest.csv"),
        ("GET", "/manifest.xlsx"),
        ("POST", "/claim-codes"),
        ("GET", "/claim-letters.pdf"),
        ("GET", "/certificates.zip"),
        ("GET", "/print.pdf"),
    ],
)
def test_an_unknown_batch_is_a_problem_answer_for_every_artefact(
    issuer_env: IssuerHarness, method: str, suffix: str
) -> None:
    r = issuer_env.client.request(
        method, f"/api/v1/batches/999999{suffix}", headers=issuer_env.headers()
    )
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == "批次不存在"


def test_status_gives_progress_of_a_finished_batch(issuer_env: IssuerHarness) -> None:
    batch_id, issued, _ = _done_batch(issuer_env)
    got = issuer_env.client.get(f"/api/v1/batches/{batch_id}", headers=issuer_env.headers())
    progress = got.json()["progress"]
    assert progress["done"] == progress["total"] == len(issued)
    assert progress["seconds_left"] == 0
    assert progress["rows_per_second"] is None or progress["rows_per_second"] > 0
    links = got.json()["links"]
    assert links["manifest_csv"].endswith(f"/api/v1/batches/{batch_id}/manifest.csv")
    assert links["claim_letters"].endswith("/claim-letters.pdf")


T0 = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)


def _batch(**values: object) -> Batch:
    base: dict[str, object] = {
        "office_id": "o",
        "filename": "f.csv",
        "file_sha256": "0" * 64,
        "state": "issuing",
        "created_by": "t",
        "created_at": T0 - dt.timedelta(minutes=1),
        "valid_rows": 1000,
        "issued_rows": 400,
        "run_started_at": T0,
        "run_started_rows": 100,
    }
    base.update(values)
    return Batch(**base)  # type: ignore[arg-type]


def test_progress_counts_only_the_current_runs_rows_over_its_time() -> None:
    # 300 rows of this run in 60 s (100 were issued by an earlier run): 5 a second,
    # 600 rows left: 120 s
    p = batches.batch_progress(_batch(), now=T0 + dt.timedelta(seconds=60))
    assert (p.done, p.total, p.rows_per_second, p.seconds_left) == (400, 1000, 5.0, 120)
    # a stalled run: the rate falls as the clock runs, the time left grows
    later = batches.batch_progress(_batch(), now=T0 + dt.timedelta(seconds=120))
    assert (later.rows_per_second, later.seconds_left) == (2.5, 240)


def test_progress_before_a_row_is_issued_and_after_the_end() -> None:
    fresh = batches.batch_progress(
        _batch(issued_rows=0, run_started_rows=0), now=T0 + dt.timedelta(seconds=5)
    )
    assert (fresh.rows_per_second, fresh.seconds_left) == (None, None)
    never = batches.batch_progress(_batch(run_started_at=None), now=T0)
    assert never.rows_per_second is None and never.done == 400
    done = batches.batch_progress(
        _batch(state="done", issued_rows=1000, finished_at=T0 + dt.timedelta(seconds=90)),
        now=T0 + dt.timedelta(days=3),  # the rate is the run's, not diluted by the days since
    )
    assert (done.rows_per_second, done.seconds_left) == (10.0, 0)
    failed = batches.batch_progress(
        _batch(state="failed", finished_at=T0 + dt.timedelta(seconds=60)),
        now=T0 + dt.timedelta(hours=1),
    )
    assert (failed.rows_per_second, failed.seconds_left) == (5.0, None)


def test_a_teacher_with_two_certificates_in_a_batch_gets_one_letter_naming_both(
    issuer_env: IssuerHarness,
) -> None:
    from issuer.holder import BatchHolder, batch_letters_pdf

    until = T0 + dt.timedelta(days=30)

    def row(n: int, number: str, person: str, state: str = "live") -> BatchHolder:
        code = "ABCD-EFGH-JKMN-PQR" + str(n) if state == "live" else None
        return BatchHolder(n, number, f"教师{person}", "valid", person, state, code, until)  # type: ignore[arg-type]

    holders = [
        row(2, "20261100132000001", "甲"),
        row(3, "20261100132000002", "乙", state="replaced"),
        row(4, "20261100132000003", "甲"),  # 甲 again, another qualification
        row(5, "20261100132000004", "丙"),
    ]
    pdf = batch_letters_pdf(holders, settings=issuer_env.settings)
    assert pdf is not None
    pages = [p for p in _pdf_text(pdf).split("\f") if p.strip()]
    assert len(pages) == 2
    assert "20261100132000001" in pages[0] and "20261100132000003" in pages[0]
    assert "教师甲" in pages[0] and "ABCD-EFGH-JKMN-PQR2" in pages[0]
    assert "教师丙" in pages[1] and "20261100132000002" not in "".join(pages)
    assert batch_letters_pdf(holders[1:2], settings=issuer_env.settings) is None


def test_manifest_gives_one_line_per_row_with_all_its_errors_in_row_order() -> None:
    from issuer.batches.reading import RowError

    def error(row: int, column: str, zh: str) -> RowError:
        return RowError(row, column, column, "x", zh, zh, "", "req-1", "林芳")

    errors = [
        error(4, "姓名", "不能为空"),
        error(3, "性别", "无法识别"),
        error(4, "证件号码", "=校验码"),
    ]
    table = list(
        csv.reader(io.StringIO(batches.write_manifest([], errors, fmt="csv").decode("utf-8-sig")))
    )
    assert [r[0] for r in table[1:]] == ["3", "4"]
    assert table[2] == ["4", "林芳", "", "未签发", "", "", "姓名: 不能为空；证件号码: =校验码"]
