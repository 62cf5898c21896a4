"""The console's certificates area in a browser's place: find a certificate each way
(the identity number never in a URL nor in full on a page), its page with the status
history and actions, a revocation through the inbox, a claim letter, issuing one."""

from __future__ import annotations

import re
import subprocess

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer.db.models import Office as OfficeRow
from tests.factory.console import ConsoleOfficer, signed_in
from tests.factory.issuer import (
    DECISION,
    IssuerHarness,
    application,
    ensure_office,
    issue,
    rows,
)


def _urls(r) -> list[str]:
    """Return every URL the client asked for (redirects included) and every href shown."""
    asked = [str(h.url) for h in r.history] + [str(r.url)]
    return asked + re.findall(r'(?:href|action)="([^"]*)"', r.text)


def test_factory_signs_two_officers_in_at_once(issuer_env: IssuerHarness) -> None:
    a = signed_in(issuer_env, "ada", "admin")
    c = signed_in(issuer_env, "cy", "clerk")
    assert "/office/officers" in a.get("/office").text
    assert "/office/officers" not in c.get("/office").text


def test_search_by_number_batchless_status_name_and_identity_number(
    issuer_env: IssuerHarness,
) -> None:
    ensure_office(issuer_env)
    first, second = issue(issuer_env, 1), issue(issuer_env, 2)
    clerk = signed_in(issuer_env, "cy", "clerk")
    n1, n2 = first["certificate_number"], second["certificate_number"]
    by_number = clerk.get(f"/office/certificates?number={n1}")
    assert by_number.status_code == 200
    assert n1 in by_number.text and n2 not in by_number.text
    en = clerk.get(f"/office/certificates?number={n1}&lang=en")
    assert 'lang="en"' in en.text and "Find a person" in en.text and n1 in en.text
    everything = clerk.get("/office/certificates?status=valid")
    assert n1 in everything.text and n2 in everything.text
    body = application(2)
    person = clerk.post(
        "/office/certificates", {"name": body["name"], "birth_date": body["birth_date"]}
    )
    assert person.status_code == 200
    assert n2 in person.text and n1 not in person.text
    by_id = clerk.post(
        "/office/certificates", {"id_type": body["id_type"], "id_number": body["id_number"]}
    )
    assert by_id.status_code == 200, by_id.text
    assert n2 in by_id.text and n1 not in by_id.text
    assert body["id_number"] not in by_id.text
    for url in _urls(by_id):
        assert body["id_number"] not in url
    # the person searches are audited under the officer, as the API's are
    searches = rows(
        issuer_env,
        "SELECT actor, detail_json AS detail FROM audit_record WHERE action = 'certificate.searched'",
    )
    assert [r["actor"] for r in searches] == ["officer:cy", "officer:cy"]
    assert all(body["id_number"] not in str(r["detail"]) for r in searches)
    # an identity number in a URL is not used
    leaked = clerk.get(f"/office/certificates?id_number={body['id_number']}")
    assert leaked.status_code == 200 and body["id_number"] not in leaked.text


def test_search_errors_are_named_beside_the_fields(issuer_env: IssuerHarness) -> None:
    clerk = signed_in(issuer_env, "cy", "clerk")
    r = clerk.post("/office/certificates", {"name": "张三"})
    assert r.status_code == 422
    assert 'id="p-birth_date-error"' in r.text
    assert 'aria-describedby="p-birth_date-hint p-birth_date-error"' in r.text
    bad = clerk.get("/office/certificates?batch=abc&status=nope")
    assert bad.status_code == 422
    assert 'id="g-batch-error"' in bad.text and 'id="g-status-error"' in bad.text


def test_next_page_link_follows_the_keyset_cursor(issuer_env: IssuerHarness) -> None:
    ensure_office(issuer_env)
    numbers = {issue(issuer_env, i)["certificate_number"] for i in range(1, 24)}
    clerk = signed_in(issuer_env, "cy", "clerk")
    first = clerk.get("/office/certificates")
    link = re.search(r'href="([^"]*cursor=[^"]*)" rel="next"', first.text)
    assert link, first.text
    second = clerk.get(link[1].replace("&amp;", "&"))
    assert second.status_code == 200
    seen = set(re.findall(r">([0-9]{17})</a>", first.text)) | set(
        re.findall(r">([0-9]{17})</a>", second.text)
    )
    assert seen == numbers


