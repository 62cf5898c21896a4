"""The restricted list as officers read it (issue 13 point 6): this office's entries show
whom they name and where each stands at the registry (a refused entry must not look
sent), other offices' entries carry no person reference, and a person looked up on both
lists gets what issuing would answer, audited without the full number."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer import issuance
from issuer.db import tables
from issuer.lifecycle import SyncReport
from issuer.lifecycle.national import push_outbox
from tests.factory.issuer import (
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
from tests.issuer.lifecycle.test_national_outbox import FakeRegistry

OTHER = "urn:jiaozi:office:31001"


def _list(env: IssuerHarness, who: dict[str, str], path: str = "/api/v1/restrictions", **q):
    r = env.client.get(path, params=q, headers=who)
    assert r.status_code == 200, r.text
    return r.json()


def _push(env: IssuerHarness, answers: dict[int, int]) -> None:
    with Session(env.engine) as s:
        push_outbox(
            s,
            FakeRegistry(answers),  # type: ignore[arg-type]
            signer=env.signer,
            settings=env.settings,
            now=dt.datetime.now(dt.UTC),
            report=SyncReport(),
        )


def test_entries_show_whom_they_name_and_where_they_stand_nationally(
    issuer_env: IssuerHarness,
) -> None:
    a = officer(issuer_env, "sup-a", "supervisor")
    b = officer(issuer_env, "sup-b", "supervisor")
    first = record(issuer_env, entry_body(1), a, b)
    second = record(issuer_env, entry_body(2, category="lost"), a, b)
    page = _list(issuer_env, a)
    assert [e["id"] for e in page["items"]] == [second["id"], first["id"]]
    top = page["items"][0]
    assert top["name"] == application(2)["name"] and top["category"] == "lost"
    assert top["id_number_masked"].endswith(application(2)["id_number"][-4:])
    assert top["national"] == {"entry": {"state": "waiting", "attempts": 0, "last_error": None}}
    assert "person_ref" not in top and full_id_numbers(json.dumps(page)) == []

    _push(issuer_env, {first["id"]: 403})  # the registry refuses the first, takes the second
    items = {e["id"]: e for e in _list(issuer_env, a)["items"]}
    assert items[first["id"]]["national"]["entry"]["state"] == "refused"
    assert "403" in items[first["id"]]["national"]["entry"]["last_error"]
    assert items[second["id"]]["national"]["entry"]["state"] == "at_registry"

    assert [e["id"] for e in _list(issuer_env, a, category="revoked")["items"]] == [first["id"]]
    one = _list(issuer_env, a, limit=1)
    assert len(one["items"]) == 1 and one["before"] == second["id"]
    rest = _list(issuer_env, a, limit=1, before=one["before"])
    assert [e["id"] for e in rest["items"]] == [first["id"]] and rest["before"] is None

    body = {"reason": "行政复议撤销原决定", "decision_date": "2026-11-25"}
    asked = post(issuer_env, f"/api/v1/restrictions/{second['id']}/removal", body, a)
    post(
        issuer_env,
        f"/api/v1/pending-actions/{asked.json()['pending_action']['id']}/approve",
        None,
        b,
    )
    assert [e["id"] for e in _list(issuer_env, a)["items"]] == [first["id"]]
    [removed] = _list(issuer_env, a, state="removed")["items"]
    assert removed["removed"] and removed["removal_reason"] == "行政复议撤销原决定"
    assert removed["national"]["removal"]["state"] == "waiting"
    assert len(_list(issuer_env, a, state="all")["items"]) == 2


def _national(env: IssuerHarness, i: int, local_id: int, *, office: str = OTHER) -> None:
    person = application(i)
    ref = issuance.person_ref(env.settings, _kind(person["id_type"]), person["id_number"])
    with Session(env.engine) as s:
        s.execute(
            sa.insert(tables.NATIONAL_RESTRICTION).values(
                ref=f"{office}#{local_id}",
                office=office,
                person_ref=ref,
                category="revoked",
                decision_date=dt.date(2026, 11, 1),
                bar_until=dt.date(2031, 11, 1),
                received_at=dt.datetime.now(dt.UTC),
            )
        )
        s.commit()


def _kind(text: str):
    from credential import IdType

    return IdType.parse(text)


def test_other_offices_entries_name_no_one_but_count_certificates_here(
    issuer_env: IssuerHarness,
) -> None:
    a = officer(issuer_env, "sup-a", "supervisor")
    issue(issuer_env, 5)
    _national(issuer_env, 5, 7)
    _national(issuer_env, 6, 8)
    _national(issuer_env, 6, 9, office=issuer_env.settings.office_id)  # our own, come back
    page = _list(issuer_env, a, "/api/v1/national-restrictions")
    assert [(e["ref"], e["certificates_here"]) for e in page["items"]] == [
        (f"{OTHER}#8", 0),
        (f"{OTHER}#7", 1),
    ]
    assert "person_ref" not in json.dumps(page)
    assert _list(issuer_env, a, "/api/v1/national-restrictions", office="x")["items"] == []


def test_a_person_looked_up_gets_what_issuing_would_say(issuer_env: IssuerHarness) -> None:
    clerk = officer(issuer_env, "clerk-a", "clerk")
    issue(issuer_env, 5)
    _national(issuer_env, 5, 7)
    person = application(5)
    body = {"id_type": person["id_type"], "id_number": person["id_number"]}
    r = post(issuer_env, "/api/v1/restrictions/search", body, clerk)
    assert r.status_code == 200, r.text
    found = r.json()
    assert found["barred"] == {"category": "revoked", "bar_until": "2031-11-01", "office": OTHER}
    assert found["certificates_here"] == 1 and found["entries"] == []
    assert [e["ref"] for e in found["national_entries"]] == [f"{OTHER}#7"]
    assert full_id_numbers(json.dumps(found)) == []
    # the same answer issuing gives
    refused = issuer_env.issue(application(5, subject="英语"))
    assert refused.status_code == 422 and OTHER in refused.text

    clear = application(9)
    r = post(
        issuer_env,
        "/api/v1/restrictions/search",
        {"id_type": clear["id_type"], "id_number": clear["id_number"]},
        clerk,
    )
    assert r.status_code == 200 and r.json()["barred"] is None

    audit = rows(
        issuer_env,
        "SELECT subject, detail_json FROM audit_record "
        "WHERE action = 'restriction.searched' ORDER BY id",
    )
    assert len(audit) == 2 and audit[0]["subject"].startswith("person:")
    assert json.loads(audit[0]["detail_json"])["barred"] is True
    assert full_id_numbers(json.dumps(audit)) == []


def test_bad_lookups_and_roles(issuer_env: IssuerHarness) -> None:
    clerk = officer(issuer_env, "clerk-a", "clerk")
    r = post(
        issuer_env,
        "/api/v1/restrictions/search",
        {"id_type": "resident_id", "id_number": "110101199001011234"},
        clerk,
    )
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["id_number"]
    r = post(issuer_env, "/api/v1/restrictions/search", {"id_type": "x"}, clerk)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"id_type", "id_number"}
    for path in ("/api/v1/restrictions", "/api/v1/national-restrictions"):
        assert issuer_env.client.get(path, headers=clerk).status_code == 403
        assert issuer_env.client.get(path).status_code == 401
    sup = officer(issuer_env, "sup-a", "supervisor")
    for q in ({"limit": 0}, {"state": "gone"}, {"before": 0}, {"category": "x"}):
        r = issuer_env.client.get("/api/v1/restrictions", params=q, headers=sup)
        assert r.status_code == 422 and next(iter(q)) in r.text, (q, r.text)


def test_a_busy_registry_is_waiting_not_refused(issuer_env: IssuerHarness) -> None:
    """Defect: any error but "unreachable" showed as refused, so a registry answering 503
    or 429 looked as if it had refused the entry, and officers would record it again."""
    a = officer(issuer_env, "sup-a", "supervisor")
    b = officer(issuer_env, "sup-b", "supervisor")
    entry = record(issuer_env, entry_body(1), a, b)
    for status in (503, 429):
        _push(issuer_env, {entry["id"]: status})
        [item] = _list(issuer_env, a)["items"]
        state = item["national"]["entry"]
        assert state["state"] == "waiting" and str(status) in state["last_error"]
    _push(issuer_env, {entry["id"]: 422})
    [item] = _list(issuer_env, a)["items"]
    assert item["national"]["entry"]["state"] == "refused"
