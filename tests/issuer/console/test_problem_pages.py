"""A problem on a console page reaches a person's browser as a page naming the field, not
as JSON (defect: a form field over the length limit, or a body too large, answered with
problem JSON the browser showed raw); scripts and API clients still get problem JSON."""

from __future__ import annotations

from tests.factory.console import ORIGIN, signed_in
from tests.factory.issuer import IssuerHarness

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_a_too_long_form_field_is_a_page_naming_it(issuer_env: IssuerHarness) -> None:
    clerk = signed_in(issuer_env, "clerk-p", "clerk")
    data = {"number": "1" * 500, "csrf": clerk.token()}
    r = clerk.client.post("/office/certificates", data=data, headers={**ORIGIN, **HTML})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "number" in r.text and "内容过长" in r.text
    assert "Traceback" not in r.text
    en = clerk.client.post("/office/certificates?lang=en", data=data, headers={**ORIGIN, **HTML})
    assert en.status_code == 422 and "number" in en.text and "内容过长" not in en.text
    # the same request from a script (no text/html in Accept) keeps problem JSON
    js = clerk.post("/office/certificates", data)
    assert js.status_code == 422
    assert js.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in js.json()["errors"]] == ["number"]


def test_an_unknown_console_path_is_a_page_and_the_api_keeps_json(
    issuer_env: IssuerHarness,
) -> None:
    clerk = signed_in(issuer_env, "clerk-q", "clerk")
    page = clerk.get("/office/no-such-page", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    api = issuer_env.client.get("/api/v1/no-such-route", headers=HTML)
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