def test_another_offices_certificate_is_a_404_page(issuer_env: IssuerHarness) -> None:
    ensure_office(issuer_env)
    number = issue(issuer_env, 1)["certificate_number"]
    stranger = signed_in(issuer_env, "zz", "supervisor")
    with Session(issuer_env.engine) as s, s.begin():
        s.add(
            OfficeRow(
                id="other", name="其他", province="12", office_code="002", created_at=sa.func.now()
            )
        )
        s.flush()
        s.execute(sa.text("UPDATE officer SET office_id='other' WHERE username='zz'"))
    r = stranger.get(f"/office/certificates/{number}")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert stranger.get(f"/office/certificates/{number}/pdf").status_code == 404
    found = stranger.get(f"/office/certificates?number={number}")
    assert found.status_code == 200 and f">{number}</a>" not in found.text
    assert stranger.post(f"/office/certificates/{number}/suspend", DECISION).status_code == 404
    assert rows(issuer_env, "SELECT status FROM certificate")[0]["status"] == "valid"


def test_record_page_shows_history_after_suspend_and_reinstate(
    issuer_env: IssuerHarness,
) -> None:
    ensure_office(issuer_env)
    number = issue(issuer_env, 1)["certificate_number"]
    sup = signed_in(issuer_env, "su", "supervisor")
    page = sup.get(f"/office/certificates/{number}")
    assert page.status_code == 200 and 'id="cert-status">有效<' in page.text
    done = sup.post(f"/office/certificates/{number}/suspend", DECISION)
    assert done.status_code == 200, done.text
    assert 'id="cert-status">已暂停<' in done.text
    # only the changes the status allows are offered
    assert f"{number}/reinstate" in done.text and f"{number}/suspend" not in done.text
    assert f"{number}/replacement" not in done.text
    back = sup.post(f"/office/certificates/{number}/reinstate", DECISION)
    assert 'id="cert-status">有效<' in back.text
    page = sup.get(f"/office/certificates/{number}?lang=en")
    history = re.findall(r'<td data-change="(\w+)">', page.text)
    assert history == ["issued", "suspended", "reinstated"]
    trail = re.findall(r'<td class="mono">(certificate\.[a-z_]+)</td>', page.text)
    assert trail[-2:] == ["certificate.suspended", "certificate.reinstated"], trail
    assert "Female" in page.text or "female" in page.text  # the sex, named
    # a clerk sees no status forms and is refused if they post one
    clerk = signed_in(issuer_env, "cy", "clerk")
    assert (
        f"/office/certificates/{number}/suspend"
        not in clerk.get(f"/office/certificates/{number}").text
    )
    assert clerk.post(f"/office/certificates/{number}/suspend", DECISION).status_code == 403


def test_revocation_request_lands_pending_then_approval_shows_revoked(
    issuer_env: IssuerHarness,
) -> None:
    ensure_office(issuer_env)
    number = issue(issuer_env, 1)["certificate_number"]
    sup = signed_in(issuer_env, "su", "supervisor")
    other = signed_in(issuer_env, "sv", "supervisor")
    missing = sup.post(f"/office/certificates/{number}/revoke", {"reason_code": "misconduct"})
    assert missing.status_code == 422
    assert 'id="revoke-legal_basis-error"' in missing.text
    asked = sup.post(f"/office/certificates/{number}/revoke", DECISION)
    assert asked.status_code == 200, asked.text
    assert "等待另一位审核人员批准" in asked.text and 'id="pending-list"' in asked.text
    assert 'id="cert-status">有效<' in asked.text
    pending = rows(issuer_env, "SELECT id, kind, decision FROM pending_action")
    assert [(p["kind"], p["decision"]) for p in pending] == [("revoke", None)]
    ok = issuer_env.client.post(
        f"/api/v1/pending-actions/{pending[0]['id']}/approve", headers=other.api
    )
    assert ok.status_code == 200, ok.text
    page = sup.get(f"/office/certificates/{number}")
    assert 'id="cert-status">已撤销<' in page.text and 'id="pending-list"' not in page.text
    assert f"{number}/revoke" not in page.text and f"{number}/suspend" not in page.text


