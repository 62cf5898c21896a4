"""Replacement (补发) and correction (换发), issue 11 point 6: the same number, the next
version on a new status entry, the old version revoked as superseded; through
maker-checker and the audit trail.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from credential import Reason, Verdict, mask_id, parse_elicence_id, verify
from tests.factory.issuer import (
    ADMIN,
    IssuerHarness,
    application,
    assert_no_identity_number,
    full_id_numbers,
    issue,
    list_value,
    officer,
    rows,
    verdict,
)

NEW_ID = "110105197609062469"  # applicant 1's GB 11643 number: a woman born 1976-09-06
NEW_BIRTH = "1976-09-06"


def NOW() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ask(
    env: IssuerHarness,
    number: str,
    what: str,
    body: dict[str, Any],
    who: dict[str, str],
    key: str | None = None,
) -> Any:
    headers = {**who, "Idempotency-Key": key or f"k-{uuid.uuid4().hex}"}
    return env.client.post(f"/api/v1/certificates/{number}/{what}", json=body, headers=headers)


def approve(env: IssuerHarness, answer: Any, who: dict[str, str]) -> Any:
    assert answer.status_code == 202, answer.text
    action_id = answer.json()["pending_action"]["id"]
    return env.client.post(f"/api/v1/pending-actions/{action_id}/approve", headers=who)


def maker_checker_off(env: IssuerHarness) -> None:
    admin = officer(env, "admin-x", "admin")
    r = env.client.put("/api/v1/office/settings", json={"maker_checker": False}, headers=admin)
    assert r.status_code == 200, r.text


def current(env: IssuerHarness, number: str) -> dict[str, Any]:
    r = env.client.get(f"/api/v1/certificates/{number}", headers={**ADMIN})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def audit_actions(env: IssuerHarness) -> list[str]:
    return [
        r["action"]
        for r in rows(
            env,
            "SELECT action FROM audit_record WHERE action LIKE 'certificate.%' "
            "OR action LIKE 'pending_action.%' ORDER BY id",
        )
    ]


def full_verdict(env: IssuerHarness, cert: dict[str, Any]) -> Any:
    """Return the verdict on ``cert``'s full e-licence (JWS) against the served list."""
    uri = cert["status_list"]["uri"]
    status = {uri: env.status_snapshot(uri)}
    return verify(
        credential=cert["credential"], trust=env.trust, status=status, now=dt.datetime.now(dt.UTC)
    )


def audit_holds(env: IssuerHarness) -> bool:
    r = env.client.get("/api/v1/audit/verify", headers=ADMIN)
    assert r.status_code == 200, r.text
    return bool(r.json()["ok"])


# --- replacement ---------------------------------------------------------------------------


