"""Idempotency and concurrency of issuing, on SQLite and PostgreSQL.

Threads each use their own TestClient, so each request runs in its own thread with its
own database session and connection: real concurrent transactions on PostgreSQL, and
contending writers on SQLite.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.factory.issuer import IssuerHarness, application, distinct_application


def _rows(env: IssuerHarness, sql: str) -> list[tuple]:
    with env.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def test_same_key_same_body_replays_the_same_bytes(issuer_env: IssuerHarness) -> None:
    first = issuer_env.issue(application(5), key="round-2026-0005")
    second = issuer_env.issue(application(5), key="round-2026-0005")
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert _rows(issuer_env, "SELECT count(*) FROM certificate") == [(1,)]
    assert _rows(issuer_env, "SELECT count(*) FROM audit_record") == [(1,)]


def test_same_key_different_body_is_422_and_issues_nothing_more(
    issuer_env: IssuerHarness,
) -> None:
    assert issuer_env.issue(application(5), key="k-1").status_code == 201
    r = issuer_env.issue(application(6), key="k-1")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/idempotency_key_reused")
    assert _rows(issuer_env, "SELECT count(*) FROM certificate") == [(1,)]
    # The original answer is still what the key replays.
    again = issuer_env.issue(application(5), key="k-1")
    assert again.status_code == 201
    assert again.json()["name"] == application(5)["name"]


def test_100_concurrent_requests_with_one_key_issue_one_certificate(
    issuer_env: IssuerHarness,
) -> None:
    n = 100
    barrier = threading.Barrier(n)

    def post(_: int):
        client = TestClient(issuer_env.app)
        barrier.wait()
        r = issuer_env.issue(application(7), key="one-key", client=client)
        return r.status_code, r.content

    with ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(post, range(n)))
    assert {status for status, _ in answers} == {201}
    assert len({body for _, body in answers}) == 1
    assert _rows(issuer_env, "SELECT count(*) FROM certificate") == [(1,)]
    assert _rows(issuer_env, "SELECT count(*) FROM idempotency_record") == [(1,)]


def test_32_clients_x_50_issuances_give_1600_distinct_numbers_and_indices(
    issuer_env: IssuerHarness,
) -> None:
    threads, each = 32, 50
    barrier = threading.Barrier(threads)

    def worker(t: int) -> list[dict]:
        client = TestClient(issuer_env.app)
        barrier.wait()
        out = []
        for i in range(each):
            r = issuer_env.issue(distinct_application(t * each + i), client=client)
            assert r.status_code == 201, r.text
            out.append(r.json())
        return out

    with ThreadPoolExecutor(threads) as pool:
        answers = [a for chunk in pool.map(worker, range(threads)) for a in chunk]

    total = threads * each
    numbers = {a["certificate_number"] for a in answers}
    entries = {(a["status_list"]["uri"], a["status_list"]["idx"]) for a in answers}
    assert len(answers) == len(numbers) == len(entries) == total
    # Every certification date of the shared data is in 2026: one office-year counter,
    # so the serials are exactly 1..1600, none skipped or doubled.
    assert sorted(int(n[-6:]) for n in numbers) == list(range(1, total + 1))
    stored = _rows(
        issuer_env,
        "SELECT count(*), count(DISTINCT certificate_number), "
        "count(DISTINCT status_idx) FROM certificate",
    )
    assert stored == [(total, total, total)]
    assert _rows(issuer_env, "SELECT count(*) FROM audit_record") == [(total,)]
