"""The restricted list page (/office/restrictions): an entry recorded from the page waits
for a second supervisor, then shows with its national state; a refusal by the registry
is shown with its reason; a person looked up shows barred; a removal is requested per
entry; bad fields are named beside them; clerks get a 403 page."""

from __future__ import annotations

import html

import pytest

from tests.factory.issuer import (
    IssuerHarness,
    application,
    entry_body,
    full_id_numbers,
    issue,
    record,
    rows,
)
from tests.issuer.console._signed_in import ORIGIN, Browser, hidden, signed_in
from tests.issuer.lifecycle.test_restriction_list import _national, _push

PAGE = "/office/restrictions"


def _record_form(i: int, **over: str) -> dict[str, str]:
    body = entry_body(i)
    form = {k: str(body[k]) for k in ("name", "id_type", "id_number", "category")}
    form.update(decision_date=body["decision_date"], legal_basis=body["legal_basis"])
    form.update(over)
    return form


def _approve_only_pending(b: Browser, env: IssuerHarness) -> None:
    [action] = rows(env, "SELECT id FROM pending_action WHERE decision IS NULL")
    r = b.post(f"/office/inbox/{action['id']}/approve", {}, page="/office/inbox")
    assert r.status_code == 200, r.text


def test_an_entry_recorded_from_the_page_waits_then_shows_waiting_nationally(
    issuer_env: IssuerHarness,
) -> None:
    a = signed_in(issuer_env, "sup_a", "supervisor")
    b = signed_in(issuer_env, "sup_b", "supervisor")
    number = issue(issuer_env, 1)["certificate_number"]
    person = application(1)
    asked = a.post(PAGE, _record_form(1), page=PAGE)
    assert asked.status_code == 202, asked.text
    assert "等待另一位审核人员批准" in asked.text
    assert person["id_number"] not in asked.text
    assert not rows(issuer_env, "SELECT id FROM restriction")
    pending = rows(issuer_env, "SELECT kind, requested_by FROM pending_action")
    assert [p["kind"] for p in pending] == ["restrict"]
    # the inbox says how many certificates approval would revoke
    inbox = html.unescape(b.get("/office/inbox").text)
    assert "列入限制库" in inbox and "1 本" in inbox and person["name"] in inbox
    _approve_only_pending(b, issuer_env)
    cert = rows(issuer_env, f"SELECT status FROM certificate WHERE certificate_number='{number}'")
    assert cert == [{"status": "revoked"}]
    listed = a.get(PAGE)
    assert listed.status_code == 200
    text = html.unescape(listed.text)
    assert person["name"] in text and "等待上报" in text and "撤销教师资格" in text
    assert full_id_numbers(text) == []
    assert "Waiting to be sent" in a.get(PAGE + "?lang=en").text


def test_a_registry_refusal_is_shown_with_its_reason(issuer_env: IssuerHarness) -> None:
    a = signed_in(issuer_env, "sup_a", "supervisor")
    b = signed_in(issuer_env, "sup_b", "supervisor")
    first = record(issuer_env, entry_body(1), a.api, b.api)
    second = record(issuer_env, entry_body(2, category="lost"), a.api, b.api)
    _push(issuer_env, {first["id"]: 403})
    text = a.get(PAGE).text
    row = text.split(f'id="entry-{first["id"]}"')[1].split("</tr>")[0]
    assert row.startswith(' class="refused">')  # highlighted: an officer must act
    assert "全国库拒收" in row and "403" in row
    row2 = text.split(f'id="entry-{second["id"]}"')[1].split("</tr>")[0]
    assert "已上报全国库" in row2
    # filters and pages
    only_lost = a.get(PAGE + "?category=lost").text
    assert f'id="entry-{second["id"]}"' in only_lost
    assert f'id="entry-{first["id"]}"' not in only_lost
    older = a.get(PAGE + f"?before={second['id']}").text
    assert f'id="entry-{first["id"]}"' in older and f'id="entry-{second["id"]}"' not in older


def test_a_person_looked_up_shows_barred_and_is_audited(issuer_env: IssuerHarness) -> None:
    a = signed_in(issuer_env, "sup_a", "supervisor")
    b = signed_in(issuer_env, "sup_b", "supervisor")
    record(issuer_env, entry_body(1), a.api, b.api)
    _national(issuer_env, 3, 7)
    person = application(1)
    found = a.post(
        PAGE + "/lookup",
        {"id_type": person["id_type"], "id_number": person["id_number"]},
        page=PAGE,
    )
    assert found.status_code == 200, found.text
    assert "该人员目前不得认定教师资格" in found.text
    assert person["id_number"] not in found.text
    clear = a.post(
        PAGE + "/lookup",
        {"id_type": application(5)["id_type"], "id_number": application(5)["id_number"]},
        page=PAGE,
    )
    assert "该人员目前不在限制期内" in clear.text
    other = a.post(
        PAGE + "/lookup",
        {"id_type": application(3)["id_type"], "id_number": application(3)["id_number"]},
        page=PAGE,
    )
    assert "不得认定" in other.text and "urn:jiaozi:office:31001" in other.text
    searched = rows(
        issuer_env, "SELECT actor FROM audit_record WHERE action='restriction.searched'"
    )
    assert len(searched) == 3 and searched[0]["actor"] == "officer:sup_a"
    # the other office's entry is listed among the national ones
    assert "urn:jiaozi:office:31001" in a.get(PAGE).text
    bad = a.post(PAGE + "/lookup", {"id_type": "resident_id", "id_number": "123"}, page=PAGE)
    assert bad.status_code == 422
    assert 'id="lookup-id_number-error"' in bad.text