def test_approved_replacement_keeps_the_number_and_revokes_the_old_version(
    issuer_env: IssuerHarness,
) -> None:
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    old = issue(issuer_env, 1)
    number = old["certificate_number"]
    assert verdict(issuer_env, old).verdict is Verdict.VALID

    asked = ask(issuer_env, number, "replacement", {"reason_code": "lost_document"}, sup_a)
    assert asked.status_code == 202, asked.text
    action = asked.json()["pending_action"]
    assert (action["kind"], action["target"]) == ("replace", number)
    assert action["payload"] == {"version": 1, "reason_code": "lost_document"}
    assert current(issuer_env, number)["version"] == 1  # nothing yet
    assert verdict(issuer_env, old).verdict is Verdict.VALID

    own = approve(issuer_env, asked, sup_a)
    assert own.status_code == 403  # the requester cannot approve
    done = approve(issuer_env, asked, sup_b)
    assert done.status_code == 200, done.text
    state = done.json()["result"]["certificate"]
    assert (state["certificate_number"], state["version"], state["status"]) == (number, 2, "valid")

    new = current(issuer_env, number)
    assert new["version"] == 2 and new["certificate_number"] == number
    assert new["status_list"]["idx"] != old["status_list"]["idx"]
    eid = parse_elicence_id(new["elicence_id"])  # the check character is right
    assert eid.version == 2 and eid.serial == number
    assert parse_elicence_id(old["elicence_id"]).version == 1
    assert new["elicence_id"].rsplit(".", 2)[0] == old["elicence_id"].rsplit(".", 2)[0]
    for same in ("name", "birth_date", "id_number_masked", "subject", "certified_on"):
        assert new[same] == old[same]

    # The old paper's QR is revoked; the new one is valid.
    assert list_value(issuer_env, old) == 1
    assert list_value(issuer_env, new) == 0
    gone = verdict(issuer_env, old)
    assert gone.verdict is Verdict.NOT_VALID and gone.reason is Reason.REVOKED
    assert verdict(issuer_env, new).verdict is Verdict.VALID
    # the full e-licences alike (the old one attached to the old PDF)
    assert full_verdict(issuer_env, old).reason is Reason.REVOKED
    assert full_verdict(issuer_env, new).verdict is Verdict.VALID
    assert full_verdict(issuer_env, new).certificate is not None

    (version,) = rows(
        issuer_env,
        "SELECT version, reason, status_list_id, status_idx, qr_token FROM certificate_version",
    )
    assert version["version"] == 1 and version["reason"] == "superseded"
    assert version["status_idx"] == old["status_list"]["idx"]
    assert version["qr_token"] == old["qr_token"]
    assert audit_actions(issuer_env) == [
        "certificate.issued",
        "certificate.replacement_requested",
        "certificate.replaced",
        "pending_action.approved",
    ]
    (replaced,) = rows(
        issuer_env, "SELECT detail_json FROM audit_record WHERE action = 'certificate.replaced'"
    )
    detail = json.loads(replaced["detail_json"])
    assert detail["previous_version"] == 1 and detail["previous_reason"] == "superseded"
    assert detail["reason_code"] == "lost_document"
    assert detail["requested_by"] != detail["approved_by"]
    events = rows(issuer_env, "SELECT type, version, data_json FROM event ORDER BY seq")
    assert [(e["type"], e["version"]) for e in events] == [("issued", 1), ("replaced", 2)]
    assert json.loads(events[1]["data_json"]) == {
        "previous_version": 1,
        "previous_status": "revoked",
        "reason_code": "superseded",
    }
    assert audit_holds(issuer_env)


