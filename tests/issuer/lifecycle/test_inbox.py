"""The supervisors' inbox (issue 13 point 5): every pending request shows the facts a
supervisor judges it by (no second lookup, never a full identity number); a rejection
carries a reason the requester reads in their own list."""

from __future__ import annotations

import json

from tests.factory.issuer import (
    DECISION,
    IssuerHarness,
    application,
    entry_body,
    full_id_numbers,
    issue,
    officer,
    post,
    record,
    rows,
)


def _inbox(env: IssuerHarness, who: dict[str, str], **params: str) -> list[dict]:
    r = env.client.get("/api/v1/pending-actions", params=params, headers=who)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_revocation_request_shows_whose_certificate_it_is(issuer_env: IssuerHarness) -> None:
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    cert = issue(issuer_env, 3)
    number = cert["certificate_number"]
    asked = post(issuer_env, f"/api/v1/certificates/{number}/revocations", DECISION, sup_a)
    assert asked.status_code == 202, asked.text
    [item] = _inbox(issuer_env, sup_b)
    person = application(3)
    facts = item["facts"]
    assert facts["certificate_number"] == number and facts["name"] == person["name"]
    number_shown = facts["id_number_masked"]
    assert number_shown[:3] == person["id_number"][:3] and "*" in number_shown
    assert number_shown[-4:] == person["id_number"][-4:]
    assert facts["qualification"]["slug"] == person["qualification_type"]
    assert facts["qualification"]["name_zh"]
    assert facts["office_name"] == issuer_env.settings.office_name
    assert facts["status"] == "valid" and facts["subject"] == person["subject"]
    assert full_id_numbers(json.dumps(item, ensure_ascii=False)) == []


def test_a_rejection_reason_reaches_the_requester(issuer_env: IssuerHarness) -> None:
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    cert = issue(issuer_env, 1)
    for c in (issue(issuer_env, 2), issue(issuer_env, 3)):
        n = c["certificate_number"]
        r = post(issuer_env, f"/api/v1/certificates/{n}/revocations", DECISION, sup_b)
        assert r.status_code == 202
    mine = post(
        issuer_env,
        f"/api/v1/certificates/{cert['certificate_number']}/revocations",
        DECISION,
        sup_a,
    )
    action_id = mine.json()["pending_action"]["id"]
    why = "决定书日期与案卷不符，请核对后重新提出"
    r = post(issuer_env, f"/api/v1/pending-actions/{action_id}/reject", {"reason": why}, sup_b)
    assert r.status_code == 200, r.text
    assert (r.json()["decision"], r.json()["decision_reason"]) == ("rejected", why)
    # the requester's own list: only their request, with the outcome and the reason
    [seen] = _inbox(issuer_env, sup_a, state="decided", mine="true")
    assert (seen["id"], seen["decision"], seen["decided_by"]) == (action_id, "rejected", "sup-b")
    assert seen["decision_reason"] == why
    assert _inbox(issuer_env, sup_a, state="pending", mine="true") == []
    assert len(_inbox(issuer_env, sup_a, state="pending")) == 2  # sup-b's two, for sup-a
    [audit] = rows(
        issuer_env, "SELECT detail_json FROM audit_record WHERE action='pending_action.rejected'"
    )
    assert json.loads(audit["detail_json"])["reason"] == why
    # rejecting without a reason still works (a withdrawal usually has none)
    second = _inbox(issuer_env, sup_a, state="pending")[0]["id"]
    r = post(issuer_env, f"/api/v1/pending-actions/{second}/reject", None, sup_a)
    assert r.status_code == 200 and r.json()["decision_reason"] is None


def test_a_bad_reason_is_refused_naming_the_field_and_decides_nothing(
    issuer_env: IssuerHarness,
) -> None:
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    n = issue(issuer_env, 1)["certificate_number"]
    action_id = post(issuer_env, f"/api/v1/certificates/{n}/revocations", DECISION, sup_a).json()[
        "pending_action"
    ]["id"]
    for reason in ('=HYPERLINK("http://x")', "x" * 501, "   ", "a\u202eb"):
        r = post(
            issuer_env, f"/api/v1/pending-actions/{action_id}/reject", {"reason": reason}, sup_b
        )
        assert r.status_code == 422, (reason, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "reason" in [e["field"] for e in r.json()["errors"]] or "reason" in r.text
    assert [a["decision"] for a in _inbox(issuer_env, sup_b)] == [None]


def test_restriction_requests_show_the_person_and_what_approval_would_revoke(
    issuer_env: IssuerHarness,
) -> None:
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    issue(issuer_env, 1)
    issue(issuer_env, 1, qualification_type="primary", subject="语文")
    r = post(issuer_env, "/api/v1/restrictions", entry_body(1), sup_a)
    assert r.status_code == 202, r.text
    [item] = _inbox(issuer_env, sup_b)
    facts = item["facts"]
    assert item["kind"] == "restrict"
    assert facts["name"] == application(1)["name"] and facts["category"] == "revoked"
    assert facts["id_number_masked"].endswith(application(1)["id_number"][-4:])
    assert facts["certificates_here"] == 2 and facts["legal_basis"]
    assert "person_ref" not in facts
    post(issuer_env, f"/api/v1/pending-actions/{item['id']}/reject", {"reason": "重复"}, sup_b)

    entry = record(issuer_env, entry_body(1), sup_a, sup_b)
    body = {"reason": "行政复议撤销原决定", "decision_date": "2026-11-25"}
    r = post(issuer_env, f"/api/v1/restrictions/{entry['id']}/removal", body, sup_a)
    assert r.status_code == 202, r.text
    [removal] = _inbox(issuer_env, sup_b)
    assert removal["kind"] == "unrestrict"
    assert removal["facts"]["restriction_id"] == entry["id"]
    assert removal["facts"]["category"] == "revoked"
    assert removal["facts"]["decision_date"] == "2026-11-20"
