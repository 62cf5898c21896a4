"""The officers' search API and a certificate's record, on SQLite and PostgreSQL: the
identity number only in a body, problems naming the field, office roles, and the record's
status history after suspend, reinstate and an approved revocation."""

from __future__ import annotations

from tests.factory.accounts import assert_problem, other_office_admin
from tests.factory.issuer import (
    ADMIN,
    DECISION,
    IssuerHarness,
    application,
    issue,
    officer,
    post,
    rows,
    service_client,
)


def test_identity_number_is_searched_in_a_body_and_refused_in_a_query_string(
    issuer_env: IssuerHarness,
) -> None:
    clerk = officer(issuer_env, "clerk-a", "clerk")
    cert = issue(issuer_env, 3)
    body = application(3)
    r = post(issuer_env, "/api/v1/certificates/search", {"id_number": body["id_number"]}, clerk)
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["certificate_number"] == cert["certificate_number"]
    assert item["id_number_masked"] == cert["id_number_masked"]
    assert body["id_number"] not in r.text

    q = issuer_env.client.get(
        "/api/v1/certificates", params={"id_number": body["id_number"]}, headers=clerk
    )
    problem = assert_problem(q, 422)
    assert [e["field"] for e in problem["errors"]] == ["id_number"]

    (rec,) = rows(issuer_env, "SELECT * FROM audit_record WHERE action = 'certificate.searched'")
    assert rec["actor"] == "officer:clerk-a"
    assert body["id_number"] not in rec["detail_json"] + rec["subject"]
    assert cert["id_number_masked"] in rec["subject"]


def test_bad_search_input_is_a_problem_naming_the_field(issuer_env: IssuerHarness) -> None:
    clerk = officer(issuer_env, "clerk-a", "clerk")
    get = issuer_env.client.get
    cases = [
        ({"name": "吴鸣"}, "birth_date"),
        ({"name": "吴鸣", "birth_date": "1976-13-01"}, "birth_date"),
        ({"limit": "1000"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"batch": "x"}, "batch"),
        ({"status": "gone"}, "status"),
        ({"cursor": "%%%"}, "cursor"),
    ]
    for params, field in cases:
        r = get("/api/v1/certificates", params=params, headers=clerk)
        problem = assert_problem(r, 422)
        assert [e["field"] for e in problem["errors"]] == [field], (params, problem)
    r = post(issuer_env, "/api/v1/certificates/search", {"name": "吴鸣", "limit": 101}, clerk)
    problem = assert_problem(r, 422)
    assert {e["field"] for e in problem["errors"]} == {"birth_date", "limit"}
    r = post(issuer_env, "/api/v1/certificates/search", {"id_nummer": "1"}, clerk)
    assert [e["field"] for e in assert_problem(r, 422)["errors"]] == ["id_nummer"]


def test_search_pages_for_any_officer_of_the_office_and_no_one_else(
    issuer_env: IssuerHarness,
) -> None:
    numbers = [issue(issuer_env, i)["certificate_number"] for i in range(1, 6)]
    for role in ("clerk", "supervisor", "admin"):
        who = officer(issuer_env, f"{role}-x", role)
        seen: list[str] = []
        params: dict[str, str] = {"limit": "2"}
        while True:
            r = issuer_env.client.get("/api/v1/certificates", params=params, headers=who)
            assert r.status_code == 200, r.text
            seen += [c["certificate_number"] for c in r.json()["items"]]
            if r.json()["next_cursor"] is None:
                break
            params["cursor"] = r.json()["next_cursor"]
        assert seen == list(reversed(numbers)), role
    mis = service_client(issuer_env, "mis", "mis")
    assert_problem(issuer_env.client.get("/api/v1/certificates", headers=mis), 403)
    _, other_key = other_office_admin(issuer_env)
    other = {"Authorization": f"Bearer {other_key}"}
    assert_problem(issuer_env.client.get("/api/v1/certificates", headers=other), 403)
    record = f"/api/v1/certificates/{numbers[0]}/record"
    assert_problem(issuer_env.client.get(record, headers=other), 403)
    assert_problem(issuer_env.client.get("/api/v1/certificates"), 401)


def test_record_shows_status_history_after_suspend_reinstate_and_approved_revocation(
    issuer_env: IssuerHarness,
) -> None:
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    cert = issue(issuer_env, 4)
    number = cert["certificate_number"]
    base = f"/api/v1/certificates/{number}"
    assert post(issuer_env, f"{base}/suspend", DECISION, sup_a).status_code == 200
    assert post(issuer_env, f"{base}/reinstate", DECISION, sup_a).status_code == 200
    asked = post(issuer_env, f"{base}/revocations", DECISION, sup_a)
    assert asked.status_code == 202, asked.text
    action_id = asked.json()["pending_action"]["id"]

    pending = issuer_env.client.get(f"{base}/record", headers=sup_b).json()
    assert [p["id"] for p in pending["pending_requests"]] == [action_id]
    assert pending["status"] == "valid"

    ok = post(issuer_env, f"/api/v1/pending-actions/{action_id}/approve", None, sup_b)
    assert ok.status_code == 200, ok.text

    r = issuer_env.client.get(f"{base}/record", headers=sup_a)
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["status"] == "revoked" and rec["pending_requests"] == []
    assert rec["name"] == cert["name"] and rec["elicence_id"] == cert["elicence_id"]
    assert rec["id_number_masked"] == cert["id_number_masked"]
    assert application(4)["id_number"] not in r.text
    history = [
        (h["change"], h["from_status"], h["to_status"], h["by"], h["requested_by"])
        for h in rec["status_history"]
    ]
    assert history == [
        ("issued", None, "valid", "apikey:static", None),
        ("suspended", "valid", "suspended", "officer:sup-a", None),
        ("reinstated", "suspended", "valid", "officer:sup-a", None),
        ("revoked", "valid", "revoked", "officer:sup-b", "officer:sup-a"),
    ]
    revoked = rec["status_history"][-1]
    assert revoked["approval_id"] == action_id
    assert revoked["reason_code"] == DECISION["reason_code"]
    assert revoked["legal_basis"] == DECISION["legal_basis"]
    trail = [(e["action"], e["subject"]) for e in rec["audit_trail"]]
    assert trail == [
        ("certificate.issued", number),
        ("certificate.suspended", number),
        ("certificate.reinstated", number),
        ("certificate.revocation_requested", number),
        ("certificate.revoked", number),
        ("pending_action.approved", str(action_id)),
    ]
    seqs = [e["seq"] for e in rec["audit_trail"]]
    assert seqs == sorted(seqs) and rec["audit_trail_truncated"] is False


def test_record_of_unknown_or_other_offices_certificate_is_404(issuer_env: IssuerHarness) -> None:
    clerk = officer(issuer_env, "clerk-a", "clerk")
    r = issuer_env.client.get("/api/v1/certificates/20261100141000001/record", headers=clerk)
    assert_problem(r, 404)
    bad = issuer_env.client.get("/api/v1/certificates/123/record", headers=ADMIN)
    assert_problem(bad, 422)
