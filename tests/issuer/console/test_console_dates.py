"""The console's date fields take a date as people write it (issue 15 point 3): 2026年6月5日
as well as 2026-06-05 and 2026/6/5, in the audit filters, the search by person and the
record page's forms; a Chinese page shows the date back as 2026年6月5日, and each field's
hint names the forms. The pages stay in one language (the scan of tests/factory/language)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from credential import BEIJING, date_text
from issuer.web.routes._office_common import shown_date, typed_date, typed_moment
from tests.factory.console import signed_in
from tests.factory.issuer import IssuerHarness, application, ensure_office, issue
from tests.factory.language import chinese_faults, english_faults, page_text
from tests.issuer.console.test_language_scan import _MONO


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("2026-06-05", "2026-06-05"),
        ("2026/6/5", "2026-06-05"),
        ("2026.06.05", "2026-06-05"),
        ("2026年6月5日", "2026-06-05"),
        (" ２０２６年６月５日 ", "2026-06-05"),  # full-width digits, spaces around
        ("2026/2/30", "2026/2/30"),  # no such day: left for the field's rule to refuse
        ("2026-6-5x", "2026-6-5x"),
        ("", ""),
    ],
)
def test_a_typed_date_becomes_the_day_or_stays_as_typed(typed: str, day: str) -> None:
    assert typed_date(typed) == day


def test_a_moment_is_a_date_and_an_optional_time() -> None:
    assert typed_moment("2026年6月5日 09:30") == (dt.date(2026, 6, 5), (9, 30))
    assert typed_moment("2026-06-05T09:30") == (dt.date(2026, 6, 5), (9, 30))
    assert typed_moment("2026/6/5") == (dt.date(2026, 6, 5), None)
    for bad in ("2026年6月5日 25:00", "yesterday", "2026-06-05 9", "x" * 40):
        with pytest.raises(ValueError):
            typed_moment(bad)
    assert shown_date("2026-06-05", "zh") == "2026年6月5日"
    assert shown_date("2026/6/5 09:30", "zh") == "2026年6月5日 09:30"
    assert shown_date("2026-06-05", "en") == "2026-06-05"
    assert shown_date("nonsense", "zh") == "nonsense"


def _audit_rows(text: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr id="rec-([0-9]+)"', text)]


def test_the_audit_filters_take_a_chinese_date_and_show_it_back(
    issuer_env: IssuerHarness,
) -> None:
    issue(issuer_env, 1)
    admin = signed_in(issuer_env, "ada", "admin")
    today = dt.datetime.now(BEIJING).date()
    iso = admin.get(f"/office/audit?since={today}&until={today}")
    assert iso.status_code == 200 and _audit_rows(iso.text), iso.text
    zh_day = date_text(today, "zh")
    for typed in (zh_day, f"{today.year}/{today.month}/{today.day}"):
        page = admin.get("/office/audit", params={"since": typed, "until": typed})
        assert page.status_code == 200, page.text
        assert _audit_rows(page.text) == _audit_rows(iso.text)
        assert f'value="{zh_day}"' in page.text  # shown back as a Chinese page writes it
    tomorrow = date_text(today + dt.timedelta(days=1), "zh")
    assert _audit_rows(admin.get("/office/audit", params={"since": tomorrow}).text) == []
    with_time = admin.get("/office/audit", params={"since": f"{zh_day} 00:00"})
    assert _audit_rows(with_time.text) == _audit_rows(iso.text)
    assert f'value="{zh_day} 00:00"' in with_time.text
    bad = admin.get("/office/audit", params={"since": "明天"})
    assert 'id="a-since-error"' in bad.text
    # the hints name the forms and the search syntax is explained, in both languages
    assert "2026年6月5日、2026-06-05 或 2026/6/5" in iso.text and "各项条件同时满足" in iso.text
    en = admin.get("/office/audit", params={"since": zh_day, "lang": "en"})
    assert _audit_rows(en.text) == _audit_rows(iso.text)
    assert "2026-06-05 or 2026/6/5" in en.text and "meets every filter" in en.text


def test_a_person_is_found_by_a_birth_date_written_in_chinese(issuer_env: IssuerHarness) -> None:
    ensure_office(issuer_env)
    number = issue(issuer_env, 2)["certificate_number"]
    clerk = signed_in(issuer_env, "cy", "clerk")
    body = application(2)
    born = dt.date.fromisoformat(body["birth_date"])
    for typed in (date_text(born, "zh"), f"{born.year}/{born.month}/{born.day}"):
        found = clerk.post("/office/certificates", {"name": body["name"], "birth_date": typed})
        assert found.status_code == 200, found.text
        assert number in found.text
        assert f'value="{date_text(born, "zh")}"' in found.text
    en = clerk.post(
        "/office/certificates?lang=en",
        {"name": body["name"], "birth_date": date_text(born, "zh")},
    )
    assert number in en.text and "(a date written in Chinese is taken too)" in en.text


def test_the_date_pages_speak_one_language(issuer_env: IssuerHarness) -> None:
    ensure_office(issuer_env)
    cert = issue(issuer_env, 3)
    admin = signed_in(issuer_env, "ada", "admin")
    body = application(3)
    today = date_text(dt.datetime.now(BEIJING).date(), "zh")
    # the forms a hint names on purpose, and the data the pages show
    forms = ("2026-06-05", "2026/6/5", "2026-06-05 09:30", "YYYY-MM-DD")
    data = (
        *forms,
        cert["name"],
        cert["subject"],
        cert["certificate_number"],
        cert["id_number_masked"],
        issuer_env.settings.office_name,
        "ada",
        "officer:zhangsan",
        "officer:",
        "certificate.*",
        ".*",
    )
    for lang, faults in (("zh", chinese_faults), ("en", english_faults)):
        q = {"lang": "en"} if lang == "en" else {}
        audit = admin.get("/office/audit", params={"since": today, **q})
        shown = data + tuple(html.unescape(m).strip() for m in _MONO.findall(audit.text))
        found = faults(page_text(audit.text), shown + ((today,) if lang == "en" else ()))
        assert found == [], (lang, "audit", found)
        path = "/office/certificates" + ("?lang=en" if lang == "en" else "")
        person = admin.post(path, {"name": body["name"], "birth_date": body["birth_date"]})
        assert person.status_code == 200, person.text
        found = faults(page_text(person.text), (*data, body["name"]))  # the date: Chinese
        assert found == [], (lang, "search", found)


def test_a_decision_date_written_in_chinese_is_taken_and_a_bad_one_shown_back(
    issuer_env: IssuerHarness,
) -> None:
    from tests.factory.issuer import DECISION, rows

    ensure_office(issuer_env)
    number = issue(issuer_env, 4)["certificate_number"]
    sup = signed_in(issuer_env, "su", "supervisor")
    done = sup.post(
        f"/office/certificates/{number}/suspend", {**DECISION, "decision_date": "2026年11月20日"}
    )
    assert done.status_code == 200, done.text
    assert 'id="cert-status">已暂停<' in done.text
    decided = rows(
        issuer_env,
        "SELECT detail_json AS detail FROM audit_record WHERE action = 'certificate.suspended'",
    )
    assert decided and "2026-11-20" in str(decided[-1]["detail"])  # stored as the day
    # a day that does not exist is refused beside the field, shown back as typed
    bad = sup.post(
        f"/office/certificates/{number}/reinstate", {**DECISION, "decision_date": "2026年2月30日"}
    )
    assert bad.status_code == 422, bad.text
    assert 'value="2026年2月30日"' in bad.text and "decision_date-error" in bad.text
    assert "如 2026年6月5日、2026-06-05 或 2026/6/5" in bad.text
