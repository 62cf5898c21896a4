"""The supervisors' inbox (/office/inbox): a second supervisor judges a request by its
facts and approves or rejects it through the same two-person rules as the API; the
requester reads the outcome and reason under "my requests"."""

from __future__ import annotations

import html

import pytest

from tests.factory.issuer import DECISION, IssuerHarness, application, issue, post, rows
from tests.issuer.console._signed_in import ORIGIN, Browser, hidden, signed_in


def _request_revocation(env: IssuerHarness, a: Browser, i: int = 1) -> tuple[str, int]:
    number = issue(env, i)["certificate_number"]
    asked = post(env, f"/api/v1/certificates/{number}/revocations", DECISION, a.api)
    assert asked.status_code == 202, asked.text
    return number, asked.json()["pending_action"]["id"]


def _status(env: IssuerHarness, number: str) -> str:
    found = rows(env, f"SELECT status FROM certificate WHERE certificate_number='{number}'")
    return found[0]["status"]


def test_a_second_supervisor_sees_the_facts_and_approval_revokes(
    issuer_env: IssuerHarness,
) -> None:
    a = signed_in(issuer_env, "sup_a", "supervisor")
    b = signed_in(issuer_env, "sup_b", "supervisor")
    number, action_id = _request_revocation(issuer_env, a)
    person = application(1)
    inbox = b.get("/office/inbox")
    assert inbox.status_code == 200
    text = html.unescape(inbox.text)
    assert number in text and person["name"] in text and "sup_a" in text
    assert person["id_number"] not in text  # only the masked number is shown
    assert person["id_number"][:3] in text and "撤销证书" in text and "有效" in text
    assert "《教师资格条例》第十九条" in text
    approved = b.post(f"/office/inbox/{action_id}/approve", {}, page="/office/inbox")
    assert approved.status_code == 200, approved.text
    assert "已批准" in approved.text
    assert _status(issuer_env, number) == "revoked"
    audit = rows(issuer_env, "SELECT actor, action FROM audit_record ORDER BY id")
    assert {"actor": "officer:sup_b", "action": "pending_action.approved"} in audit
    # decided: gone from the inbox, shown as approved in A's requests
    assert f"/office/inbox/{action_id}/approve" not in b.get("/office/inbox").text
    mine = a.get("/office/inbox?tab=mine&lang=en")
    assert mine.status_code == 200 and "Approved" in mine.text and "sup_b" in mine.text


def test_a_rejection_and_its_reason_reach_the_requesters_list(
    issuer_env: IssuerHarness,
) -> None:
    a = signed_in(issuer_env, "sup_a", "supervisor")
    b = signed_in(issuer_env, "sup_b", "supervisor")
    number, action_id = _request_revocation(issuer_env, a)
    reason = "决定书文号有误，请核实后重新提交"
    r = b.post(f"/office/inbox/{action_id}/reject", {"reason": reason}, page="/office/inbox")
    assert r.status_code == 200, r.text
    assert _status(issuer_env, number) == "valid"
    decided = rows(
        issuer_env, f"SELECT decision, decision_reason FROM pending_action WHERE id={action_id}"
    )
    assert decided == [{"decision": "rejected", "decision_reason": reason}]
    mine = a.get("/office/inbox?tab=mine")
    assert "已驳回" in mine.text and reason in mine.text and "sup_b" in mine.text


def test_a_rejection_without_a_reason_is_named_beside_the_field(
    issuer_env: IssuerHarness,
) -> None:
    a = signed_in(issuer_env, "sup_a", "supervisor")
    b = signed_in(issuer_env, "sup_b", "supervisor")
    _, action_id = _request_revocation(issuer_env, a)
    r = b.post(f"/office/inbox/{action_id}/reject", {"reason": "  "}, page="/office/inbox")
    assert r.status_code == 422
    assert f'id="reason-{action_id}-error"' in r.text
    assert f'reason-{action_id}-hint reason-{action_id}-error"' in r.text
    assert 'aria-invalid="true"' in r.text
    assert rows(issuer_env, "SELECT decision FROM pending_action") == [{"decision": None}]