def test_a_removal_is_requested_per_entry(issuer_env: IssuerHarness) -> None:
    a = signed_in(issuer_env, "sup_a", "supervisor")
    b = signed_in(issuer_env, "sup_b", "supervisor")
    entry = record(issuer_env, entry_body(1), a.api, b.api)
    path = f"{PAGE}/{entry['id']}/removal"
    bad = a.post(path, {"reason": "", "decision_date": "2999-01-01"}, page=PAGE)
    assert bad.status_code == 422
    assert f'id="rm{entry["id"]}-reason-error"' in bad.text
    assert f'id="rm{entry["id"]}-decision_date-error"' in bad.text
    assert "<details open>" in bad.text
    ok = a.post(path, {"reason": "行政复议撤销原决定", "decision_date": "2026-11-25"}, page=PAGE)
    assert ok.status_code == 202, ok.text
    _approve_only_pending(b, issuer_env)
    removed = html.unescape(a.get(PAGE + "?state=removed").text)
    assert "行政复议撤销原决定" in removed and f'id="entry-{entry["id"]}"' in removed
    again = a.post(path, {"reason": "再次", "decision_date": "2026-11-25"}, page=PAGE)
    assert again.status_code == 409 and 'role="alert"' in again.text


def test_bad_fields_of_a_new_entry_are_named_beside_them(issuer_env: IssuerHarness) -> None:
    a = signed_in(issuer_env, "sup_a", "supervisor")
    form = _record_form(1, id_number="110105197609062460", category="x", legal_basis="")
    r = a.post(PAGE, form, page=PAGE)
    assert r.status_code == 422
    for name in ("id_number", "category", "legal_basis"):
        assert f'id="rec-{name}-error"' in r.text
        assert f'aria-describedby="rec-{name}-error"' in r.text
    assert "110105197609062460" not in r.text
    assert not rows(issuer_env, "SELECT id FROM pending_action")


def test_clerks_get_a_403_page(issuer_env: IssuerHarness) -> None:
    clerk = signed_in(issuer_env, "cy", "clerk")
    assert clerk.get(PAGE).status_code == 403
    token = hidden(clerk.get("/office").text, "csrf")
    r = clerk.client.post(PAGE, data={**_record_form(1), "csrf": token}, headers=ORIGIN)
    assert r.status_code == 403 and "text/html" in r.headers["content-type"]
    assert not rows(issuer_env, "SELECT id FROM pending_action")


@pytest.mark.parametrize(
    "query",
    [
        "?state=<script>",
        "?category=banned",
        "?before=abc",
        "?before=-5",
        "?before=99999999999999999999999",
        "?nbefore=" + "x" * 400,
        "?nbefore=%00",
        "?state=all&category=&before=",
    ],
)
def test_hostile_query_parameters_give_a_page(issuer_env: IssuerHarness, query: str) -> None:
    a = signed_in(issuer_env, "sup_a", "supervisor")
    r = a.get(PAGE + query)
    assert r.status_code in (200, 422), r.text
    assert "text/html" in r.headers["content-type"] and "<script>" not in r.text


@pytest.mark.parametrize("ident", ["abc", "0", "99999999999999999999", "424242"])
def test_a_removal_of_no_entry_gives_a_page(issuer_env: IssuerHarness, ident: str) -> None:
    a = signed_in(issuer_env, "sup_a", "supervisor")
    r = a.post(f"{PAGE}/{ident}/removal", {"reason": "x", "decision_date": "2026-11-25"}, page=PAGE)
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]


@pytest.mark.parametrize(
    "value", ["\x00", "a" * 100_000, "💥" * 600, "=cmd|' /C calc'!A0", "<script>x</script>"]
)
def test_hostile_form_values_give_a_page_naming_the_field(
    issuer_env: IssuerHarness, value: str
) -> None:
    a = signed_in(issuer_env, "sup_a", "supervisor")
    for field in ("id_type", "id_number", "category", "decision_date"):
        r = a.post(PAGE, _record_form(1, **{field: value}), page=PAGE)
        assert r.status_code == 422, (field, r.text[:300])
        assert f'id="rec-{field}-error"' in r.text and "<script>x" not in r.text
    r = a.post(PAGE + "/lookup", {"id_type": value, "id_number": value}, page=PAGE)
    assert r.status_code == 422 and "<script>x" not in r.text
    r = a.post("/office/inbox/1/reject", {"reason": value}, page="/office/inbox")
    assert r.status_code in (404, 422) and "<script>x" not in r.text
    assert not rows(issuer_env, "SELECT id FROM pending_action")
    # a name and a legal basis are free text: refused beside the field, or kept (then the
    # same person again is a conflict) and shown escaped in the inbox
    for field in ("name", "legal_basis"):
        r = a.post(PAGE, _record_form(1, **{field: value}), page=PAGE)
        assert r.status_code in (202, 409, 422) and "<script>x" not in r.text
        if r.status_code == 422:
            assert f'id="rec-{field}-error"' in r.text
    shown = signed_in(issuer_env, "sup_b", "supervisor").get("/office/inbox")
    assert shown.status_code == 200 and "<script>x" not in shown.text
