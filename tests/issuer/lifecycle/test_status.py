"""Suspend, reinstate, revoke with maker-checker; the served status list says so at once.

Every test runs on SQLite and on PostgreSQL (see conftest.py). Officers are inserted
directly (Office, Officer, ApiKey rows), as an admin's account routes would.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from credential import Reason, Verdict
from tests.factory.issuer import (
    ADMIN,
    DECISION,
    IssuerHarness,
    application,
    full_id_numbers,
    issue,
    list_value,
    maker_checker_off,
    officer,
    post,
    rows,
    verdict,
)

# --- helpers ---------------------------------------------------------------------------


def lifecycle_audit(env: IssuerHarness) -> list[dict[str, Any]]:
    """Return the audit records of certificates and decisions, in order (the app may
    write records of its own, e.g. when it creates its office row)."""
    return rows(
        env,
        "SELECT action, detail_json FROM audit_record WHERE action LIKE 'certificate.%' "
        "OR action LIKE 'pending_action.%' OR action LIKE 'restriction.%' ORDER BY id",
    )


# --- tests ---------------------------------------------------------------------------------


def test_suspend_then_reinstate_shows_in_the_served_list_and_verdict(
    issuer_env: IssuerHarness,
) -> None:
    sup = officer(issuer_env, "sup-a", "supervisor")
    cert = issue(issuer_env, 1)
    number = cert["certificate_number"]
    assert verdict(issuer_env, cert).verdict is Verdict.VALID  # caches the token at revision 0

    r = post(issuer_env, f"/api/v1/certificates/{number}/suspend", DECISION, sup)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "suspended"
    assert r.json()["status_reason"] == "misconduct"
    assert list_value(issuer_env, cert) == 2
    result = verdict(issuer_env, cert)
    assert result.verdict is Verdict.NOT_VALID
    assert result.reason is Reason.SUSPENDED

    r = post(issuer_env, f"/api/v1/certificates/{number}/reinstate", DECISION, sup)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "valid"
    assert list_value(issuer_env, cert) == 0
    assert verdict(issuer_env, cert).verdict is Verdict.VALID

    got = issuer_env.client.get(f"/api/v1/certificates/{number}", headers=issuer_env.headers())
    assert got.json()["status"] == "valid"
    actions = [r["action"] for r in lifecycle_audit(issuer_env)]
    assert actions == ["certificate.issued", "certificate.suspended", "certificate.reinstated"]
    types = [r["type"] for r in rows(issuer_env, "SELECT type FROM event ORDER BY seq")]
    assert types == ["issued", "suspended", "reinstated"]
    (lst,) = rows(issuer_env, "SELECT revision, signed_revision FROM status_list")
    assert lst["revision"] == 2 and lst["signed_revision"] == 2


def test_reinstating_a_valid_certificate_is_409_and_unknown_is_404(
    issuer_env: IssuerHarness,
) -> None:
    sup = officer(issuer_env, "sup-a", "supervisor")
    number = issue(issuer_env, 1)["certificate_number"]
    r = post(issuer_env, f"/api/v1/certificates/{number}/reinstate", DECISION, sup)
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    r = post(issuer_env, "/api/v1/certificates/20261100142999999/suspend", DECISION, sup)
    assert r.status_code == 404


def test_bad_decision_fields_are_a_422_problem_naming_each(issuer_env: IssuerHarness) -> None:
    sup = officer(issuer_env, "sup-a", "supervisor")
    number = issue(issuer_env, 1)["certificate_number"]
    body = {"reason_code": "because", "decision_date": "2999-01-01", "legal_basis": "x" * 501}
    r = post(issuer_env, f"/api/v1/certificates/{number}/suspend", body, sup)
    assert r.status_code == 422, r.text
    errors = {e["field"]: e["code"] for e in r.json()["errors"]}
    assert errors == {
        "reason_code": "unknown_reason_code",
        "decision_date": "date_out_of_range",
        "legal_basis": "too_long",
    }
    r = post(issuer_env, f"/api/v1/certificates/{number}/suspend", {"reason_code": "other"}, sup)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"decision_date", "legal_basis"}
    r = post(issuer_env, f"/api/v1/certificates/{number}/suspend", {**DECISION, "x": 1}, sup)
    assert r.status_code == 422
    assert rows(issuer_env, "SELECT status FROM certificate") == [{"status": "valid"}]


def test_a_clerk_may_not_suspend(issuer_env: IssuerHarness) -> None:
    clerk = officer(issuer_env, "clerk-a", "clerk")
    number = issue(issuer_env, 1)["certificate_number"]
    r = post(issuer_env, f"/api/v1/certificates/{number}/suspend", DECISION, clerk)
    assert r.status_code == 403
    assert rows(issuer_env, "SELECT status FROM certificate") == [{"status": "valid"}]


def test_revocation_needs_a_second_supervisor(issuer_env: IssuerHarness) -> None:
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    cert = issue(issuer_env, 1)
    number = cert["certificate_number"]

    r = post(issuer_env, f"/api/v1/certificates/{number}/revocations", DECISION, sup_a)
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "pending"
    action = r.json()["pending_action"]
    assert action["kind"] == "revoke" and action["requested_by"] == "sup-a"
    assert list_value(issuer_env, cert) == 0  # nothing yet
    # A second request for the same certificate while one waits.
    again = post(issuer_env, f"/api/v1/certificates/{number}/revocations", DECISION, sup_b)
    assert again.status_code == 409

    listed = issuer_env.client.get("/api/v1/pending-actions", headers=sup_b).json()
    assert [a["id"] for a in listed] == [action["id"]]

    own = post(issuer_env, f"/api/v1/pending-actions/{action['id']}/approve", None, sup_a)
    assert own.status_code == 403, own.text
    assert own.headers["content-type"] == "application/problem+json"
    static = post(issuer_env, f"/api/v1/pending-actions/{action['id']}/approve", None, ADMIN)
    assert static.status_code == 403
    assert list_value(issuer_env, cert) == 0

    ok = post(issuer_env, f"/api/v1/pending-actions/{action['id']}/approve", None, sup_b)
    assert ok.status_code == 200, ok.text
    assert ok.json()["decision"] == "approved" and ok.json()["decided_by"] == "sup-b"
    assert ok.json()["result"]["certificate"]["status"] == "revoked"
    assert list_value(issuer_env, cert) == 1
    result = verdict(issuer_env, cert)
    assert result.verdict is Verdict.NOT_VALID and result.reason is Reason.REVOKED

    twice = post(issuer_env, f"/api/v1/pending-actions/{action['id']}/approve", None, sup_b)
    assert twice.status_code == 409
    late = post(issuer_env, f"/api/v1/pending-actions/{action['id']}/reject", None, sup_a)
    assert late.status_code == 409
    assert issuer_env.client.get("/api/v1/pending-actions", headers=sup_b).json() == []

    audit = lifecycle_audit(issuer_env)
    assert [a["action"] for a in audit] == [
        "certificate.issued",
        "certificate.revocation_requested",
        "certificate.revoked",
        "pending_action.approved",
    ]
    revoked = json.loads(audit[2]["detail_json"])
    assert revoked["legal_basis"] == DECISION["legal_basis"]
    assert revoked["requested_by"] != revoked["approved_by"]


def test_rejected_revocation_changes_nothing(issuer_env: IssuerHarness) -> None:
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    cert = issue(issuer_env, 1)
    number = cert["certificate_number"]
    action = post(issuer_env, f"/api/v1/certificates/{number}/revocations", DECISION, sup_a)
    action_id = action.json()["pending_action"]["id"]
    before = rows(issuer_env, "SELECT revision, data FROM status_list")

    r = post(issuer_env, f"/api/v1/pending-actions/{action_id}/reject", None, sup_b)
    assert r.status_code == 200, r.text
    assert r.json()["decision"] == "rejected"
    assert rows(issuer_env, "SELECT revision, data FROM status_list") == before
    assert rows(issuer_env, "SELECT status FROM certificate") == [{"status": "valid"}]
    assert verdict(issuer_env, cert).verdict is Verdict.VALID
    assert [r["type"] for r in rows(issuer_env, "SELECT type FROM event")] == ["issued"]
    after = post(issuer_env, f"/api/v1/pending-actions/{action_id}/approve", None, sup_b)
    assert after.status_code == 409
    decided = issuer_env.client.get("/api/v1/pending-actions?state=decided", headers=sup_b)
    assert [a["decision"] for a in decided.json()] == ["rejected"]


def test_maker_checker_off_revokes_at_once_and_the_switch_is_audited(
    issuer_env: IssuerHarness,
) -> None:
    cert = issue(issuer_env, 1)  # the bootstrap key, before any admin exists
    number = cert["certificate_number"]
    sup = officer(issuer_env, "sup-a", "supervisor")
    admin = officer(issuer_env, "admin-a", "admin")
    admin_b = officer(issuer_env, "admin-b", "admin")
    assert (
        issuer_env.client.put(
            "/api/v1/office/settings", json={"maker_checker": False}, headers=sup
        ).status_code
        == 403
    )
    r = issuer_env.client.put(
        "/api/v1/office/settings", json={"maker_checker": False}, headers=admin
    )
    assert r.status_code == 202, r.text  # switching off takes a second admin
    assert r.json()["maker_checker"] is True
    action = r.json()["pending_action"]["id"]
    ok = post(issuer_env, f"/api/v1/pending-actions/{action}/approve", None, admin_b)
    assert ok.status_code == 200, ok.text
    assert ok.json()["result"] == {
        "office_id": issuer_env.settings.office_id,
        "maker_checker": False,
    }
    (switch,) = rows(
        issuer_env,
        "SELECT actor, detail_json FROM audit_record WHERE action = 'office.settings_changed'",
    )
    assert switch["actor"] == "officer:admin-b"
    detail = json.loads(switch["detail_json"])
    assert detail["maker_checker"] == {"from": True, "to": False}
    assert detail["pending_action"] == action

    r = post(issuer_env, f"/api/v1/certificates/{number}/revocations", DECISION, sup)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "done"
    assert r.json()["certificate"]["status"] == "revoked"
    assert list_value(issuer_env, cert) == 1
    assert verdict(issuer_env, cert).reason is Reason.REVOKED


def test_static_key_switches_maker_checker_on_a_fresh_install(issuer_env: IssuerHarness) -> None:
    cert = issue(issuer_env, 1)
    number = cert["certificate_number"]
    # Maker-checker needs personal accounts: the bootstrap key cannot request approval.
    r = post(issuer_env, f"/api/v1/certificates/{number}/revocations", DECISION, ADMIN)
    assert r.status_code == 403
    r = issuer_env.client.put(
        "/api/v1/office/settings", json={"maker_checker": False}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    r = post(issuer_env, f"/api/v1/certificates/{number}/revocations", DECISION, ADMIN)
    assert r.status_code == 200, r.text
    assert list_value(issuer_env, cert) == 1


def test_revoked_is_final(issuer_env: IssuerHarness) -> None:
    sup = officer(issuer_env, "sup-a", "supervisor")
    maker_checker_off(issuer_env)
    cert = issue(issuer_env, 1)
    number = cert["certificate_number"]
    assert (
        post(issuer_env, f"/api/v1/certificates/{number}/revocations", DECISION, sup).status_code
        == 200
    )
    for path in ("suspend", "reinstate", "revocations"):
        r = post(issuer_env, f"/api/v1/certificates/{number}/{path}", DECISION, sup)
        assert r.status_code == 409, (path, r.text)
        assert r.json()["status"] == 409
    assert list_value(issuer_env, cert) == 1
    assert [r["type"] for r in rows(issuer_env, "SELECT type FROM event ORDER BY seq")] == [
        "issued",
        "revoked",
    ]


def test_suspended_certificate_can_be_revoked(issuer_env: IssuerHarness) -> None:
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    cert = issue(issuer_env, 1)
    number = cert["certificate_number"]
    post(issuer_env, f"/api/v1/certificates/{number}/suspend", DECISION, sup_a)
    action = post(issuer_env, f"/api/v1/certificates/{number}/revocations", DECISION, sup_a)
    action_id = action.json()["pending_action"]["id"]
    assert (
        post(issuer_env, f"/api/v1/pending-actions/{action_id}/approve", None, sup_b).status_code
        == 200
    )
    assert list_value(issuer_env, cert) == 1


def test_stored_status_list_follows_the_revision(issuer_env: IssuerHarness) -> None:
    sup = officer(issuer_env, "sup-a", "supervisor")
    cert = issue(issuer_env, 1)
    path = cert["status_list"]["uri"].removeprefix("http://testserver")
    first = issuer_env.client.get(path).text
    assert issuer_env.client.get(path).text == first  # the stored token
    # A change committed behind the publisher's back (revision bumped): the GET still
    # serves the stored token (it never signs) and says not to cache it; the job re-signs.
    with issuer_env.engine.begin() as conn:
        conn.execute(sa.text("UPDATE status_list SET revision = revision + 1"))
    r = issuer_env.client.get(path)
    assert (r.text, r.headers["cache-control"]) == (first, "no-cache")
    issuer_env.app.state.publisher.run_once()
    (lst,) = rows(issuer_env, "SELECT revision, signed_revision FROM status_list")
    assert lst["signed_revision"] == lst["revision"] == 1
    post(issuer_env, f"/api/v1/certificates/{cert['certificate_number']}/suspend", DECISION, sup)
    (lst,) = rows(issuer_env, "SELECT revision, signed_revision, signed_token FROM status_list")
    assert lst["signed_revision"] == lst["revision"] == 2
    assert issuer_env.client.get(path).text == lst["signed_token"]


def test_no_full_identity_number_in_lifecycle_records(issuer_env: IssuerHarness) -> None:
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    cert = issue(issuer_env, 1)
    number = cert["certificate_number"]
    post(issuer_env, f"/api/v1/certificates/{number}/suspend", DECISION, sup_a)
    a = post(issuer_env, f"/api/v1/certificates/{number}/revocations", DECISION, sup_a).json()
    post(issuer_env, f"/api/v1/pending-actions/{a['pending_action']['id']}/approve", None, sup_b)
    text = json.dumps(
        [
            rows(issuer_env, "SELECT * FROM audit_record"),
            rows(issuer_env, "SELECT * FROM event"),
            rows(issuer_env, "SELECT * FROM pending_action"),
        ],
        default=str,
        ensure_ascii=False,
    )
    assert full_id_numbers(text) == []
    assert full_id_numbers(application(1)["id_number"]) == [application(1)["id_number"]]