def test_issue_one_shows_errors_beside_fields_then_issues_once(
    issuer_env: IssuerHarness,
) -> None:
    ensure_office(issuer_env)
    clerk = signed_in(issuer_env, "cy", "clerk")
    form = clerk.get("/office/certificates/new")
    key = re.search(r'name="key" value="([^"]+)"', form.text)[1]
    body = application(5)
    bad = clerk.post("/office/certificates/new", {**body, "birth_date": "1999-02-30", "key": key})
    assert bad.status_code == 422
    assert 'id="new-birth_date-error"' in bad.text
    assert 'aria-describedby="new-birth_date-hint new-birth_date-error"' in bad.text
    assert rows(issuer_env, "SELECT count(*) AS n FROM certificate")[0]["n"] == 0
    key = re.search(r'name="key" value="([^"]+)"', bad.text)[1]
    one = clerk.post("/office/certificates/new", {**body, "key": key})
    two = clerk.post("/office/certificates/new", {**body, "key": key})
    assert one.status_code == two.status_code == 303
    assert one.headers["location"] == two.headers["location"]
    assert rows(issuer_env, "SELECT count(*) AS n FROM certificate")[0]["n"] == 1
    page = clerk.get(one.headers["location"])
    assert page.status_code == 200 and body["name"] in page.text
    actors = rows(issuer_env, "SELECT actor FROM audit_record WHERE action='certificate.issued'")
    assert [a["actor"] for a in actors] == ["officer:cy"]


def test_claim_letter_pdf_holds_the_code_shown_on_the_page(
    issuer_env: IssuerHarness, tmp_path
) -> None:
    ensure_office(issuer_env)
    number = issue(issuer_env, 1)["certificate_number"]
    clerk = signed_in(issuer_env, "cy", "clerk")
    made = clerk.post(f"/office/certificates/{number}/claim-code")
    assert made.status_code == 201, made.text
    code = re.search(r'id="claim-code">([A-Z0-9-]+)<', made.text)[1]
    made_by = rows(
        issuer_env, "SELECT actor FROM audit_record WHERE action='holder.claim_code_issued'"
    )
    assert [r["actor"] for r in made_by] == ["officer:cy"]
    assert code not in clerk.get(f"/office/certificates/{number}").text  # shown once
    letter = clerk.post(f"/office/certificates/{number}/claim-letter", {"code": code})
    assert letter.status_code == 200 and letter.headers["content-type"] == "application/pdf"
    path = tmp_path / "letter.pdf"
    path.write_bytes(letter.content)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert code in text and number in text
    # a code that is not the holder's live code prints nothing
    wrong = clerk.post(
        f"/office/certificates/{number}/claim-letter", {"code": "ABCD-EFGH-JKMN-PQRS"}
    )
    assert wrong.status_code == 409 and "application/pdf" not in wrong.headers["content-type"]
    # a new code replaces the old one: the old one's letter is no longer made
    again = clerk.post(f"/office/certificates/{number}/claim-code")
    assert re.search(r'id="claim-code">([A-Z0-9-]+)<', again.text)[1] != code
    old = clerk.post(f"/office/certificates/{number}/claim-letter", {"code": code})
    assert old.status_code == 409
    pdf = clerk.get(f"/office/certificates/{number}/pdf")
    api = issuer_env.client.get(f"/api/v1/certificates/{number}/pdf", headers=clerk.api)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    # the same signed document as the API's (a signature differs run to run: its text not)
    assert pdf.content[:5] == b"%PDF-" and len(pdf.content) == len(api.content)
    (tmp_path / "console.pdf").write_bytes(pdf.content)
    (tmp_path / "api.pdf").write_bytes(api.content)
    texts = [
        subprocess.run(
            ["pdftotext", str(tmp_path / name), "-"], capture_output=True, text=True, check=True
        ).stdout
        for name in ("console.pdf", "api.pdf")
    ]
    assert texts[0] == texts[1] and number in texts[0]


@pytest.mark.parametrize(
    "path",
    [
        "/office/certificates?cursor=%00%ff",
        "/office/certificates?cursor=' OR 1=1--",
        "/office/certificates?number=<script>&batch=99999999999999999999",
        "/office/certificates?status=%E2%80%AE",
        "/office/certificates/..%2F..%2Fetc",
        "/office/certificates/00000000000000000/pdf",
        "/office/certificates/abc",
        "/office/certificates/" + "9" * 300,
    ],
)
def test_hostile_parameters_give_a_page_never_a_5xx(issuer_env: IssuerHarness, path: str) -> None:
    clerk: ConsoleOfficer = signed_in(issuer_env, "cy", "clerk")
    r = clerk.get(path)
    assert r.status_code < 500 and r.status_code in (200, 404, 422), (path, r.status_code)
    assert "Traceback" not in r.text


