"""One language per page (issue 15 point 3): every holder page and message, in Chinese and
in English, scanned for English or codes on the Chinese side and Chinese or codes on the
English side, the teacher's own data aside (tests/factory/language.py)."""

from __future__ import annotations

import re

from issuer.web.holder_pages import STRINGS
from tests.factory.issuer import API_KEY, IssuerHarness, application
from tests.factory.language import chinese_faults, english_faults, page_text, strings_of

ORIGIN = {"Origin": "http://testserver"}
OFFICE = {"Authorization": f"Bearer {API_KEY}"}
_ISO = re.compile(r"\d{4}-\d\d-\d\d")


def test_the_holder_string_tables_speak_one_language() -> None:
    zh = {k: v for k, v in STRINGS["zh"].items() if k != "html_lang"}
    assert chinese_faults(strings_of(zh)) == []
    assert all("验证" not in s and "查验" not in s for s in strings_of(zh))
    en = {k: v for k, v in STRINGS["en"].items() if k != "html_lang"}
    assert english_faults(strings_of(en)) == []


def test_every_holder_page_speaks_one_language(issuer_env: IssuerHarness) -> None:
    client = issuer_env.client
    made = issuer_env.issue(application(71))
    assert made.status_code == 201, made.text
    cert = made.json()
    number = cert["certificate_number"]
    r = client.post(f"/api/v1/certificates/{number}/claim-code", headers=OFFICE)
    assert r.status_code == 201, r.text
    code = r.json()["claim_code"]
    purpose = "应聘北京市第一中学教师岗位"
    data = (
        cert["name"],
        cert["subject"],
        cert["id_number_masked"],
        number,
        issuer_env.settings.office_name,
        purpose,
    )
    for lang, faults in (("zh", chinese_faults), ("en", english_faults)):
        q = "?lang=en" if lang == "en" else ""
        client.cookies.clear()
        pages = {"login": client.get(f"/holder{q}")}
        pages["wrong code"] = client.post(
            f"/holder/login{q}", data={"number": number, "code": "x"}, headers=ORIGIN
        )
        pages["not signed in"] = client.get(f"/holder/certificates{q}")
        r = client.post(
            f"/holder/login{q}",
            data={"number": number, "code": code, **({"lang": "en"} if lang == "en" else {})},
            headers=ORIGIN,
        )
        assert r.status_code == 200, r.text  # followed to the list
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', r.text)
        assert csrf is not None
        copy = client.post(
            f"/holder/certificates/{number}/copy{q}",
            data={"purpose": purpose, "days": "30", "csrf": csrf.group(1)},
            headers=ORIGIN,
        )
        assert copy.status_code == 200, copy.text
        pages["bad copy"] = client.post(
            f"/holder/certificates/{number}/copy{q}",
            data={"purpose": "", "days": "999", "csrf": csrf.group(1)},
            headers=ORIGIN,
        )
        pages["list"] = client.get(f"/holder/certificates{q}")
        pages["not found"] = client.get(f"/holder/certificates/{'1' * 17}.pdf{q}")
        assert purpose in pages["list"].text  # the copy is listed, so its dates are seen
        for name, page in pages.items():
            assert page.headers["content-type"].startswith("text/html"), name
            text = page_text(page.text)
            assert faults(text, data) == [], (lang, name)
            assert not any(_ISO.search(t) for t in text), (lang, name)
        assert ("年" in pages["list"].text) == (lang == "zh")