def test_replacement_answers_a_retry_with_the_first_answer(issuer_env: IssuerHarness) -> None:
    sup = officer(issuer_env, "sup-a", "supervisor")
    number = issue(issuer_env, 1)["certificate_number"]
    body = {"reason_code": "damaged"}
    first = ask(issuer_env, number, "replacement", body, sup, key="retry-1")
    again = ask(issuer_env, number, "replacement", body, sup, key="retry-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert len(rows(issuer_env, "SELECT id FROM pending_action")) == 1
    # the same key with another body is refused; another key meets the waiting request
    other = ask(issuer_env, number, "replacement", {"reason_code": "lost_document"}, sup, "retry-1")
    assert other.status_code == 422, other.text
    waiting = ask(issuer_env, number, "replacement", body, sup, key="retry-2")
    assert waiting.status_code == 409


def test_maker_checker_off_replaces_at_once_and_a_retry_replays(
    issuer_env: IssuerHarness,
) -> None:
    maker_checker_off(issuer_env)
    sup = officer(issuer_env, "sup-a", "supervisor")
    old = issue(issuer_env, 2)
    number = old["certificate_number"]
    body = {"reason_code": "lost_document"}
    r = ask(issuer_env, number, "replacement", body, sup, key="once")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "done"
    new = r.json()["certificate"]
    assert new["version"] == 2 and new["certificate_number"] == number
    assert verdict(issuer_env, new).verdict is Verdict.VALID
    assert verdict(issuer_env, old).reason is Reason.REVOKED
    again = ask(issuer_env, number, "replacement", body, sup, key="once")
    assert again.status_code == 200 and again.json() == r.json()
    assert current(issuer_env, number)["version"] == 2  # not replaced twice
    # a second replacement is a new request: version 3, version 2's entry revoked too
    third = ask(issuer_env, number, "replacement", body, sup, key="twice")
    assert third.status_code == 200, third.text
    assert third.json()["certificate"]["version"] == 3
    assert verdict(issuer_env, new).reason is Reason.REVOKED
    assert verdict(issuer_env, third.json()["certificate"]).verdict is Verdict.VALID
    # the retained entries are never drawn again
    taken = rows(issuer_env, "SELECT status_idx FROM certificate_version ORDER BY version")
    assert [t["status_idx"] for t in taken] == [
        old["status_list"]["idx"],
        new["status_list"]["idx"],
    ]
    assert audit_holds(issuer_env)


def test_only_a_valid_certificate_is_replaced(issuer_env: IssuerHarness) -> None:
    maker_checker_off(issuer_env)
    sup = officer(issuer_env, "sup-a", "supervisor")
    number = issue(issuer_env, 1)["certificate_number"]
    decision = {"reason_code": "misconduct", "decision_date": "2026-11-20", "legal_basis": "x"}
    suspended = issuer_env.client.post(
        f"/api/v1/certificates/{number}/suspend", json=decision, headers=sup
    )
    assert suspended.status_code == 200, suspended.text
    r = ask(issuer_env, number, "replacement", {"reason_code": "damaged"}, sup)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    revoked = issuer_env.client.post(
        f"/api/v1/certificates/{number}/revocations", json=decision, headers=sup
    )
    assert revoked.status_code == 200, revoked.text
    r = ask(issuer_env, number, "replacement", {"reason_code": "damaged"}, sup, key="k2")
    assert r.status_code == 409
    r = ask(issuer_env, number, "correction", {"name": "张三"}, sup)
    assert r.status_code == 409
    assert rows(issuer_env, "SELECT id FROM certificate_version") == []
    assert rows(issuer_env, "SELECT key FROM idempotency_record WHERE key LIKE 'k%'") == []


def test_a_bad_reason_or_an_unknown_number_writes_nothing(issuer_env: IssuerHarness) -> None:
    sup = officer(issuer_env, "sup-a", "supervisor")
    clerk = officer(issuer_env, "clerk-a", "clerk")
    number = issue(issuer_env, 1)["certificate_number"]
    before = rows(issuer_env, "SELECT count(*) AS n FROM audit_record")
    r = ask(issuer_env, number, "replacement", {"reason_code": "bored"}, sup)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["reason_code"]
    r = ask(issuer_env, number, "replacement", {}, sup)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "reason_code"
    r = ask(issuer_env, "20261100142999999", "replacement", {"reason_code": "damaged"}, sup)
    assert r.status_code == 404
    r = ask(issuer_env, number, "replacement", {"reason_code": "damaged"}, clerk)
    assert r.status_code == 403
    r = issuer_env.client.post(
        f"/api/v1/certificates/{number}/replacement",
        json={"reason_code": "damaged"},
        headers=sup,
    )
    assert r.status_code == 422  # no Idempotency-Key
    assert rows(issuer_env, "SELECT count(*) AS n FROM audit_record") == before
    assert rows(issuer_env, "SELECT id FROM pending_action") == []


# --- correction ----------------------------------------------------------------------------


def test_approved_correction_changes_the_facts_under_the_same_number(
    issuer_env: IssuerHarness,
) -> None:
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    app = application(2)  # a woman, as is the holder of NEW_ID (sex is not corrected)
    old = issue(issuer_env, 2)
    number = old["certificate_number"]

    body = {"name": "吴新名", "id_number": NEW_ID, "birth_date": NEW_BIRTH, "subject": "历史"}
    asked = ask(issuer_env, number, "correction", body, sup_a)
    assert asked.status_code == 202, asked.text
    payload = asked.json()["pending_action"]["payload"]
    assert payload["changed"] == ["name", "birth_date", "id_number", "subject"]
    assert payload["changes"] == {
        "name": "吴新名",
        "birth_date": NEW_BIRTH,
        "id_number_masked": mask_id(NEW_ID),
        "subject": "历史",
    }
    assert "sealed_facts" not in payload
    # the pending action stores no identity number in clear, nor does its answer
    assert full_id_numbers(asked.text) == []
    assert assert_no_identity_number(issuer_env.engine, [NEW_ID, app["id_number"]]) > 0

    done = approve(issuer_env, asked, sup_b)
    assert done.status_code == 200, done.text
    new = current(issuer_env, number)
    assert (new["version"], new["name"], new["subject"]) == (2, "吴新名", "历史")
    assert new["id_number_masked"] == mask_id(NEW_ID)
    assert new["certified_on"] == old["certified_on"] and new["sex"] == old["sex"]
    assert parse_elicence_id(new["elicence_id"]).version == 2
    assert verdict(issuer_env, new).verdict is Verdict.VALID
    assert verdict(issuer_env, old).reason is Reason.REVOKED
    pdf = issuer_env.client.get(f"/api/v1/certificates/{number}/pdf", headers=ADMIN)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")  # the new version's
    events = [e["type"] for e in rows(issuer_env, "SELECT type FROM event ORDER BY seq")]
    assert events == ["issued", "corrected"]
    audit_text = json.dumps(rows(issuer_env, "SELECT detail_json FROM audit_record"))
    assert "吴新名" not in audit_text
    # nowhere in clear, old version and idempotency records included
    assert assert_no_identity_number(issuer_env.engine, [NEW_ID, app["id_number"]]) > 0
    assert audit_holds(issuer_env)
    # the corrected person now holds this qualification: issuing it again is refused
    again = issuer_env.issue({**app, **body})
    assert again.status_code == 422
    assert again.json()["errors"][0]["code"] == "already_certified"
    assert number in again.json()["errors"][0]["message"]


def test_correction_with_bad_fields_is_a_422_naming_each_and_writes_nothing(
    issuer_env: IssuerHarness,
) -> None:
    maker_checker_off(issuer_env)
    sup = officer(issuer_env, "sup-a", "supervisor")
    old = issue(issuer_env, 1)
    number = old["certificate_number"]
    before = rows(issuer_env, "SELECT count(*) AS n FROM audit_record")
    r = ask(issuer_env, number, "correction", {"name": "=cmd|x", "birth_date": "1800-01-01"}, sup)
    assert r.status_code == 422, r.text
    assert {e["field"] for e in r.json()["errors"]} >= {"name", "birth_date"}
    r = ask(issuer_env, number, "correction", {"sex": "男", "certified_on": "2026-01-01"}, sup)
    assert r.status_code == 422
    got = {e["field"]: e["code"] for e in r.json()["errors"]}
    assert got == {"sex": "not_correctable", "certified_on": "not_correctable"}
    r = ask(issuer_env, number, "correction", {"name": old["name"]}, sup)
    assert r.status_code == 422
    assert [e["code"] for e in r.json()["errors"]] == ["no_change"]
    r = ask(issuer_env, number, "correction", {"nickname": "x"}, sup)
    assert r.status_code == 422
    r = ask(issuer_env, number, "correction", {"id_number": "110105197609062460"}, sup)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "id_number"
    assert rows(issuer_env, "SELECT count(*) AS n FROM audit_record") == before
    assert current(issuer_env, number)["version"] == 1
    assert rows(issuer_env, "SELECT id FROM certificate_version") == []
    assert verdict(issuer_env, old).verdict is Verdict.VALID


def test_correction_onto_another_holder_is_refused_naming_the_certificate(
    issuer_env: IssuerHarness,
) -> None:
    maker_checker_off(issuer_env)
    sup = officer(issuer_env, "sup-a", "supervisor")
    held = issue(issuer_env, 1)
    # the same person, type and another subject: a second certificate is allowed ...
    other = issue(issuer_env, 1, subject="书法")
    # ... but correcting its subject into the first one's is not
    r = ask(
        issuer_env, other["certificate_number"], "correction", {"subject": held["subject"]}, sup
    )
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert (error["field"], error["code"]) == ("id_number", "already_certified")
    assert held["certificate_number"] in error["message"]
    assert current(issuer_env, other["certificate_number"])["version"] == 1
    assert rows(issuer_env, "SELECT id FROM certificate_version") == []


def test_another_offices_certificate_is_not_found(issuer_env: IssuerHarness) -> None:
    sup = officer(issuer_env, "sup-a", "supervisor")
    number = issue(issuer_env, 1)["certificate_number"]
    with issuer_env.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE certificate SET office_id = 'urn:jiaozi:office:31001' WHERE 1 = 1")
        )
    for what, body in (("replacement", {"reason_code": "damaged"}), ("correction", {"name": "x"})):
        r = ask(issuer_env, number, what, body, sup)
        assert r.status_code == 404, (what, r.text)
        assert r.json()["status"] == 404
    assert rows(issuer_env, "SELECT id FROM pending_action") == []


