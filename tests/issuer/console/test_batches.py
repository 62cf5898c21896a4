"""The console's batch pages in a browser's place (TestClient), signed in as a clerk: upload
a file with errors, watch its progress, download its error report and manifest, make the
claim codes (once) and get the letters, the zip and the print file; what another office
has is a 404 page; a bad upload is said beside the field; hostile parameters are no 5xx.

Every test runs on SQLite and on PostgreSQL (the ``issuer_env`` fixture).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import time
import zipfile
from urllib.parse import quote

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer.db import tables
from issuer.db.models import Batch, BatchItem, Certificate, Office
from issuer.web.office_pages import COOKIE
from issuer.web.routes.batches import wait_for_batches
from tests.factory.console import signed_in
from tests.factory.issuer import IssuerHarness, bad_rows_file

ORIGIN = {"Origin": "http://testserver"}
HOSTILE = (
    "-1",
    "0",
    "1e9",
    "99999999999999999999",
    "１",  # a full-width digit: isdigit() but not ASCII
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "\u202e1",
    "a" * 5000,
    "\x00",
)
CODE = re.compile(r"[2-9A-HJKMNP-Z]{4}(?:-[2-9A-HJKMNP-Z]{4}){3}")


def _signed_in(env: IssuerHarness, username: str, role: str) -> None:
    """Make an officer of ``role`` who enrols and signs in (tests.factory.console); the
    harness's client then holds their console session."""
    who = signed_in(env, username, role)
    env.client.cookies.set(COOKIE, who.client.cookies.get(COOKIE), path="/office")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found, "no form token"
    return found[1]


def _upload(env: IssuerHarness, data: bytes, name: str = "round.csv", lang: str = ""):
    page = env.client.get("/office/batches" + lang)
    assert page.status_code == 200, page.text
    return env.client.post(
        "/office/batches" + lang,
        data={"csrf": _csrf(page.text)},
        files={"file": (name, data)},
        headers=ORIGIN,
        follow_redirects=False,
    )


