"""Times on the certificate pages are Beijing wall-clock times, as every other console page
shows them (defect: the certificate page and the search results printed stored UTC in
RFC 3339, eight hours off for a clerk reading them)."""

from __future__ import annotations

import datetime as dt
import re

from credential import beijing_text
from tests.factory.console import signed_in
from tests.factory.issuer import IssuerHarness, issue, rows


def test_the_certificate_page_shows_beijing_time(issuer_env: IssuerHarness) -> None:
    number = issue(issuer_env, 1)["certificate_number"]
    [row] = rows(issuer_env, "SELECT created_at FROM certificate")
    stored = row["created_at"]
    if isinstance(stored, str):
        stored = dt.datetime.fromisoformat(stored)
    shown = beijing_text(stored)  # naive: UTC; 2026年6月5日 09:02 北京时间
    clerk = signed_in(issuer_env, "clerk-t", "clerk")
    page = clerk.get(f"/office/certificates/{number}")
    assert page.status_code == 200
    assert shown in page.text
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", page.text)
    found = clerk.get(f"/office/certificates?number={number}")
    assert shown in found.text
