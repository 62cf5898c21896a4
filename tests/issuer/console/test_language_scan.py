"""One language per page (issue 15 point 3), the office console's part: every page under
/office without a path parameter in the app's route table (so a new page is scanned without
being named here), and one certificate's record, in Chinese and in English, scanned for
English, codes or ISO dates on the Chinese side and Chinese or codes on the English side
(tests/factory/language.py). What a clerk reads as data is set aside: the certificate's
fields, officers' user names, key ids and audit action names (shown in monospace)."""

from __future__ import annotations

import html
import re

from tests.factory.console import signed_in
from tests.factory.issuer import IssuerHarness, issue
from tests.factory.language import chinese_faults, english_faults, page_text
from tests.issuer.console.test_crawl import office_routes

# the audit page's search syntax, which its hints show as typed
_AUDIT_SYNTAX = ("officer:zhangsan", "officer:", "certificate.*", ".*")
# the date forms a console date field's hint names on purpose (the search's and the
# record page's fields and the audit filters take them all)
_DATE_FORMS = ("2026-06-05 09:30", "2026-06-05", "2026/6/5", "YYYY-MM-DD")
_MONO = re.compile(r'<(?:td|dd|code|span)[^>]*class="[^"]*mono[^"]*"[^>]*>([^<]*)<')


def test_every_console_page_speaks_one_language(issuer_env: IssuerHarness) -> None:
    cert = issue(issuer_env, 1)
    number = cert["certificate_number"]
    admin = signed_in(issuer_env, "admin-scan", "admin")
    paths = sorted(
        r.path
        for r in office_routes(issuer_env.app)
        if "{" not in r.path
        and "GET" in r.methods
        and not r.path.endswith((".css", ".js", ".csv", ".pdf", ".zip"))
    )
    paths.append(f"/office/certificates/{number}")
    assert len(paths) >= 5
    data = (
        cert["name"],
        cert["subject"],
        cert["id_number_masked"],
        number,
        issuer_env.settings.office_name,
        "admin-scan",
    )
    seen = 0
    for lang, faults in (("zh", chinese_faults), ("en", english_faults)):
        q = "?lang=en" if lang == "en" else ""
        for path in paths:
            page = admin.get(path + q)
            if not page.headers.get("content-type", "").startswith("text/html"):
                continue
            assert page.status_code < 500, path
            shown = data + tuple(
                html.unescape(m).strip() for m in _MONO.findall(page.text) if m.strip()
            )
            if path == "/office/audit":
                shown += _AUDIT_SYNTAX
            shown += _DATE_FORMS
            found = faults(page_text(page.text), shown)
            assert found == [], (lang, path, found)
            seen += 1
    assert seen >= 10
