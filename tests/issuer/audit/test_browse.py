"""Browsing and exporting the audit trail (issue 13 point 7): filters that match exactly
what they say, pages that never skip or repeat while records are appended, an export
guarded against formula injection, and only this office's admins may read it."""

from __future__ import annotations

import csv
import datetime as dt
import io

import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer.audit import browse
from issuer.audit.chain import append
from tests.factory.accounts import other_office_admin, personal_admin
from tests.factory.issuer import IssuerHarness, issue, officer

T = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)


def _seed(env: IssuerHarness) -> None:
    """Twelve records: officer:1 and officer:2 alternating, three actions, a day apart."""
    with Session(env.engine) as s:
        for i in range(12):
            append(
                s,
                actor=f"officer:{1 + i % 2}",
                action=("certificate.issued", "certificate.revoked", "officer.created")[i % 3],
                subject=f"2026110011100{i:04d}",
                detail={"n": i, "note": '=HYPERLINK("http://x")' if i == 4 else "plain"},
                at=T + dt.timedelta(days=i),
            )
        s.commit()


def _seqs(page: browse.AuditPage) -> list[int]:
    return [r.seq for r in page.records]


def test_filters_match_exactly_what_they_name(issuer_env: IssuerHarness) -> None:
    _seed(issuer_env)
    with Session(issuer_env.engine) as s:
        base = s.execute(sa.text("SELECT min(id) FROM audit_record WHERE actor LIKE 'officer:%'"))
        first = int(base.scalar_one())

        def find(**kw: object) -> list[int]:
            got = browse.find_records(s, flt=browse.AuditFilter(**kw), limit=200)  # type: ignore[arg-type]
            return [q - first for q in _seqs(got)]

        assert find(actor="officer:2") == [11, 9, 7, 5, 3, 1]
        assert find(action="certificate.revoked") == [10, 7, 4, 1]
        assert find(action="certificate.*", actor="officer:1") == [10, 6, 4, 0]
        assert find(action="certificate%") == []  # a LIKE pattern is not a family
        assert find(subject="20261100111000003") == [3]
        assert find(since=T + dt.timedelta(days=3), until=T + dt.timedelta(days=5)) == [4, 3]


def test_pages_never_skip_or_repeat_while_records_are_appended(issuer_env: IssuerHarness) -> None:
    _seed(issuer_env)
    flt = browse.AuditFilter(actor="officer:1")
    seen: list[int] = []
    with Session(issuer_env.engine) as s:
        page = browse.find_records(s, flt=flt, limit=4)
        seen += _seqs(page)
        append(s, actor="officer:1", action="certificate.issued", subject="x", detail={}, at=T)
        s.commit()
        while page.before is not None:
            page = browse.find_records(s, flt=flt, before=page.before, limit=4)
            seen += _seqs(page)
    assert len(seen) == 6 == len(set(seen)) and seen == sorted(seen, reverse=True)


def test_the_api_pages_filters_and_exports_guarded_csv(issuer_env: IssuerHarness) -> None:
    issue(issuer_env, 1)
    _seed(issuer_env)
    admin = personal_admin(issuer_env)
    r = issuer_env.client.get(
        "/api/v1/audit/records", params={"actor": "officer:2", "limit": 4}, headers=admin
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["actor"] for x in body["records"]] == ["officer:2"] * 4 and body["before"]
    nxt = issuer_env.client.get(
        "/api/v1/audit/records",
        params={"actor": "officer:2", "limit": 4, "before": body["before"]},
        headers=admin,
    ).json()
    assert len(nxt["records"]) == 2 and nxt["before"] is None

    # a time with no zone is Beijing time: 09:00 Beijing is 01:00 UTC, day 2 included
    r = issuer_env.client.get(
        "/api/v1/audit/records",
        params={"since": "2026-12-03T09:00:00", "until": "2026-12-04T09:00:00"},
        headers=admin,
    )
    assert [x["detail"]["n"] for x in r.json()["records"]] == [2]

    r = issuer_env.client.get(
        "/api/v1/audit/records.csv", params={"action": "certificate.*"}, headers=admin
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0] == list(browse.CSV_HEADER)
    actions = {row[3] for row in table[1:]}
    assert actions == {"certificate.issued", "certificate.revoked"}
    assert len(table) - 1 == 8 + 1  # eight seeded, one issued through the API
    [four] = [row for row in table[1:] if '"n": 4' in row[5]]
    assert "HYPERLINK" in four[5] and four[5].startswith("{")  # JSON starts with "{": not a formula
    formula_actor = [row for row in table[1:] if row[2].startswith("'")]
    assert formula_actor == []


def test_a_formula_in_a_cell_is_guarded(issuer_env: IssuerHarness) -> None:
    with Session(issuer_env.engine) as s:
        append(s, actor="=cmd|' /C calc'!A0", action="x.y", subject="@SUM(1)", detail={}, at=T)
        s.commit()
        text = "".join(browse.records_csv(s, flt=browse.AuditFilter(action="x.y")))
    [row] = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]
    assert row[2] == "'=cmd|' /C calc'!A0" and row[4] == "'@SUM(1)"


def test_only_this_offices_admins_read_the_trail(issuer_env: IssuerHarness) -> None:
    clerk = officer(issuer_env, "clerk.a", "clerk")
    supervisor = officer(issuer_env, "sup.a", "supervisor")
    _, other_key = other_office_admin(issuer_env)
    for path in ("/api/v1/audit/records", "/api/v1/audit/records.csv"):
        assert issuer_env.client.get(path).status_code == 401
        assert issuer_env.client.get(path, headers=clerk).status_code == 403
        assert issuer_env.client.get(path, headers=supervisor).status_code == 403
        other = {"Authorization": f"Bearer {other_key}"}
        assert issuer_env.client.get(path, headers=other).status_code == 403


def test_bad_parameters_are_problems_naming_the_field(issuer_env: IssuerHarness) -> None:
    admin = personal_admin(issuer_env)
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"before": 0}, "before"),
        ({"since": "yesterday"}, "since"),
        ({"actor": "a" * 201}, "actor"),
    ):
        r = issuer_env.client.get("/api/v1/audit/records", params=params, headers=admin)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text
