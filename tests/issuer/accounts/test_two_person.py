"""Two-person rules hold against one person: the bootstrap key makes the first admin and
stops; one admin alone can neither switch maker-checker off, nor create or promote a
supervisor or admin; an approver may not be an account the requester created, changed or
issued a key to (revocations and restrictions too).

Every database test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import json

from tests.factory.accounts import assert_problem, bearer, create
from tests.factory.issuer import (
    ADMIN,
    DECISION,
    IssuerHarness,
    entry_body,
    issue,
    officer,
    post,
    rows,
)


def _approve(env: IssuerHarness, action: int, who: dict[str, str]):
    return post(env, f"/api/v1/pending-actions/{action}/approve", None, who)


def _usernames(env: IssuerHarness, who: dict[str, str]) -> dict[str, str]:
    listed = env.client.get("/api/v1/officers", headers=who)
    assert listed.status_code == 200, listed.text
    return {o["username"]: o["role"] for o in listed.json()}


def _two_admins(env: IssuerHarness) -> tuple[dict[str, str], dict[str, str]]:
    """The first admin made with the bootstrap key, a second as `jiaozi accounts
    create-admin` makes one (on the machine, not over the API)."""
    first = bearer(create(env, "admin-a", "admin")["api_key"])
    return first, officer(env, "admin-b", "admin")


# --- the bootstrap key --------------------------------------------------------------------


def test_the_bootstrap_key_makes_the_first_admin_then_stops(issuer_env: IssuerHarness) -> None:
    # Before any admin: the static key acts as admin, and what it makes takes effect at once.
    sup = create(issuer_env, "sup-first", "supervisor")
    assert sup["role"] == "supervisor" and sup["api_key"].startswith("jz_")
    admin = create(issuer_env, "admin-a", "admin")
    body = assert_problem(issuer_env.client.get("/api/v1/officers", headers=ADMIN), 401)
    assert "个人API密钥" in body["title"]  # use a personal API key
    assert issuer_env.issue({"name": "x"}).status_code == 401  # not even a validation answer
    # The admin's own key works.
    assert set(_usernames(issuer_env, bearer(admin["api_key"]))) == {"sup-first", "admin-a"}


def test_the_bootstrap_key_stays_dead_while_any_admin_is_active(
    issuer_env: IssuerHarness,
) -> None:
    admin_a, _ = _two_admins(issuer_env)
    ids = {
        o["username"]: o["id"]
        for o in issuer_env.client.get("/api/v1/officers", headers=admin_a).json()
    }
    r = issuer_env.client.post(f"/api/v1/officers/{ids['admin-b']}/deactivate", headers=admin_a)
    assert r.status_code == 200, r.text
    assert_problem(issuer_env.client.get("/api/v1/officers", headers=ADMIN), 401)


# --- maker-checker off ----------------------------------------------------------------------


def test_one_admin_cannot_switch_maker_checker_off_alone(issuer_env: IssuerHarness) -> None:
    admin_a, admin_b = _two_admins(issuer_env)
    sup = officer(issuer_env, "sup-x", "supervisor")
    r = issuer_env.client.put(
        "/api/v1/office/settings", json={"maker_checker": False}, headers=admin_a
    )
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "pending" and r.json()["maker_checker"] is True
    action = r.json()["pending_action"]
    assert action["kind"] == "maker_checker_off" and action["requested_by"] == "admin-a"
    assert rows(issuer_env, "SELECT maker_checker FROM office") == [{"maker_checker": True}]

    again = issuer_env.client.put(
        "/api/v1/office/settings", json={"maker_checker": False}, headers=admin_a
    )
    assert_problem(again, 409)  # the same request is already waiting
    assert_problem(_approve(issuer_env, action["id"], admin_a), 403)  # not the requester
    body = assert_problem(_approve(issuer_env, action["id"], sup), 403)  # a second admin
    assert "管理员" in body["title"]  # only a second admin
    assert rows(issuer_env, "SELECT maker_checker FROM office") == [{"maker_checker": True}]

    ok = _approve(issuer_env, action["id"], admin_b)
    assert ok.status_code == 200, ok.text
    assert rows(issuer_env, "SELECT maker_checker FROM office") == [{"maker_checker": False}]
    # Switching it back on needs no one else.
    on = issuer_env.client.put(
        "/api/v1/office/settings", json={"maker_checker": True}, headers=admin_a
    )
    assert on.status_code == 200 and on.json()["state"] == "done", on.text
    assert rows(issuer_env, "SELECT maker_checker FROM office") == [{"maker_checker": True}]


# --- creating and promoting -----------------------------------------------------------------


def test_one_admin_cannot_create_a_supervisor_or_admin_alone(issuer_env: IssuerHarness) -> None:
    admin_a, admin_b = _two_admins(issuer_env)
    pending = {}
    for username, role in (("new-sup", "supervisor"), ("new-admin", "admin")):
        r = issuer_env.client.post(
            "/api/v1/officers",
            json={"username": username, "display_name": "新人", "role": role},
            headers=admin_a,
        )
        assert r.status_code == 202, r.text
        assert "api_key" not in r.text
        pending[username] = r.json()["pending_action"]
        assert pending[username]["kind"] == "create_officer"
        assert pending[username]["payload"]["role"] == role
    # An officer whose creation is pending does not exist yet.
    assert "new-sup" not in _usernames(issuer_env, admin_a)
    # A clerk needs no one else.
    clerk = create(issuer_env, "new-clerk", "clerk", headers=admin_a)
    assert clerk["api_key"].startswith("jz_")
    # The same username cannot be asked for twice.
    twice = issuer_env.client.post(
        "/api/v1/officers",
        json={"username": "new-sup", "display_name": "新人", "role": "supervisor"},
        headers=admin_a,
    )
    assert_problem(twice, 409)

    assert_problem(_approve(issuer_env, pending["new-sup"]["id"], admin_a), 403)
    ok = _approve(issuer_env, pending["new-sup"]["id"], admin_b)
    assert ok.status_code == 200, ok.text
    made = ok.json()["result"]["officer"]
    assert (made["username"], made["role"], made["api_keys"]) == ("new-sup", "supervisor", [])
    assert "api_key" not in ok.json()["result"]["officer"]
    assert _usernames(issuer_env, admin_a)["new-sup"] == "supervisor"
    (record,) = rows(
        issuer_env,
        "SELECT actor, detail_json FROM audit_record WHERE action = 'officer.created' "
        "AND subject = 'officer:new-sup'",
    )
    assert record["actor"] == "officer:admin-b"
    assert json.loads(record["detail_json"])["pending_action"] == pending["new-sup"]["id"]
    # The requester gives the new officer its key.
    key = issuer_env.client.post(f"/api/v1/officers/{made['id']}/api-keys", headers=admin_a)
    assert key.status_code == 201, key.text
    assert (
        issuer_env.client.get(
            "/api/v1/pending-actions", headers=bearer(key.json()["api_key"])
        ).status_code
        == 200
    )


def test_one_admin_cannot_change_a_role_alone(issuer_env: IssuerHarness) -> None:
    admin_a, admin_b = _two_admins(issuer_env)
    clerk = create(issuer_env, "clerk-c", "clerk", headers=admin_a)
    r = post(issuer_env, f"/api/v1/officers/{clerk['id']}/role", {"role": "supervisor"}, admin_a)
    assert r.status_code == 202, r.text
    action = r.json()["pending_action"]
    assert action["kind"] == "change_role" and action["payload"]["role"] == "supervisor"
    assert _usernames(issuer_env, admin_a)["clerk-c"] == "clerk"
    assert_problem(_approve(issuer_env, action["id"], admin_a), 403)
    # the clerk's own key cannot approve anything
    assert_problem(_approve(issuer_env, action["id"], bearer(clerk["api_key"])), 403)

    ok = _approve(issuer_env, action["id"], admin_b)
    assert ok.status_code == 200, ok.text
    assert ok.json()["result"]["officer"]["role"] == "supervisor"
    assert _usernames(issuer_env, admin_a)["clerk-c"] == "supervisor"
    (record,) = rows(
        issuer_env, "SELECT detail_json FROM audit_record WHERE action = 'officer.role_changed'"
    )
    assert json.loads(record["detail_json"])["role"] == {"from": "clerk", "to": "supervisor"}

    # Bad role changes get a problem naming the field or the state.
    bad = post(issuer_env, f"/api/v1/officers/{clerk['id']}/role", {"role": "king"}, admin_a)
    assert assert_problem(bad, 422)["errors"][0]["field"] == "role"
    same = post(issuer_env, f"/api/v1/officers/{clerk['id']}/role", {"role": "supervisor"}, admin_a)
    assert_problem(same, 409)
    assert_problem(post(issuer_env, "/api/v1/officers/9999/role", {"role": "clerk"}, admin_a), 404)


# --- approvers the requester made or changed --------------------------------------------------


def test_an_officer_the_requester_created_cannot_approve_the_requesters_revocation(
    issuer_env: IssuerHarness,
) -> None:
    cert = issue(issuer_env, 1)  # the bootstrap key, before any admin
    number = cert["certificate_number"]
    admin_a, admin_b = _two_admins(issuer_env)
    r = post(
        issuer_env,
        "/api/v1/officers",
        {"username": "accomplice", "display_name": "同伙", "role": "supervisor"},
        admin_a,
    )
    made = _approve(issuer_env, r.json()["pending_action"]["id"], admin_b).json()["result"]
    key = issuer_env.client.post(
        f"/api/v1/officers/{made['officer']['id']}/api-keys", headers=admin_a
    ).json()["api_key"]
    accomplice = bearer(key)

    asked = post(issuer_env, f"/api/v1/certificates/{number}/revocations", DECISION, admin_a)
    assert asked.status_code == 202, asked.text
    action = asked.json()["pending_action"]["id"]
    body = assert_problem(_approve(issuer_env, action, accomplice), 403)
    assert "由申请人创建或变更" in body["title"]  # made or changed by the requester
    assert rows(issuer_env, "SELECT status FROM certificate") == [{"status": "valid"}]
    # An independent supervisor may.
    independent = officer(issuer_env, "sup-independent", "supervisor")
    assert _approve(issuer_env, action, independent).status_code == 200
    assert rows(issuer_env, "SELECT status FROM certificate") == [{"status": "revoked"}]


def test_an_officer_holding_a_key_the_requester_issued_cannot_approve(
    issuer_env: IssuerHarness,
) -> None:
    admin_a, _ = _two_admins(issuer_env)
    sup = officer(issuer_env, "sup-s", "supervisor")  # made by no one in the office
    sup_id = next(
        o["id"]
        for o in issuer_env.client.get("/api/v1/officers", headers=admin_a).json()
        if o["username"] == "sup-s"
    )
    issued = issuer_env.client.post(f"/api/v1/officers/{sup_id}/api-keys", headers=admin_a)
    assert issued.status_code == 201, issued.text

    asked = post(issuer_env, "/api/v1/restrictions", entry_body(3), admin_a)
    assert asked.status_code == 202, asked.text
    action = asked.json()["pending_action"]["id"]
    # with the key admin-a knows, and with the supervisor's own key alike
    assert_problem(_approve(issuer_env, action, bearer(issued.json()["api_key"])), 403)
    assert_problem(_approve(issuer_env, action, sup), 403)
    # Once that key is revoked the supervisor is independent again.
    gone = issuer_env.client.delete(f"/api/v1/api-keys/{issued.json()['prefix']}", headers=admin_a)
    assert gone.status_code == 204, gone.text
    assert _approve(issuer_env, action, sup).status_code == 200


def test_an_officer_whose_role_the_requester_changed_cannot_approve(
    issuer_env: IssuerHarness,
) -> None:
    cert = issue(issuer_env, 2)
    admin_a, admin_b = _two_admins(issuer_env)
    clerk = officer(issuer_env, "clerk-p", "clerk")
    clerk_id = next(
        o["id"]
        for o in issuer_env.client.get("/api/v1/officers", headers=admin_a).json()
        if o["username"] == "clerk-p"
    )
    r = post(issuer_env, f"/api/v1/officers/{clerk_id}/role", {"role": "supervisor"}, admin_a)
    assert _approve(issuer_env, r.json()["pending_action"]["id"], admin_b).status_code == 200

    number = cert["certificate_number"]
    asked = post(issuer_env, f"/api/v1/certificates/{number}/revocations", DECISION, admin_a)
    assert_problem(_approve(issuer_env, asked.json()["pending_action"]["id"], clerk), 403)
    # admin-b's requests are another matter: admin-b changed nothing of clerk-p's.
    r2 = post(issuer_env, "/api/v1/restrictions", entry_body(4), admin_b)
    assert _approve(issuer_env, r2.json()["pending_action"]["id"], clerk).status_code == 200


def test_an_admin_who_issued_the_requesters_key_cannot_approve(issuer_env: IssuerHarness) -> None:
    admin_a, admin_b = _two_admins(issuer_env)
    b_id = next(
        o["id"]
        for o in issuer_env.client.get("/api/v1/officers", headers=admin_a).json()
        if o["username"] == "admin-b"
    )
    # admin-a gives admin-b a key (so knows it), asks as admin-b, then approves as admin-a
    known = issuer_env.client.post(f"/api/v1/officers/{b_id}/api-keys", headers=admin_a)
    as_b = bearer(known.json()["api_key"])
    r = issuer_env.client.put(
        "/api/v1/office/settings", json={"maker_checker": False}, headers=as_b
    )
    assert r.status_code == 202, r.text
    assert r.json()["pending_action"]["requested_by"] == "admin-b"
    assert_problem(_approve(issuer_env, r.json()["pending_action"]["id"], admin_a), 403)
    assert rows(issuer_env, "SELECT maker_checker FROM office") == [{"maker_checker": True}]
    # Revoking the key afterwards does not make that request admin-b's own.
    gone = issuer_env.client.delete(f"/api/v1/api-keys/{known.json()['prefix']}", headers=admin_a)
    assert gone.status_code == 204, gone.text
    assert_problem(_approve(issuer_env, r.json()["pending_action"]["id"], admin_a), 403)
    # admin-b withdraws it and asks with their own key: admin-a may approve that.
    withdrawn = post(
        issuer_env,
        f"/api/v1/pending-actions/{r.json()['pending_action']['id']}/reject",
        None,
        admin_b,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    again = issuer_env.client.put(
        "/api/v1/office/settings", json={"maker_checker": False}, headers=admin_b
    )
    assert again.status_code == 202, again.text
    assert _approve(issuer_env, again.json()["pending_action"]["id"], admin_a).status_code == 200
    assert rows(issuer_env, "SELECT maker_checker FROM office") == [{"maker_checker": False}]


def test_keys_passed_on_through_another_account_still_count(issuer_env: IssuerHarness) -> None:
    cert = issue(issuer_env, 5)
    admin_a, _ = _two_admins(issuer_env)
    ids = {
        o["username"]: o["id"]
        for o in issuer_env.client.get("/api/v1/officers", headers=admin_a).json()
    }
    sup = officer(issuer_env, "sup-t", "supervisor")
    # admin-a gives admin-b a key, and with it gives sup-t one: admin-a knows both.
    as_b = bearer(
        issuer_env.client.post(
            f"/api/v1/officers/{ids['admin-b']}/api-keys", headers=admin_a
        ).json()["api_key"]
    )
    sup_ids = {
        o["username"]: o["id"]
        for o in issuer_env.client.get("/api/v1/officers", headers=as_b).json()
    }
    as_sup = issuer_env.client.post(f"/api/v1/officers/{sup_ids['sup-t']}/api-keys", headers=as_b)
    assert as_sup.status_code == 201, as_sup.text
    number = cert["certificate_number"]
    asked = post(issuer_env, f"/api/v1/certificates/{number}/revocations", DECISION, admin_a)
    action = asked.json()["pending_action"]["id"]
    assert_problem(_approve(issuer_env, action, bearer(as_sup.json()["api_key"])), 403)
    assert_problem(_approve(issuer_env, action, sup), 403)
    assert rows(issuer_env, "SELECT status FROM certificate") == [{"status": "valid"}]


def test_a_holder_who_replaces_their_key_is_independent_again(issuer_env: IssuerHarness) -> None:
    admin_a, admin_b = _two_admins(issuer_env)
    r = post(
        issuer_env,
        "/api/v1/officers",
        {"username": "sup-n", "display_name": "新审核人", "role": "supervisor"},
        admin_b,
    )
    made = _approve(issuer_env, r.json()["pending_action"]["id"], admin_a).json()["result"]
    given = issuer_env.client.post(
        f"/api/v1/officers/{made['officer']['id']}/api-keys", headers=admin_a
    ).json()["api_key"]
    asked = post(issuer_env, "/api/v1/restrictions", entry_body(6), admin_a)
    action = asked.json()["pending_action"]["id"]
    assert_problem(_approve(issuer_env, action, bearer(given)), 403)

    own = issuer_env.client.post("/api/v1/me/api-key", headers=bearer(given))
    assert own.status_code == 201, own.text
    assert own.text.count(own.json()["api_key"]) == 1
    assert_problem(issuer_env.client.get("/api/v1/pending-actions", headers=bearer(given)), 401)
    assert _approve(issuer_env, action, bearer(own.json()["api_key"])).status_code == 200
    (record,) = rows(
        issuer_env,
        "SELECT actor, detail_json FROM audit_record WHERE action = 'api_key.replaced_by_holder'",
    )
    assert record["actor"] == "officer:sup-n"
    assert json.loads(record["detail_json"])["revoked_prefixes"] == [given[3:15]]
    # the bootstrap key is no officer: it has no key of its own to replace
    assert_problem(issuer_env.client.post("/api/v1/me/api-key", headers=ADMIN), 401)


def test_a_username_taken_between_check_and_insert_at_approval_is_a_409_not_a_500(
    issuer_env: IssuerHarness, monkeypatch
) -> None:
    # Another office's admin takes the username at the instant the approval checks it:
    # simulated by skipping the check, so the unique index is what refuses the insert.
    import issuer.accounts.officers as officers

    admin_a, admin_b = _two_admins(issuer_env)
    r = issuer_env.client.post(
        "/api/v1/officers",
        json={"username": "racer", "display_name": "新人", "role": "supervisor"},
        headers=admin_a,
    )
    assert r.status_code == 202, r.text
    officer(issuer_env, "racer", "clerk")  # the name taken meanwhile
    monkeypatch.setattr(officers, "refuse_taken_username", lambda session, username: None)
    body = assert_problem(_approve(issuer_env, r.json()["pending_action"]["id"], admin_b), 409)
    assert "racer" in body["detail"]
    still = issuer_env.client.get("/api/v1/pending-actions", headers=admin_b).json()
    assert [p["target"] for p in still] == ["racer"]  # nothing changed: still pending
    assert rows(issuer_env, "SELECT role FROM officer WHERE username = 'racer'") == [
        {"role": "clerk"}
    ]