def test_approval_after_the_certificate_changed_is_refused(issuer_env: IssuerHarness) -> None:
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    number = issue(issuer_env, 1)["certificate_number"]
    replace = ask(issuer_env, number, "replacement", {"reason_code": "damaged"}, sup_a)
    correct = ask(issuer_env, number, "correction", {"name": "吴改名"}, sup_a)
    assert approve(issuer_env, correct, sup_b).status_code == 200
    late = approve(issuer_env, replace, sup_b)
    assert late.status_code == 409, late.text
    assert current(issuer_env, number)["version"] == 2
    pending = issuer_env.client.get("/api/v1/pending-actions", headers=sup_b).json()
    assert [p["kind"] for p in pending] == ["replace"]  # left to be rejected


def test_a_correction_whose_sealed_facts_no_longer_open_is_a_409_not_a_500(
    issuer_env: IssuerHarness,
) -> None:
    # as after a change of the office's data key between request and approval
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    number = issue(issuer_env, 1)["certificate_number"]
    asked = ask(issuer_env, number, "correction", {"name": "吴改名"}, sup_a)
    action_id = asked.json()["pending_action"]["id"]
    with issuer_env.engine.begin() as conn:
        stored = conn.execute(
            sa.text("SELECT payload_json FROM pending_action WHERE id = :i"), {"i": action_id}
        ).scalar_one()
        payload = json.loads(stored)
        payload["sealed_facts"] = payload["sealed_facts"][:-8] + "AAAAAAAA"
        conn.execute(
            sa.text("UPDATE pending_action SET payload_json = :p WHERE id = :i"),
            {"p": json.dumps(payload), "i": action_id},
        )
    late = approve(issuer_env, asked, sup_b)
    assert late.status_code == 409, late.text
    assert late.json()["title"] == "该更正申请中的信息已无法读取"  # zh-CN is the default
    assert current(issuer_env, number)["version"] == 1  # nothing changed
    pending = issuer_env.client.get("/api/v1/pending-actions", headers=sup_b).json()
    assert [p["kind"] for p in pending] == ["correct"]  # left to be rejected


