"""The restricted-qualification list: entries, their effect on certificates, removal, and
the signed snapshot and changes feed for verifiers.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import pytest

from credential import (
    RESTRICTIONS_TYP,
    IdType,
    Reason,
    Verdict,
    parse_jws,
    person_reference,
)
from credential import load_restrictions as parse_restrictions_document
from issuer.accounts import Principal
from issuer.lifecycle.restrictions import bar_until, validate_restriction
from issuer.settings import IssuerSettings
from keys import generate_data_key
from tests.factory.issuer import (
    ADMIN,
    IssuerHarness,
    application,
    entry_body,
    full_id_numbers,
    issue,
    list_value,
    officer,
    post,
    record,
    rows,
    service_client,
    verdict,
)


def person_ref(env: IssuerHarness, i: int) -> str:
    key = env.settings.restriction_hmac_key.get_secret_value().encode()
    return person_reference(key, IdType.RESIDENT_ID, application(i)["id_number"])


def feed(env: IssuerHarness, path: str, headers: dict[str, str]) -> dict[str, Any]:
    r = env.client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    parsed = parse_jws(r.text, max_length=1 << 24)
    assert parsed.typ == RESTRICTIONS_TYP
    assert parsed.verify(env.signer.public_key())
    payload = dict(parsed.payload)
    assert payload["iss"] == env.settings.office_id
    return payload


def remove(
    env: IssuerHarness, entry_id: int, maker: dict[str, str], checker: dict[str, str]
) -> None:
    body = {"reason": "行政复议撤销原决定", "decision_date": "2026-11-25"}
    r = post(env, f"/api/v1/restrictions/{entry_id}/removal", body, maker)
    assert r.status_code == 202, r.text
    action = r.json()["pending_action"]
    assert action["kind"] == "unrestrict"
    ok = post(env, f"/api/v1/pending-actions/{action['id']}/approve", None, checker)
    assert ok.status_code == 200, ok.text


@pytest.fixture
def team(issuer_env: IssuerHarness) -> dict[str, dict[str, str]]:
    return {
        "a": officer(issuer_env, "sup-a", "supervisor"),
        "b": officer(issuer_env, "sup-b", "supervisor"),
        "verifier": service_client(issuer_env, "verifier-1", "verifier"),
        "mis": service_client(issuer_env, "mis-1", "mis"),
        "clerk": officer(issuer_env, "clerk-a", "clerk"),
    }


def test_restricting_a_person_revokes_both_certificates(
    issuer_env: IssuerHarness, team: dict[str, dict[str, str]]
) -> None:
    first = issue(issuer_env, 1)
    second = issue(issuer_env, 1, qualification_type="primary", subject="语文")
    other = issue(issuer_env, 2)
    numbers = sorted([first["certificate_number"], second["certificate_number"]])

    r = post(issuer_env, "/api/v1/restrictions", entry_body(1), team["a"])
    assert r.status_code == 202, r.text
    assert r.json()["pending_action"]["payload"]["id_number_masked"] == "110***********2469"
    # Nothing happens before the second supervisor approves; the requester cannot.
    assert list_value(issuer_env, first) == 0
    own = post(
        issuer_env,
        f"/api/v1/pending-actions/{r.json()['pending_action']['id']}/approve",
        None,
        team["a"],
    )
    assert own.status_code == 403
    ok = post(
        issuer_env,
        f"/api/v1/pending-actions/{r.json()['pending_action']['id']}/approve",
        None,
        team["b"],
    )
    assert ok.status_code == 200, ok.text
    entry = ok.json()["result"]["restriction"]
    assert sorted(entry["affected"]) == numbers
    assert entry["bar_until"] == "2031-11-20"
    assert entry["person_ref"] == person_ref(issuer_env, 1)

    for cert in (first, second):
        assert list_value(issuer_env, cert) == 1  # INVALID
        result = verdict(issuer_env, cert)
        assert result.verdict is Verdict.NOT_VALID
        assert result.reason is Reason.REVOKED
    assert list_value(issuer_env, other) == 0
    statuses = {
        r["certificate_number"]: (r["status"], r["status_reason"])
        for r in rows(
            issuer_env, "SELECT certificate_number, status, status_reason FROM certificate"
        )
    }
    assert statuses[numbers[0]] == statuses[numbers[1]] == ("revoked", "restricted")
    assert statuses[other["certificate_number"]] == ("valid", None)

    events = rows(issuer_env, "SELECT type, certificate_number, data_json FROM event ORDER BY seq")
    assert [e["type"] for e in events] == ["issued"] * 3 + ["restricted", "revoked", "revoked"]
    assert json.loads(events[3]["data_json"]) == {
        "restriction_id": entry["id"],
        "category": "revoked",
    }
    assert sorted(e["certificate_number"] for e in events[4:]) == numbers
    assert all(json.loads(e["data_json"])["reason_code"] == "restricted" for e in events[4:])

    # The verifiers' snapshot: no legal basis, no name, no person reference.
    snap = feed(issuer_env, "/api/v1/restrictions/snapshot", team["verifier"])
    assert snap["cursor"] == 1
    assert snap["entries"] == [
        {
            "id": entry["id"],
            "category": "revoked",
            "decision_date": "2026-11-20",
            "bar_until": "2031-11-20",
            "deciding_office": issuer_env.settings.office_id,
            "affected": entry["affected"],
        }
    ]


def test_a_person_with_no_certificate_here_is_recorded_and_in_the_snapshot(
    issuer_env: IssuerHarness, team: dict[str, dict[str, str]]
) -> None:
    issue(issuer_env, 1)
    body = entry_body(7, category="lost", deciding_office="urn:jiaozi:office:31001")
    entry = record(issuer_env, body, team["a"], team["b"])
    assert entry["affected"] == [] and entry["bar_until"] is None
    snap = feed(issuer_env, "/api/v1/restrictions/snapshot", team["verifier"])
    (listed,) = snap["entries"]
    assert "person_ref" not in listed  # the person is in the national list, not here
    assert listed["category"] == "lost"
    assert listed["deciding_office"] == "urn:jiaozi:office:31001"
    assert rows(issuer_env, "SELECT status FROM certificate") == [{"status": "valid"}]
    # The office's own view has the legal basis.
    own = issuer_env.client.get(f"/api/v1/restrictions/{entry['id']}", headers=team["a"])
    assert own.status_code == 200
    assert own.json()["legal_basis"] == body["legal_basis"]


def test_removal_leaves_the_snapshot_and_shows_in_the_changes(
    issuer_env: IssuerHarness, team: dict[str, dict[str, str]]
) -> None:
    cert = issue(issuer_env, 1)
    entry = record(issuer_env, entry_body(1), team["a"], team["b"])
    kept = record(issuer_env, entry_body(3, category="lost"), team["b"], team["a"])
    remove(issuer_env, entry["id"], team["b"], team["a"])

    snap = feed(issuer_env, "/api/v1/restrictions/snapshot", team["verifier"])
    assert [e["id"] for e in snap["entries"]] == [kept["id"]]
    assert snap["cursor"] == 3

    # One stored page per change, then the empty page at the head.
    pages = [
        feed(issuer_env, f"/api/v1/restrictions/changes?after={n}", team["verifier"])
        for n in range(4)
    ]
    assert [(p["after"], p["cursor"]) for p in pages] == [(0, 1), (1, 2), (2, 3), (3, 3)]
    assert [(c["seq"], c["op"], c["entry"]["id"]) for p in pages for c in p["changes"]] == [
        (1, "add", entry["id"]),
        (2, "add", kept["id"]),
        (3, "remove", entry["id"]),
    ]
    assert all("legal_basis" not in c["entry"] for p in pages for c in p["changes"])
    # iat never goes backwards along a verifier's path: snapshot, pages, head page
    iats = [p["iat"] for p in pages]
    assert iats == sorted(iats) and max(iats) == pages[3]["iat"] == snap["iat"]
    # a cursor past the published head is not served: the verifier starts over
    past = issuer_env.client.get("/api/v1/restrictions/changes?after=4", headers=team["verifier"])
    assert past.status_code == 404
    assert past.headers["content-type"] == "application/problem+json"

    # Revocation is final: removal does not reinstate the certificate.
    assert list_value(issuer_env, cert) == 1
    assert rows(issuer_env, "SELECT status FROM certificate") == [{"status": "revoked"}]
    types = [e["type"] for e in rows(issuer_env, "SELECT type FROM event ORDER BY seq")]
    assert types == ["issued", "restricted", "revoked", "restricted", "unrestricted"]
    actions = [a["action"] for a in rows(issuer_env, "SELECT action FROM audit_record")]
    assert "restriction.removal_requested" in actions and "restriction.removed" in actions

    again = post(
        issuer_env,
        f"/api/v1/restrictions/{entry['id']}/removal",
        {"reason": "x", "decision_date": "2026-11-25"},
        team["a"],
    )
    assert again.status_code == 409


def test_duplicate_active_entry_is_409(
    issuer_env: IssuerHarness, team: dict[str, dict[str, str]]
) -> None:
    record(issuer_env, entry_body(1), team["a"], team["b"])
    r = post(issuer_env, "/api/v1/restrictions", entry_body(1), team["a"])
    assert r.status_code == 409
    # Another category for the same person is its own entry.
    assert (
        post(
            issuer_env, "/api/v1/restrictions", entry_body(1, category="lost"), team["a"]
        ).status_code
        == 202
    )


def test_maker_checker_off_records_at_once(
    issuer_env: IssuerHarness, team: dict[str, dict[str, str]]
) -> None:
    cert = issue(issuer_env, 1)
    r = issuer_env.client.put(
        "/api/v1/office/settings", json={"maker_checker": False}, headers=ADMIN
    )
    assert r.status_code == 200
    r = post(issuer_env, "/api/v1/restrictions", entry_body(1), team["a"])
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "done"
    assert r.json()["restriction"]["affected"] == [cert["certificate_number"]]
    assert list_value(issuer_env, cert) == 1
    removal = post(
        issuer_env,
        f"/api/v1/restrictions/{r.json()['restriction']['id']}/removal",
        {"reason": "复议撤销", "decision_date": "2026-11-21"},
        team["a"],
    )
    assert removal.status_code == 200, removal.text
    assert feed(issuer_env, "/api/v1/restrictions/snapshot", ADMIN)["entries"] == []


def test_bad_fields_are_422_naming_each(
    issuer_env: IssuerHarness, team: dict[str, dict[str, str]]
) -> None:
    body = entry_body(1, id_number="110105197609062468", category="banned", legal_basis="")
    r = post(issuer_env, "/api/v1/restrictions", body, team["a"])
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert {e["field"]: e["code"] for e in r.json()["errors"]} == {
        "id_number": "check_digit",
        "category": "unknown_category",
        "legal_basis": "required",
    }
    assert "110105197609062468" not in r.text
    r = post(issuer_env, "/api/v1/restrictions", entry_body(1, id_type="library_card"), team["a"])
    assert r.status_code == 422
    assert rows(issuer_env, "SELECT count(*) AS n FROM pending_action") == [{"n": 0}]


def test_feed_is_for_verifiers_and_recording_for_supervisors(
    issuer_env: IssuerHarness, team: dict[str, dict[str, str]]
) -> None:
    assert issuer_env.client.get("/api/v1/restrictions/snapshot").status_code == 401
    for who in ("mis", "clerk", "a"):
        r = issuer_env.client.get("/api/v1/restrictions/snapshot", headers=team[who])
        assert r.status_code == 403, who
    assert (
        issuer_env.client.get("/api/v1/restrictions/changes", headers=team["mis"]).status_code
        == 403
    )
    assert post(issuer_env, "/api/v1/restrictions", entry_body(1), team["clerk"]).status_code == 403
    assert (
        post(issuer_env, "/api/v1/restrictions", entry_body(1), team["verifier"]).status_code == 403
    )
    # nothing recorded and no publication run yet: nothing to serve (never signed here)
    r = issuer_env.client.get("/api/v1/restrictions/snapshot", headers=team["verifier"])
    assert r.status_code == 404
    issuer_env.app.state.publisher.run_once()  # type: ignore[attr-defined]
    r = issuer_env.client.get("/api/v1/restrictions/snapshot", headers=team["verifier"])
    assert r.status_code == 200


def test_no_full_identity_number_in_records_feeds_or_answers(
    issuer_env: IssuerHarness, team: dict[str, dict[str, str]]
) -> None:
    issue(issuer_env, 1)
    answers = []
    r = post(issuer_env, "/api/v1/restrictions", entry_body(1), team["a"])
    answers.append(r.text)
    answers.append(
        post(
            issuer_env,
            f"/api/v1/pending-actions/{r.json()['pending_action']['id']}/approve",
            None,
            team["b"],
        ).text
    )
    entry = record(issuer_env, entry_body(4, category="lost"), team["a"], team["b"])
    remove(issuer_env, entry["id"], team["a"], team["b"])
    answers.append(
        issuer_env.client.get("/api/v1/pending-actions?state=all", headers=team["a"]).text
    )
    answers.append(issuer_env.client.get("/api/v1/events", headers=team["mis"]).text)
    snap = feed(issuer_env, "/api/v1/restrictions/snapshot", team["verifier"])
    changes = feed(issuer_env, "/api/v1/restrictions/changes", team["verifier"])
    tables = {
        t: rows(issuer_env, f"SELECT * FROM {t}")
        for t in ("audit_record", "event", "pending_action", "restriction", "restriction_change")
    }
    text = json.dumps([answers, snap, changes, tables], default=str, ensure_ascii=False)
    assert full_id_numbers(text) == []
    for i in (1, 4):
        assert application(i)["id_number"] not in text
        assert application(i)["name"] not in json.dumps(
            [snap, changes, tables["event"]], default=str, ensure_ascii=False
        )


def test_bar_until_is_five_years_on_and_leap_days_end_on_28_february() -> None:
    assert bar_until("revoked", dt.date(2026, 11, 20)) == dt.date(2031, 11, 20)
    assert bar_until("revoked", dt.date(2028, 2, 29)) == dt.date(2033, 2, 28)
    assert bar_until("lost", dt.date(2026, 11, 20)) is None


def test_production_refuses_the_published_person_reference_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("JIAOZI_"):
            monkeypatch.delenv(name)
    common = {
        "env": "production",
        "public_url": "https://jszg.example.cn",
        "verifier_url": "https://verify.example.cn",
        "api_key": "a" * 40,
        "id_hmac_key": "b" * 40,
        "data_key": generate_data_key(),
    }
    who = Principal("officer:sup-a", "urn:jiaozi:office:11001", "supervisor", 1)
    today = dt.date(2026, 11, 29)
    # refused when the settings are built, before any restriction is attempted
    with pytest.raises(ValueError, match="JIAOZI_RESTRICTION_HMAC_KEY"):
        IssuerSettings(**common)
    ok = IssuerSettings(**common, restriction_hmac_key="c" * 40)
    assert validate_restriction(entry_body(1), who=who, settings=ok, today=today)["person_ref"]
    with pytest.raises(ValueError, match="must differ"):
        IssuerSettings(**{**common, "restriction_hmac_key": "b" * 40})


def test_the_verifiers_sync_reads_the_snapshot_and_the_changes(
    issuer_env: IssuerHarness, team: dict[str, dict[str, str]]
) -> None:
    cert = issue(issuer_env, 1)
    entry = record(issuer_env, entry_body(1), team["a"], team["b"])
    remove(issuer_env, entry["id"], team["a"], team["b"])
    kept = record(issuer_env, entry_body(2, category="lost"), team["a"], team["b"])

    r = issuer_env.client.get("/api/v1/restrictions/snapshot", headers=team["verifier"])
    snap = parse_restrictions_document(r.text, issuer_env.trust)
    assert snap.after is None and snap.cursor == 3
    assert [(e.entry_id, e.category) for e in snap.entries] == [(str(kept["id"]), "lost")]
    assert person_ref(issuer_env, 2) not in r.text + str(snap)
    deltas = []
    for after in range(4):
        r = issuer_env.client.get(
            f"/api/v1/restrictions/changes?after={after}", headers=team["verifier"]
        )
        deltas.append(parse_restrictions_document(r.text, issuer_env.trust))
    assert [(d.after, d.cursor) for d in deltas] == [(0, 1), (1, 2), (2, 3), (3, 3)]
    changes = [c for d in deltas for c in d.changes]
    assert [(seq, op) for seq, op, _ in changes] == [(1, "add"), (2, "remove"), (3, "add")]
    first = changes[0][2]
    assert not isinstance(first, str) and first.affected == (cert["certificate_number"],)
    assert changes[1][2] == str(entry["id"])


def test_restriction_amid_concurrent_suspensions_and_issuance_neither_deadlocks_nor_loses(
    issuer_env: IssuerHarness, team: dict[str, dict[str, str]]
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from tests.factory.issuer import DECISION

    issuer_env.client.put("/api/v1/office/settings", json={"maker_checker": False}, headers=ADMIN)
    mine = [issue(issuer_env, 1), issue(issuer_env, 1, qualification_type="primary")]
    others = [issue(issuer_env, i) for i in range(20, 26)]
    barrier = threading.Barrier(5)

    def flip(cert: dict[str, Any]) -> list[int]:
        client = TestClient(issuer_env.app)
        barrier.wait()
        number = cert["certificate_number"]
        codes = []
        for _ in range(4):
            for action in ("suspend", "reinstate"):
                r = client.post(
                    f"/api/v1/certificates/{number}/{action}", json=DECISION, headers=team["a"]
                )
                codes.append(r.status_code)
        return codes

    def restrict() -> list[int]:
        client = TestClient(issuer_env.app)
        barrier.wait()
        r = client.post("/api/v1/restrictions", json=entry_body(1), headers=team["b"])
        return [r.status_code]

    def keep_issuing() -> list[int]:
        client = TestClient(issuer_env.app)
        barrier.wait()
        return [issuer_env.issue(application(40 + i), client=client).status_code for i in range(6)]

    with ThreadPoolExecutor(5) as pool:
        jobs = [
            pool.submit(flip, mine[0]),
            pool.submit(flip, others[0]),
            pool.submit(flip, others[1]),
            pool.submit(restrict),
            pool.submit(keep_issuing),
        ]
        codes = [c for j in jobs for c in j.result(timeout=300)]
    assert set(codes) <= {200, 201, 409}, codes
    assert jobs[3].result() == [200]
    for cert in mine:  # whatever the interleaving, the person's certificates end INVALID
        assert list_value(issuer_env, cert) == 1
    for cert in others[:2]:
        assert list_value(issuer_env, cert) == 0
    seqs = [r["seq"] for r in rows(issuer_env, "SELECT seq FROM event ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    from sqlalchemy.orm import Session

    from issuer.audit.chain import verify_chain

    with Session(issuer_env.engine) as session:
        assert verify_chain(session) is None