def test_the_requester_cannot_approve_their_own_request(issuer_env: IssuerHarness) -> None:
    a = signed_in(issuer_env, "sup_a", "supervisor")
    number, action_id = _request_revocation(issuer_env, a)
    page = a.get("/office/inbox")
    assert f"/office/inbox/{action_id}/approve" not in page.text  # no button for one's own
    assert "您本人的申请" in page.text
    r = a.post(f"/office/inbox/{action_id}/approve", {}, page="/office/inbox")
    assert r.status_code == 403
    assert "批准人不能是申请人本人" in r.text and 'role="alert"' in r.text
    assert _status(issuer_env, number) == "valid"
    assert rows(issuer_env, "SELECT decision FROM pending_action") == [{"decision": None}]


def test_an_account_request_is_approved_by_a_second_admin_only(
    issuer_env: IssuerHarness,
) -> None:
    ada = signed_in(issuer_env, "ada", "admin")
    bo = signed_in(issuer_env, "bo", "admin")
    sup = signed_in(issuer_env, "sup_b", "supervisor")
    made = ada.post(
        "/office/officers",
        {"username": "newsup", "display_name": "新审核", "role": "supervisor"},
        page="/office/officers",
    )
    assert made.status_code == 202, made.text
    action_id = rows(issuer_env, "SELECT id FROM pending_action")[0]["id"]
    shown = sup.get("/office/inbox")
    assert "新建工作人员" in shown.text and "newsup" in shown.text
    assert f"/office/inbox/{action_id}/approve" not in shown.text
    refused = sup.post(f"/office/inbox/{action_id}/approve", {}, page="/office/inbox")
    assert refused.status_code == 403 and "管理员" in refused.text
    assert not rows(issuer_env, "SELECT id FROM officer WHERE username='newsup'")
    ok = bo.post(f"/office/inbox/{action_id}/approve", {}, page="/office/inbox")
    assert ok.status_code == 200, ok.text
    assert rows(issuer_env, "SELECT role FROM officer WHERE username='newsup'") == [
        {"role": "supervisor"}
    ]


def test_clerks_get_a_403_page(issuer_env: IssuerHarness) -> None:
    clerk = signed_in(issuer_env, "cy", "clerk")
    r = clerk.get("/office/inbox")
    assert r.status_code == 403 and "text/html" in r.headers["content-type"]
    assert "审核人员" in r.text
    token = hidden(clerk.get("/office").text, "csrf")
    r = clerk.client.post("/office/inbox/1/approve", data={"csrf": token}, headers=ORIGIN)
    assert r.status_code == 403 and "text/html" in r.headers["content-type"]
    assert "/office/inbox" not in clerk.get("/office").text


@pytest.mark.parametrize(
    "path",
    [
        "/office/inbox?tab=<script>",
        "/office/inbox?tab=mine&tab=x",
        "/office/inbox?lang=%00",
    ],
)
def test_hostile_query_parameters_give_a_page(issuer_env: IssuerHarness, path: str) -> None:
    b = signed_in(issuer_env, "sup_b", "supervisor")
    r = b.get(path)
    assert r.status_code in (200, 422), r.text
    assert "text/html" in r.headers["content-type"] and "<script>" not in r.text


@pytest.mark.parametrize("ident", ["abc", "0", "-1", "99999999999999999999", "1e3", "٣"])
def test_hostile_request_numbers_give_a_404_page(issuer_env: IssuerHarness, ident: str) -> None:
    b = signed_in(issuer_env, "sup_b", "supervisor")
    for verb in ("approve", "reject"):
        r = b.post(f"/office/inbox/{ident}/{verb}", {"reason": "x"}, page="/office/inbox")
        assert r.status_code == 404, r.text
        assert "text/html" in r.headers["content-type"]
    r = b.post("/office/inbox/424242/approve", {}, page="/office/inbox")
    assert r.status_code == 404 and "待批准事项不存在" in r.text