def test_concurrent_replacements_and_issuing_keep_every_entry_apart(
    issuer_env: IssuerHarness,
) -> None:
    """Replacements of one certificate racing new certificates (each thread its own
    client, so real concurrent transactions on PostgreSQL): each replacement is the next
    version, no two certificates or versions share a status entry, and only the newest
    version of the replaced certificate is valid."""
    maker_checker_off(issuer_env)
    sup = officer(issuer_env, "sup-a", "supervisor")
    number = issue(issuer_env, 1)["certificate_number"]
    n = 4
    barrier = threading.Barrier(2 * n)

    def work(i: int) -> tuple[str, int, dict[str, Any]]:
        client = TestClient(issuer_env.app)
        barrier.wait()
        if i % 2:
            r = issuer_env.issue(application(10 + i), client=client)
            return "issue", r.status_code, r.json()
        r = client.post(
            f"/api/v1/certificates/{number}/replacement",
            json={"reason_code": "damaged"},
            headers={**sup, "Idempotency-Key": f"race-{i}"},
        )
        return "replace", r.status_code, r.json()

    with ThreadPoolExecutor(2 * n) as pool:
        results = list(pool.map(work, range(2 * n)))
    assert sorted((kind, code) for kind, code, _ in results) == sorted(
        [("issue", 201)] * n + [("replace", 200)] * n
    ), results
    versions = sorted(
        body["certificate"]["version"] for kind, _, body in results if kind == "replace"
    )
    assert versions == list(range(2, n + 2))
    entries = rows(
        issuer_env,
        "SELECT status_list_id, status_idx FROM certificate UNION ALL "
        "SELECT status_list_id, status_idx FROM certificate_version",
    )
    assert (
        len({(e["status_list_id"], e["status_idx"]) for e in entries}) == len(entries) == 2 * n + 1
    )
    newest = current(issuer_env, number)
    assert newest["version"] == n + 1
    assert verdict(issuer_env, newest).verdict is Verdict.VALID
    for kind, _, body in results:
        if kind == "issue":
            assert verdict(issuer_env, body).verdict is Verdict.VALID
        elif body["certificate"]["version"] != n + 1:
            assert verdict(issuer_env, body["certificate"]).reason is Reason.REVOKED
