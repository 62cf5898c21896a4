"""The audit page (/office/audit, admins): the chain's check at the top (whole, or the first
bad record once a row is altered), records filtered by officer, action family, subject
and Beijing dates, pages, and the CSV export with the same filters."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa

from credential import BEIJING
from issuer.web.routes import office_audit
from tests.factory.issuer import DECISION, IssuerHarness, issue, post, rows
from tests.issuer.console._signed_in import Browser, signed_in

PAGE = "/office/audit"


def _world(env: IssuerHarness) -> tuple[Browser, str]:
    """An admin's browser, two certificates and a revocation requested by sup_a; return
    the admin and the second certificate's number."""
    issue(env, 1)  # with the bootstrap key, which stops working once an admin exists
    number = issue(env, 2)["certificate_number"]
    admin = signed_in(env, "ada", "admin")
    sup = signed_in(env, "sup_a", "supervisor")
    asked = post(env, f"/api/v1/certificates/{number}/revocations", DECISION, sup.api)
    assert asked.status_code == 202, asked.text
    return admin, number


def _seqs(text: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr id="rec-([0-9]+)"', text)]


def test_the_page_shows_the_chain_whole_and_filters_records(issuer_env: IssuerHarness) -> None:
    admin, number = _world(issuer_env)
    every = rows(issuer_env, "SELECT id, actor, action, subject FROM audit_record ORDER BY id")
    page = admin.get(PAGE)
    assert page.status_code == 200, page.text
    assert "审计链完整" in page.text and f"已核对 {len(every)} 条记录" in page.text
    assert _seqs(page.text) == [r["id"] for r in reversed(every)]
    by_sup = admin.get(PAGE + "?actor=officer:sup_a")
    want = [r["id"] for r in reversed(every) if r["actor"] == "officer:sup_a"]
    assert want and _seqs(by_sup.text) == want
    family = admin.get(PAGE + "?action=certificate.*")
    want = [r["id"] for r in reversed(every) if r["action"].startswith("certificate.")]
    assert len(want) >= 3 and _seqs(family.text) == want
    on_number = admin.get(PAGE + f"?subject={number}")
    want = [r["id"] for r in reversed(every) if r["subject"] == number]
    assert want and _seqs(on_number.text) == want
    today = dt.datetime.now(BEIJING).date()
    assert _seqs(admin.get(PAGE + f"?since={today}&until={today}").text) == _seqs(page.text)
    yesterday = today - dt.timedelta(days=1)
    assert _seqs(admin.get(PAGE + f"?until={yesterday}").text) == []
    assert _seqs(admin.get(PAGE + f"?since={today + dt.timedelta(days=1)}").text) == []
    assert "No record matches" in admin.get(PAGE + "?actor=nobody&lang=en").text


def test_pages_follow_the_before_cursor(
    issuer_env: IssuerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, _ = _world(issuer_env)
    monkeypatch.setattr(office_audit, "PAGE", 2)
    every = [r["id"] for r in rows(issuer_env, "SELECT id FROM audit_record ORDER BY id DESC")]
    first = admin.get(PAGE + "?action=certificate.*")
    shown = _seqs(first.text)
    assert len(shown) == 2
    link = f'href="/office/audit?action=certificate.%2A&amp;before={shown[-1]}"'
    assert link in first.text
    second = admin.get(PAGE + f"?action=certificate.*&before={shown[-1]}")
    assert _seqs(second.text) and max(_seqs(second.text)) < min(shown)
    assert set(_seqs(second.text)) <= set(every)


def test_the_csv_export_has_the_same_filters(issuer_env: IssuerHarness) -> None:
    admin, number = _world(issuer_env)
    page = admin.get(PAGE + "?action=certificate.*")
    assert 'href="/office/audit/records.csv?action=certificate.%2A"' in page.text
    r = admin.get("/office/audit/records.csv?action=certificate.*")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0] == ["seq", "at", "actor", "action", "subject", "detail"]
    assert [int(row[0]) for row in table[1:]] == _seqs(page.text)
    assert all(row[3].startswith("certificate.") for row in table[1:])
    one = admin.get(f"/office/audit/records.csv?subject={number}&actor=officer:sup_a")
    lines = list(csv.reader(io.StringIO(one.content.decode("utf-8-sig"))))[1:]
    assert [row[3] for row in lines] == ["certificate.revocation_requested"]


def test_a_tampered_record_shows_the_chain_broken(issuer_env: IssuerHarness) -> None:
    admin, _ = _world(issuer_env)
    with issuer_env.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_record SET actor = 'someone-else' WHERE id = 3"))
    page = admin.get(PAGE)
    assert page.status_code == 200
    assert "审计链已被破坏" in page.text and "第一条有问题的记录：第 3 条" in page.text
    assert '<tr id="rec-3" class="refused">' in page.text
    assert "First bad record: #3" in admin.get(PAGE + "?lang=en").text
    # a filtered page does not read the whole chain unless asked; asked, it says the same
    filtered = admin.get(PAGE + "?actor=officer:sup_a")
    assert "审计链" in filtered.text and 'id="chain"' not in filtered.text
    assert 'href="/office/audit?actor=officer%3Asup_a&amp;check=1"' in filtered.text
    asked = admin.get(PAGE + "?actor=officer:sup_a&check=1")
    assert "第一条有问题的记录：第 3 条" in asked.text


@pytest.mark.parametrize("role", ["clerk", "supervisor"])
def test_only_admins_open_the_audit_pages(issuer_env: IssuerHarness, role: str) -> None:
    other = signed_in(issuer_env, "someone", role)
    for path in (PAGE, "/office/audit/records.csv"):
        r = other.get(path)
        assert r.status_code == 403 and "text/html" in r.headers["content-type"]
    assert "/office/audit" not in other.get("/office").text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?since=yesterday", "since"),
        ("?until=2026-13-45", "until"),
        ("?since=2026-12-05&until=2026-12-01", "until"),
        ("?actor=%00", "actor"),
        ("?subject=" + "x" * 300, "subject"),
        ("?since=" + "9" * 100, "since"),
    ],
)
def test_a_bad_filter_is_named_beside_it(issuer_env: IssuerHarness, query: str, field: str) -> None:
    admin = signed_in(issuer_env, "ada", "admin")
    r = admin.get(PAGE + query)
    assert r.status_code == 422, r.text
    assert f'id="a-{field}-error"' in r.text and 'aria-invalid="true"' in r.text
    csv_page = admin.get("/office/audit/records.csv" + query)
    assert csv_page.status_code == 422 and "text/html" in csv_page.headers["content-type"]


@pytest.mark.parametrize("before", ["abc", "0", "-1", "9" * 30])
def test_a_bad_cursor_gives_a_page(issuer_env: IssuerHarness, before: str) -> None:
    admin = signed_in(issuer_env, "ada", "admin")
    r = admin.get(PAGE + f"?before={before}")
    assert r.status_code == 422 and "before" in r.text