def _key(html: str, form: str) -> str:
    """Return the Idempotency-Key of the ``form`` (replacement, correction) on a page."""
    found = re.search(rf'/{form}[^"]*"[^>]*>.*?name="key" value="([^"]+)"', html, re.S)
    assert found, f"no key in the {form} form"
    return found[1]


def test_replacement_and_correction_land_pending_once_each(issuer_env: IssuerHarness) -> None:
    ensure_office(issuer_env)
    number = issue(issuer_env, 1)["certificate_number"]
    sup = signed_in(issuer_env, "su", "supervisor")
    page = sup.get(f"/office/certificates/{number}").text
    rkey, ckey = _key(page, "replacement"), _key(page, "correction")
    assert rkey != ckey
    unknown = sup.post(
        f"/office/certificates/{number}/replacement", {"reason_code": "x", "key": rkey}
    )
    assert unknown.status_code == 422 and 'id="replace-reason_code-error"' in unknown.text
    for _ in range(2):  # a double submit asks once
        asked = sup.post(
            f"/office/certificates/{number}/replacement",
            {"reason_code": "lost_document", "key": rkey},
        )
        assert asked.status_code == 200, asked.text
        assert "等待另一位审核人员批准" in asked.text
    empty = sup.post(f"/office/certificates/{number}/correction", {"key": ckey})
    assert empty.status_code == 422 and 'role="alert"' in empty.text
    fixed = sup.post(f"/office/certificates/{number}/correction", {"subject": "物理", "key": ckey})
    assert fixed.status_code == 200, fixed.text
    kinds = [r["kind"] for r in rows(issuer_env, "SELECT kind FROM pending_action ORDER BY id")]
    assert kinds == ["replace", "correct"]
    page = sup.get(f"/office/certificates/{number}?lang=en").text
    assert "Replacement" in page and "Correction" in page and 'lang="en"' in page


def test_pages_and_downloads_need_a_console_session(issuer_env: IssuerHarness) -> None:
    ensure_office(issuer_env)
    number = issue(issuer_env, 1)["certificate_number"]
    c = issuer_env.client
    for path in ("/office/certificates", f"/office/certificates/{number}/pdf"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/office/signin")
    # an API key opens no console page
    api = signed_in(issuer_env, "cy", "clerk").api
    assert (
        c.get(f"/office/certificates/{number}/pdf", headers=api, follow_redirects=False).status_code
        == 303
    )
    # a form without its token changes nothing
    clerk = signed_in(issuer_env, "cz", "clerk")
    r = clerk.client.post(
        f"/office/certificates/{number}/claim-code",
        data={"csrf": "x"},
        headers={"Origin": "http://testserver"},
    )
    assert r.status_code == 403
    assert rows(issuer_env, "SELECT count(*) AS n FROM holder_claim_code")[0]["n"] == 0


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/office/certificates/{n}/explode", {}),
        ("/office/certificates/123/suspend", {}),
        (
            "/office/certificates/{n}/suspend",
            {"decision_date": "9999-99-99", "reason_code": "\x00"},
        ),
        ("/office/certificates/{n}/claim-letter", {"code": "\u202e' OR 1=1"}),
        ("/office/certificates/new", {"name": "<script>", "key": "short"}),
        ("/office/certificates", {"cursor": "AAAA", "batch": "-1"}),
    ],
)
def test_hostile_forms_give_a_page_never_a_5xx(
    issuer_env: IssuerHarness, path: str, data: dict[str, str]
) -> None:
    ensure_office(issuer_env)
    number = issue(issuer_env, 1)["certificate_number"]
    sup = signed_in(issuer_env, "su", "supervisor")
    r = sup.post(path.format(n=number), data)
    assert r.status_code in (404, 409, 422), (path, r.status_code)
    assert "text/html" in r.headers["content-type"] and "<script>" not in r.text
    assert rows(issuer_env, "SELECT status FROM certificate")[0]["status"] == "valid"
