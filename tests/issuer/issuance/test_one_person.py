"""One certificate per person and qualification (issue 11, point 6), on SQLite and
PostgreSQL: whatever the path (another Idempotency-Key, another clerk, concurrent
requests), a person holding a valid or suspended certificate of a qualification type and
subject gets no second one, and the refusal names the certificate they hold."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.factory.issuer import (
    DECISION,
    IssuerHarness,
    application,
    issue,
    officer,
    post,
    rows,
)


def _count(env: IssuerHarness) -> int:
    return rows(env, "SELECT count(*) AS n FROM certificate")[0]["n"]


def _refusal(r) -> dict:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    (error,) = r.json()["errors"]
    assert (error["field"], error["code"]) == ("id_number", "already_certified")
    return error


def test_the_same_person_under_another_key_is_refused_naming_the_first(
    issuer_env: IssuerHarness,
) -> None:
    first = issue(issuer_env, 5)
    r = issuer_env.issue(application(5), key="another-key", **{"Accept-Language": "en"})
    assert first["certificate_number"] in _refusal(r)["message"]
    zh = issuer_env.issue(application(5), key="a-third-key")
    assert first["certificate_number"] in _refusal(zh)["message"]
    assert _count(issuer_env) == 1
    # Nothing was recorded for the refused keys: they are free for another request.
    assert issuer_env.issue(application(6), key="another-key").status_code == 201


def test_another_clerk_and_a_padded_subject_are_the_same_qualification(
    issuer_env: IssuerHarness,
) -> None:
    first = issue(issuer_env, 5)
    clerk = officer(issuer_env, "clerk-b", "clerk")
    body = application(5, subject=f"  {application(5)['subject']} ")
    r = issuer_env.client.post(
        "/api/v1/certificates", json=body, headers={**clerk, "Idempotency-Key": "clerk-b-1"}
    )
    assert first["certificate_number"] in _refusal(r)["message"]
    assert _count(issuer_env) == 1


def test_another_subject_of_the_same_person_is_a_certificate_of_its_own(
    issuer_env: IssuerHarness,
) -> None:
    issue(issuer_env, 5)
    other = "数学" if application(5)["subject"] != "数学" else "语文"
    r = issuer_env.issue(application(5, subject=other))
    assert r.status_code == 201, r.text
    assert _count(issuer_env) == 2


def test_a_suspended_certificate_still_holds_and_a_revoked_one_frees_the_person(
    issuer_env: IssuerHarness,
) -> None:
    sup_a = officer(issuer_env, "sup-a", "supervisor")
    sup_b = officer(issuer_env, "sup-b", "supervisor")
    number = issue(issuer_env, 5)["certificate_number"]
    path = f"/api/v1/certificates/{number}"
    assert post(issuer_env, f"{path}/suspend", DECISION, sup_a).status_code == 200
    assert number in _refusal(issuer_env.issue(application(5)))["message"]

    asked = post(issuer_env, f"{path}/revocations", DECISION, sup_a)
    assert asked.status_code == 202, asked.text
    action = asked.json()["pending_action"]["id"]
    ok = post(issuer_env, f"/api/v1/pending-actions/{action}/approve", None, sup_b)
    assert ok.status_code == 200, ok.text
    assert ok.json()["result"]["certificate"]["status"] == "revoked"
    again = issuer_env.issue(application(5))
    assert again.status_code == 201, again.text
    assert again.json()["certificate_number"] != number
    # ... and the new certificate holds in turn.
    assert (
        again.json()["certificate_number"] in _refusal(issuer_env.issue(application(5)))["message"]
    )


def test_concurrent_requests_for_one_person_under_different_keys_issue_one(
    issuer_env: IssuerHarness,
) -> None:
    n = 16
    barrier = threading.Barrier(n)

    def send(i: int):
        client = TestClient(issuer_env.app)
        barrier.wait()
        return issuer_env.issue(application(7), key=f"racer-{i}", client=client)

    with ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(send, range(n)))
    won = [r for r in answers if r.status_code == 201]
    assert len(won) == 1, [r.text for r in answers if r.status_code != 422]
    number = won[0].json()["certificate_number"]
    for r in answers:
        if r is not won[0]:
            assert number in _refusal(r)["message"]
    assert _count(issuer_env) == 1
    with issuer_env.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM idempotency_record")) == 1


def test_idempotency_keys_are_scoped_to_the_principal(issuer_env: IssuerHarness) -> None:
    """Another caller using the same key and body is a request of its own: not replayed
    from the first caller's answer (which would hand it that certificate) but judged, and
    refused as a second certificate; its key is then free for another body."""
    clerk = {**officer(issuer_env, "clerk-b", "clerk"), "Idempotency-Key": "shared-key"}
    first = issuer_env.issue(application(5), key="shared-key")
    assert first.status_code == 201, first.text
    same = issuer_env.client.post("/api/v1/certificates", json=application(5), headers=clerk)
    assert first.json()["certificate_number"] in _refusal(same)["message"]
    assert same.headers.get("idempotent-replayed") is None
    other = issuer_env.client.post("/api/v1/certificates", json=application(6), headers=clerk)
    assert other.status_code == 201, other.text
    assert other.json()["certificate_number"] != first.json()["certificate_number"]
    # Each caller's key replays its own answer.
    for headers, body, answer in (
        (issuer_env.headers("shared-key"), application(5), first),
        (clerk, application(6), other),
    ):
        again = issuer_env.client.post("/api/v1/certificates", json=body, headers=headers)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == answer.content
    assert _count(issuer_env) == 2