def _done(env: IssuerHarness, batch_id: int) -> str:
    """Return the batch page once the batch is finished (polling the console's JSON)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        p = env.client.get(f"/office/batches/{batch_id}/progress")
        assert p.status_code == 200, p.text
        if p.json()["finished"]:
            break
        time.sleep(0.05)
    wait_for_batches(5)
    page = env.client.get(f"/office/batches/{batch_id}")
    assert page.status_code == 200, page.text
    return page.text


def _done_batch(env: IssuerHarness) -> tuple[int, dict[int, tuple[str, str]], dict]:
    data, expected, _good = bad_rows_file()
    r = _upload(env, data)
    assert r.status_code == 303, r.text
    found = re.fullmatch(r"/office/batches/(\d+)", r.headers["location"])
    assert found, r.headers["location"]
    batch_id = int(found[1])
    _done(env, batch_id)
    with Session(env.engine) as s:
        issued = {
            row: (number, name)
            for row, number, name in s.execute(
                sa.select(BatchItem.row_number, Certificate.certificate_number, Certificate.name)
                .join(Certificate, Certificate.id == BatchItem.certificate_id)
                .where(BatchItem.batch_id == batch_id)
            )
        }
    return batch_id, issued, expected


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


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_a_clerk_uploads_a_file_with_errors_sees_progress_then_the_counts(
    issuer_env: IssuerHarness,
) -> None:
    _signed_in(issuer_env, "cy", "clerk")
    data, expected, good = bad_rows_file()
    r = _upload(issuer_env, data, "第一轮.csv")
    assert r.status_code == 303, r.text
    batch_id = int(r.headers["location"].rsplit("/", 1)[1])

    first = issuer_env.client.get(f"/office/batches/{batch_id}")
    assert first.status_code == 200
    assert "签发进度" in first.text and "第一轮.csv" in first.text
    assert re.search(r"已签发 \d+ / 3 行", first.text), first.text
    if 'data-progress="' in first.text:  # still running: office.js may poll its progress
        assert "connect-src 'self'" in first.headers["content-security-policy"]
        assert '<noscript><meta http-equiv="refresh"' in first.text

    page = _done(issuer_env, batch_id)
    assert "已完成" in page and "已签发 3 / 3 行" in page and "预计剩余：无" in page
    counts = {
        k: re.search(rf'id="{k}">(\d+)<', page)[1]
        for k in ("total-rows", "valid-rows", "error-rows", "issued-rows")
    }
    assert counts == {
        "total-rows": str(len(good) + len(expected)),
        "valid-rows": "3",
        "error-rows": str(len(expected)),
        "issued-rows": "3",
    }
    assert "data-progress" not in page and "noscript" not in page
    for link in ("errors.csv", "manifest.xlsx", "certificates.zip", "print.pdf"):
        assert f"/office/batches/{batch_id}/{link}" in page

    listing = issuer_env.client.get("/office/batches?lang=en")
    assert listing.status_code == 200
    row = re.search(
        r"<tr>\s*<td><a href=\"/office/batches/(\d+)\?lang=en\">.*?</tr>", listing.text, re.S
    )
    assert row and int(row[1]) == batch_id
    cells = re.findall(r'<td class="num">(\d+)</td>', row[0])
    assert cells == [str(len(good) + len(expected)), "3", str(len(expected))]
    assert "第一轮.csv" in row[0] and ">cy<" in row[0] and "Done" in row[0]

    json = issuer_env.client.get(f"/office/batches/{batch_id}/progress?lang=en").json()
    assert json["finished"] and (json["done"], json["total"], json["seconds_left"]) == (3, 3, 0)
    assert json["text"]["done"] == "3 of 3 rows issued"


def test_error_report_names_row_request_name_column_and_reason(
    issuer_env: IssuerHarness,
) -> None:
    _signed_in(issuer_env, "cy", "clerk")
    batch_id, _issued, expected = _done_batch(issuer_env)
    r = issuer_env.client.get(f"/office/batches/{batch_id}/errors.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = _csv(r.content)
    assert table[0][:5] == ["行号", "申请编号", "姓名", "列", "原因"]
    assert {int(line[0]) for line in table[1:]} == set(expected)
    for line in table[1:]:
        assert line[1] and line[3] and line[4], line  # request id, column, reason
    assert any(line[2] == "'=1+1" for line in table[1:])  # a formula name, guarded
    # the same bytes as the API's own route gives
    api = issuer_env.client.get(
        f"/api/v1/batches/{batch_id}/errors.csv", headers=issuer_env.headers()
    )
    assert api.content == r.content

    x = issuer_env.client.get(f"/office/batches/{batch_id}/errors.xlsx?lang=en")
    assert x.status_code == 200 and x.content.startswith(b"PK")
    ws = openpyxl.load_workbook(io.BytesIO(x.content), read_only=True).worksheets[0]
    header = [c.value for c in next(ws.iter_rows())]
    assert header[:5] == ["Row", "Application number", "Name", "Column", "Reason"]
    assert sum(1 for _ in ws.iter_rows()) == 1 + len(expected)


def test_manifest_maps_rows_to_numbers_and_claim_codes_are_made_once(
    issuer_env: IssuerHarness,
) -> None:
    _signed_in(issuer_env, "cy", "clerk")
    batch_id, issued, expected = _done_batch(issuer_env)
    m = issuer_env.client.get(f"/office/batches/{batch_id}/manifest.csv")
    assert m.status_code == 200 and m.headers["cache-control"] == "no-store"
    by_row = {int(line[0]): line for line in _csv(m.content)[1:]}
    assert set(by_row) == set(issued) | set(expected)
    for row, (number, name) in issued.items():
        assert by_row[row][1:3] == [name, number]
    for row in expected:
        assert by_row[row][2] == ""

    letters = issuer_env.client.get(f"/office/batches/{batch_id}/claim-letters.pdf")
    assert letters.status_code == 409 and "领取码" in letters.text  # a page, not a PDF

    page = issuer_env.client.get(f"/office/batches/{batch_id}")
    url = f"/office/batches/{batch_id}/claim-codes"
    first = issuer_env.client.post(url, data={"csrf": _csrf(page.text)}, headers=ORIGIN)
    assert first.status_code == 200, first.text
    assert "本次生成 3 个领取码，保留 0 个" in first.text
    second = issuer_env.client.post(url, data={"csrf": _csrf(page.text)}, headers=ORIGIN)
    assert "本次生成 0 个领取码，保留 3 个" in second.text
    assert len(_audit(issuer_env, "holder.claim_code_issued")) == 3
    refused = issuer_env.client.post(url, data={"csrf": "wrong"}, headers=ORIGIN)
    assert refused.status_code == 403

    codes = {
        int(line[0]): line[4]
        for line in _csv(issuer_env.client.get(f"/office/batches/{batch_id}/manifest.csv").content)[
            1:
        ]
        if int(line[0]) in issued
    }
    assert all(CODE.fullmatch(c) for c in codes.values()) and len(set(codes.values())) == 3
    letters = issuer_env.client.get(f"/office/batches/{batch_id}/claim-letters.pdf")
    assert letters.status_code == 200 and letters.headers["content-type"] == "application/pdf"
    text = _pdf_text(letters.content)
    for row, (number, name) in issued.items():
        assert codes[row] in text and number in text and name in text
    shown = [r.detail_json for r in _audit(issuer_env, "holder.batch_codes_shown")]
    assert any("claim-letters.pdf" in d for d in shown)
    assert all(r.actor == "officer:cy" for r in _audit(issuer_env, "holder.batch_codes_shown"))


def test_zip_has_a_pdf_per_certificate_and_the_print_file_a_page_each(
    issuer_env: IssuerHarness,
) -> None:
    _signed_in(issuer_env, "su", "supervisor")
    batch_id, issued, _ = _done_batch(issuer_env)
    z = issuer_env.client.get(f"/office/batches/{batch_id}/certificates.zip")
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(z.content)) as archive:
        assert sorted(archive.namelist()) == sorted(f"{n}.pdf" for n, _ in issued.values())
    p = issuer_env.client.get(f"/office/batches/{batch_id}/print.pdf")
    assert p.status_code == 200 and p.content.startswith(b"%PDF-")
    text = _pdf_text(p.content).replace(" ", "")
    assert text.count("\f") >= 3 and all(n in text for n, _ in issued.values())


def test_another_offices_batch_and_unknown_ids_are_404_pages(issuer_env: IssuerHarness) -> None:
    _signed_in(issuer_env, "cy", "clerk")
    with Session(issuer_env.engine) as s, s.begin():
        other = Batch(
            office_id="other-office",
            filename="theirs.csv",
            file_sha256="0" * 64,
            state="done",
            created_by="officer:x",
            created_at=dt.datetime.now(dt.UTC),
        )
        s.add(other)
        s.flush()
        other_id = other.id
    for path in ("", "/errors.csv", "/manifest.csv", "/claim-letters.pdf", "/certificates.zip"):
        r = issuer_env.client.get(f"/office/batches/{other_id}{path}")
        assert r.status_code == 404, (path, r.text)
        assert "没有这个批次" in r.text and "theirs.csv" not in r.text
    listing = issuer_env.client.get("/office/batches")
    assert "theirs.csv" not in listing.text
    assert issuer_env.client.get(f"/office/batches/{other_id}/progress").status_code == 404


def test_a_non_table_or_oversized_upload_is_said_beside_the_file_field(
    issuer_env: IssuerHarness,
) -> None:
    _signed_in(issuer_env, "cy", "clerk")
    r = _upload(issuer_env, b"\x89PNG\r\n\x1a\n" + bytes(200), "photo.png")
    assert r.status_code == 422, r.text
    assert 'id="batch-file-error"' in r.text and 'aria-invalid="true"' in r.text
    assert "批量文件无法使用" in r.text

    empty = _upload(issuer_env, b"", "nothing.csv", "?lang=en")
    assert empty.status_code == 422 and "Choose a file to upload." in empty.text

    settings = issuer_env.app.state.settings
    issuer_env.app.state.settings = settings.model_copy(update={"batch_max_bytes": 2048})
    big = _upload(issuer_env, b"a,b\n" * 2000, "big.csv", "?lang=en")
    assert big.status_code == 413, big.text
    assert 'id="batch-file-error"' in big.text and "too large" in big.text
    with Session(issuer_env.engine) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Batch)).scalar_one() == 0

    page = issuer_env.client.get("/office/batches")
    no_token = issuer_env.client.post(
        "/office/batches",
        data={"csrf": "nope"},
        files={"file": ("a.csv", b"x")},
        headers=ORIGIN,
    )
    assert no_token.status_code == 403 and _csrf(page.text)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_parameters_give_pages_not_5xx(issuer_env: IssuerHarness, value: str) -> None:
    _signed_in(issuer_env, "cy", "clerk")
    c = issuer_env.client
    v = quote(value, safe="")  # a path segment as a browser would send it
    for path, params in (
        ("/office/batches", {"page": value}),
        ("/office/batches", {"lang": value}),
        (f"/office/batches/{v}", {}),
        (f"/office/batches/1/{v}", {}),
        (f"/office/batches/{v}/progress", {}),
        ("/office/batches/99999999999999999999", {}),
        ("/office/batches/0/manifest.csv", {}),
    ):
        r = c.get(path, params=params)
        assert r.status_code < 500, (path, params, r.status_code)
        assert "Traceback" not in r.text
    bad = c.post("/office/batches", content=value.encode("utf-8", "surrogatepass"), headers=ORIGIN)
    assert bad.status_code < 500


def test_a_running_batch_shows_rows_rate_and_time_left_and_polls_without_js_too(
    issuer_env: IssuerHarness,
) -> None:
    _signed_in(issuer_env, "cy", "clerk")
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=100)
    with Session(issuer_env.engine) as s, s.begin():
        running = Batch(
            office_id=issuer_env.settings.office_id,
            filename="round.xlsx",
            file_sha256="1" * 64,
            state="issuing",
            total_rows=100,
            valid_rows=100,
            issued_rows=50,
            created_by="officer:cy",
            created_at=started,
            run_started_at=started,
            run_started_rows=0,
        )
        s.add(running)
        s.flush()
        batch_id = running.id
    page = issuer_env.client.get(f"/office/batches/{batch_id}")
    assert page.status_code == 200
    assert "已签发 50 / 100 行" in page.text and "速度：每秒 0.5 行" in page.text
    assert re.search(r"预计剩余：1 分 4\d 秒", page.text), page.text
    assert f'data-progress="/office/batches/{batch_id}/progress"' in page.text
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page.text
    assert f'href="/office/batches/{batch_id}"' in page.text  # the refresh link
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    assert "/manifest.csv" not in page.text and "claim-codes" not in page.text  # not yet

    p = issuer_env.client.get(f"/office/batches/{batch_id}/progress?lang=en").json()
    assert (p["finished"], p["done"], p["total"], p["rows_per_second"]) == (False, 50, 100, 0.5)
    assert p["text"]["done"] == "50 of 100 rows issued"
    assert p["text"]["rate"] == "Speed: 0.5 rows per second"

    script = issuer_env.client.get("/office/static/office.js").text
    assert "[data-progress]" in script and "location.reload" in script


def test_an_officer_of_another_office_is_refused_as_the_api_refuses(
    issuer_env: IssuerHarness,
) -> None:
    _signed_in(issuer_env, "oz", "clerk")
    with Session(issuer_env.engine) as s, s.begin():
        s.add(
            Office(
                id="other-office",
                name="另一认定机构",
                province="12",
                office_code="002",
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        s.flush()
        s.execute(sa.text("UPDATE officer SET office_id='other-office' WHERE username='oz'"))
    for path in ("/office/batches", "/office/batches/1", "/office/batches/1/errors.csv"):
        r = issuer_env.client.get(path)
        assert r.status_code == 403, (path, r.status_code)
        assert "该账户属于其他认定机构" in r.text
    page = issuer_env.client.get("/office")
    r = issuer_env.client.post(
        "/office/batches",
        data={"csrf": _csrf(page.text)},
        files={"file": ("a.csv", bad_rows_file()[0])},
        headers=ORIGIN,
    )
    assert r.status_code == 403
    with Session(issuer_env.engine) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Batch)).scalar_one() == 0


def test_the_console_upload_takes_files_over_the_small_body_limit_up_to_the_batch_cap(
    issuer_env: IssuerHarness,
) -> None:
    _signed_in(issuer_env, "cy", "clerk")
    s = issuer_env.settings
    assert s.body_limit < 1_500_000 < s.batch_max_bytes
    junk = _upload(issuer_env, b"x" * 1_500_000, "big.csv")
    assert junk.status_code == 422, junk.text[:300]  # read and judged by the route: a page
    assert 'id="batch-file-error"' in junk.text
    page = issuer_env.client.get("/office/batches")
    assert f'data-max-bytes="{s.batch_max_bytes}"' in page.text  # office.js checks first
    # past the file's cap but within the body's (which has room for a zip of photos): the
    # route refuses it beside the field; a body past both is the body cap's 413 (test_limits)
    huge = _upload(issuer_env, b"x" * (s.batch_max_bytes + 70_000), "huge.csv")
    assert huge.status_code == 413 and 'id="batch-file-error"' in huge.text
    assert 'id="batch-photos-error"' not in huge.text


def test_the_list_is_newest_first_twenty_a_page_with_links_between_pages(
    issuer_env: IssuerHarness,
) -> None:
    _signed_in(issuer_env, "cy", "clerk")
    with Session(issuer_env.engine) as s, s.begin():
        for i in range(25):
            s.add(
                Batch(
                    office_id=issuer_env.settings.office_id,
                    filename=f"round-{i:02d}.csv",
                    file_sha256=f"{i:064d}",
                    state="done",
                    created_by="officer:cy",
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
    first = issuer_env.client.get("/office/batches")
    names = re.findall(r'<td class="filename">(round-\d+\.csv)</td>', first.text)
    assert names == [f"round-{i:02d}.csv" for i in range(24, 4, -1)]
    assert (
        'href="/office/batches?page=2" rel="next"' in first.text and 'rel="prev"' not in first.text
    )
    second = issuer_env.client.get("/office/batches?page=2&lang=en")
    names = re.findall(r'<td class="filename">(round-\d+\.csv)</td>', second.text)
    assert names == [f"round-{i:02d}.csv" for i in range(4, -1, -1)]
    assert 'href="/office/batches?page=1&amp;lang=en" rel="prev"' in second.text
    assert "Page 2 of 2" in second.text and 'rel="next"' not in second.text
    past = issuer_env.client.get("/office/batches?page=3")
    assert past.status_code == 404 and "批次列表共 2 页" in past.text
    bad = issuer_env.client.get("/office/batches?page=x")
    assert bad.status_code == 422 and "页码无效" in bad.text
