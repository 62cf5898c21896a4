"""The event feed for the teacher MIS: ordered, gapless, exactly once, across concurrent
writers and restarts. Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from credential import BEIJING
from issuer.audit.events import append_event, event_json
from issuer.web.app import create_app
from tests.factory.issuer import (
    ADMIN,
    DECISION,
    IssuerHarness,
    application,
    full_id_numbers,
    issue,
    officer,
    post,
    rows,
    service_client,
)


def page(
    env: IssuerHarness, headers: dict[str, str], after: int = 0, limit: int = 100, client=None
):
    r = (client or env.client).get(f"/api/v1/events?after={after}&limit={limit}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_events_describe_changes_in_order_without_identity_numbers(
    issuer_env: IssuerHarness,
) -> None:
    mis = service_client(issuer_env, "mis-1", "mis")
    sup = officer(issuer_env, "sup-a", "supervisor")
    cert = issue(issuer_env, 1)
    number = cert["certificate_number"]
    post(issuer_env, f"/api/v1/certificates/{number}/suspend", DECISION, sup)
    post(issuer_env, f"/api/v1/certificates/{number}/reinstate", DECISION, sup)

    got = page(issuer_env, mis)
    assert got["next"] == 3
    issued, suspended, reinstated = got["events"]
    assert [e["seq"] for e in got["events"]] == [1, 2, 3]
    assert issued["type"] == "issued" and issued["certificate_number"] == number
    assert issued["version"] == 1 and issued["office"] == issuer_env.settings.office_id
    assert issued["at"].endswith("Z")
    assert suspended["type"] == "suspended" and suspended["reason_code"] == "misconduct"
    assert reinstated["type"] == "reinstated"
    assert set(suspended) == {
        "seq",
        "type",
        "at",
        "office",
        "certificate_number",
        "version",
        "reason_code",
    }
    text = json.dumps(got, ensure_ascii=False)
    assert full_id_numbers(text) == []
    assert application(1)["name"] not in text
    assert DECISION["legal_basis"] not in text

    assert page(issuer_env, mis, after=1, limit=1) == {"events": [suspended], "next": 2}
    assert page(issuer_env, mis, after=3) == {"events": [], "next": 3}
    assert page(issuer_env, ADMIN)["next"] == 3  # admins may read it too


@pytest.mark.parametrize(
    "at",
    [
        dt.datetime(2026, 11, 29, 8, 0, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 29, 16, 0, 5, tzinfo=BEIJING),
        dt.datetime(2026, 11, 29, 8, 0, 5),  # naive: UTC
    ],
)
def test_an_event_time_is_utc_with_six_fraction_digits(at: dt.datetime) -> None:
    row = SimpleNamespace(
        seq=1,
        type="issued",
        at=at,
        office_id="urn:jiaozi:office:11001",
        certificate_number="20261100172000005",
        version=1,
        data_json='{"reason_code":"x"}',
    )
    assert event_json(row) == {
        "seq": 1,
        "type": "issued",
        "at": "2026-11-29T08:00:05.000000Z",
        "office": "urn:jiaozi:office:11001",
        "certificate_number": "20261100172000005",
        "version": 1,
        "reason_code": "x",
    }


def test_feed_access_and_limits(issuer_env: IssuerHarness) -> None:
    mis = service_client(issuer_env, "mis-1", "mis")
    assert issuer_env.client.get("/api/v1/events").status_code == 401
    verifier = service_client(issuer_env, "verifier-1", "verifier")
    assert issuer_env.client.get("/api/v1/events", headers=verifier).status_code == 403
    clerk = officer(issuer_env, "clerk-a", "clerk")
    assert issuer_env.client.get("/api/v1/events", headers=clerk).status_code == 403
    for query in ("limit=0", "limit=1001", "after=-1", "after=x"):
        r = issuer_env.client.get(f"/api/v1/events?{query}", headers=mis)
        assert r.status_code == 422, query
        assert r.headers["content-type"] == "application/problem+json"
    assert page(issuer_env, mis, limit=1000) == {"events": [], "next": 0}


def test_unknown_event_type_is_refused(issuer_env: IssuerHarness) -> None:
    import datetime as dt

    with Session(issuer_env.engine) as session, pytest.raises(ValueError):
        append_event(
            session,
            type="deleted",
            office_id="x",
            certificate_number=None,
            version=None,
            data={},
            now=dt.datetime.now(dt.UTC),
        )


def test_concurrent_writers_and_a_polling_reader_see_every_event_once_in_order(
    issuer_env: IssuerHarness,
) -> None:
    mis = service_client(issuer_env, "mis-1", "mis")
    sup = officer(issuer_env, "sup-a", "supervisor")
    writers, each = 8, 6
    barrier = threading.Barrier(writers + 1)
    done = threading.Event()

    def writer(t: int) -> int:
        client = TestClient(issuer_env.app)
        barrier.wait()
        made = 0
        for i in range(each):
            r = issuer_env.issue(application(100 + t * each + i), client=client)
            assert r.status_code == 201, r.text
            made += 1
            if i % 2 == 0:
                number = r.json()["certificate_number"]
                s = client.post(
                    f"/api/v1/certificates/{number}/suspend", json=DECISION, headers=sup
                )
                assert s.status_code == 200, s.text
                made += 1
        return made

    seen: list[int] = []
    pages: list[list[int]] = []

    def reader() -> None:
        client = TestClient(issuer_env.app)
        barrier.wait()
        cursor = 0
        while True:
            finished = done.is_set()
            got = page(issuer_env, mis, after=cursor, limit=7, client=client)
            seqs = [e["seq"] for e in got["events"]]
            pages.append(seqs)
            seen.extend(seqs)
            cursor = got["next"]
            if finished and not seqs:
                return
            if not seqs:
                time.sleep(0.005)

    with ThreadPoolExecutor(writers + 1) as pool:
        polling = pool.submit(reader)
        made = sum(pool.map(writer, range(writers)))
        done.set()
        polling.result(timeout=120)

    total = rows(issuer_env, "SELECT count(*) AS n FROM event")[0]["n"]
    assert total == made == writers * each + writers * (each // 2)
    # Every seq exactly once, in order, no gaps, and every page was contiguous when read.
    assert seen == list(range(1, total + 1))
    assert all(p == list(range(p[0], p[0] + len(p))) for p in pages if p)
    assert len([p for p in pages if p]) > 1  # the reader really read while writers wrote
    types = [r["type"] for r in rows(issuer_env, "SELECT type FROM event ORDER BY seq")]
    assert types.count("issued") == writers * each
    assert types.count("suspended") == writers * (each // 2)


def test_a_new_app_over_the_same_database_continues_the_sequence(
    issuer_env: IssuerHarness,
) -> None:
    mis = service_client(issuer_env, "mis-1", "mis")
    issue(issuer_env, 1)
    issue(issuer_env, 2)
    before = page(issuer_env, mis)
    assert before["next"] == 2

    restarted = create_app(issuer_env.settings, signer=issuer_env.signer)
    with TestClient(restarted) as client:
        r = client.post("/api/v1/certificates", json=application(3), headers=issuer_env.headers())
        assert r.status_code == 201, r.text
        after = client.get("/api/v1/events?after=2", headers=mis).json()
    assert [e["seq"] for e in after["events"]] == [3]
    assert after["events"][0]["certificate_number"] == r.json()["certificate_number"]
    everything: list[Any] = page(issuer_env, mis)["events"]
    assert [e["seq"] for e in everything] == [1, 2, 3]


def test_a_cursor_past_the_column_range_is_422_not_500(issuer_env: IssuerHarness) -> None:
    mis = service_client(issuer_env, "mis-1", "mis")
    verifier = service_client(issuer_env, "verifier-1", "verifier")
    assert page(issuer_env, mis, after=2**31 - 1) == {"events": [], "next": 2**31 - 1}
    r = issuer_env.client.get(f"/api/v1/events?after={2**31}", headers=mis)
    assert r.status_code == 422
    r = issuer_env.client.get(f"/api/v1/restrictions/changes?after={2**31}", headers=verifier)
    assert r.status_code == 422
    # in range, but past the published head: a 404 problem (the verifier starts over)
    r = issuer_env.client.get(f"/api/v1/restrictions/changes?after={2**31 - 1}", headers=verifier)
    assert r.status_code == 404
