"""Admission checks (contract section 9): employer keys, consent, the bare answer, the audit
without clear identity numbers, and per-account rate limits in the database and in Redis.
Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from credential import mask_id
from tests.factory import applicants
from tests.factory.verifier import Harness, ask, employer_key, make_harness, person_ref
from verifier import db
from verifier.accounts import create_employer

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def adm(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    gen = make_harness(database_url, tmp_path)
    h = next(gen)
    h.issuer.restrict("r1", applicants()[5], category="lost")
    h.issuer.restrict(
        "r2",
        applicants()[6],
        category="revoked",
        decision_date="2019-03-01",
        bar_until="2024-03-01",
    )
    h.verifier.syncer.run_once()
    yield h
    gen.close()


def test_answers_only_whether_a_record_exists(adm: Harness) -> None:
    key = employer_key(adm)
    rows = applicants()
    yes = ask(adm, key, rows[5])
    no = ask(adm, key, rows[9])
    ended = ask(adm, key, rows[6])  # a revocation whose five-year bar is over
    for r in (yes, no, ended):
        assert r.status_code == 200, r.text
        assert set(r.json()) == {"query_id", "restricted", "checked_at", "data_as_of"}
        assert r.json()["data_as_of"] == "2026-11-29T07:59:55Z"
    assert (yes.json()["restricted"], no.json()["restricted"], ended.json()["restricted"]) == (
        True,
        False,
        False,
    )


def test_every_query_is_audited_without_the_clear_number(adm: Harness) -> None:
    key = employer_key(adm)
    row = applicants()[5]
    answer = ask(adm, key, row).json()
    with adm.verifier.engine.connect() as conn:
        audit = conn.execute(sa.select(db.admission_audit)).one()
        dump = [
            repr(tuple(r)) for t in db.metadata.sorted_tables for r in conn.execute(sa.select(t))
        ]
    assert audit.query_id == answer["query_id"]
    assert audit.person_ref == person_ref(row)
    assert audit.id_masked == mask_id(row["id_number"]) and "*" in audit.id_masked
    assert audit.restricted is True and audit.consent_reference.startswith("HR-2026")
    assert not any(row["id_number"] in line for line in dump)  # no table holds it in clear


def test_consent_reference_is_required(adm: Harness) -> None:
    key = employer_key(adm)
    row = applicants()[9]
    for over in (
        {"consent_reference": None},
        {"consent_reference": "  "},
        {"consent_reference": "x" * 201},
        {"consent_reference": 7},
    ):
        r = ask(adm, key, row, **over)
        assert r.status_code == 422, over
        assert r.json()["errors"][0]["field"] == "consent_reference"
    with adm.verifier.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(db.admission_audit)).scalar() == 0
        )


def test_identity_numbers_are_validated(adm: Harness) -> None:
    key = employer_key(adm)
    row = applicants()[9]
    bad = row["id_number"][:17] + ("0" if row["id_number"][17] != "0" else "1")
    r = ask(adm, key, row, id_number=bad, id_type="resident_id")
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert (err["field"], err["code"]) == ("id_number", "check_digit")
    assert bad not in r.text
    r = ask(adm, key, row, id_type="driving_licence")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "id_type"


def test_needs_an_employer_key(adm: Harness) -> None:
    row = applicants()[9]
    for key in ("", "jzv_000000000000_" + "A" * 43, "not-a-key"):
        r = ask(adm, key, row)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert r.headers["content-type"] == "application/problem+json"


def test_no_restriction_data_is_503_not_a_guess(database_url: str, tmp_path: Path) -> None:
    gen = make_harness(database_url, tmp_path)
    h = next(gen)
    try:
        h.verifier.syncer.sync_trust()  # trust list only: no restricted list yet
        r = ask(h, employer_key(h), applicants()[9])
        assert r.status_code == 503 and r.json()["type"].endswith("/no_restriction_data")
    finally:
        gen.close()


def _rate_limited(h: Harness) -> None:
    key = employer_key(h)
    other = employer_key(h, "另一所学校")
    row = applicants()[9]
    assert [ask(h, key, row).status_code for _ in range(3)] == [200, 200, 200]
    r = ask(h, key, row)
    assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
    retry = int(r.headers["retry-after"])
    assert 1 <= retry <= 60
    assert ask(h, other, row).status_code == 200  # per account
    h.clock.advance(retry)
    assert ask(h, key, row).status_code == 200


def test_rate_limit_in_the_database(database_url: str, tmp_path: Path) -> None:
    gen = make_harness(database_url, tmp_path, admission_rate_limit=3)
    h = next(gen)
    try:
        h.verifier.syncer.run_once()
        _rate_limited(h)
    finally:
        gen.close()


def test_rate_limit_in_redis(database_url: str, tmp_path: Path) -> None:
    import redis

    prefix = f"jiaozi-test:{uuid.uuid4().hex}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required for this test and unreachable at {REDIS_URL}: {exc}")
    gen = make_harness(
        database_url, tmp_path, admission_rate_limit=3, redis_url=REDIS_URL, redis_prefix=prefix
    )
    h = next(gen)
    try:
        h.verifier.syncer.run_once()
        _rate_limited(h)
        assert list(client.scan_iter(prefix + "*"))  # the counters were in Redis
        with h.verifier.engine.connect() as conn:
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(db.rate_counters)).scalar() == 0
            )
    finally:
        gen.close()
        for k in client.scan_iter(prefix + "*"):
            client.delete(k)
        client.close()


def test_known_and_unknown_people_take_the_same_path(adm: Harness) -> None:
    """No code path depends on whether a record exists: both answers run the same SQL
    statements (shape, not wall-clock time: timings belong in bench/, not in tests)."""
    import sqlalchemy as sa

    employer_id = 1
    create_employer(adm.verifier.engine, "timing", adm.clock())
    rows = applicants()
    known = {
        "name": "x",
        "id_type": "resident_id",
        "id_number": rows[5]["id_number"],
        "consent_reference": "c",
    }
    unknown = {**known, "id_number": rows[9]["id_number"]}
    statements: dict[str, list[str]] = {}
    restricted: dict[str, bool] = {}

    for label, body in (("known", known), ("unknown", unknown)):
        seen: list[str] = []

        def record(_conn, _cursor, statement, _params, _context, _many, seen=seen) -> None:
            seen.append(statement)

        sa.event.listen(adm.verifier.engine, "before_cursor_execute", record)
        try:
            answer = adm.verifier.admission_check(employer_id, body)
        finally:
            sa.event.remove(adm.verifier.engine, "before_cursor_execute", record)
        statements[label] = seen
        restricted[label] = answer["restricted"]
        assert set(answer) == {"query_id", "restricted", "checked_at", "data_as_of"}
    assert restricted == {"known": True, "unknown": False}
    assert statements["known"] == statements["unknown"]
    assert statements["known"], "the check reads and audits through the database"


def test_issuer_down_answers_from_the_held_list_with_its_age(adm: Harness) -> None:
    key = employer_key(adm)
    adm.issuer.down = True
    adm.clock.advance(3600)
    assert not adm.verifier.syncer.run_once().ok
    r = ask(adm, key, applicants()[5])
    assert r.status_code == 200 and r.json()["restricted"] is True
    assert r.json()["data_as_of"] == "2026-11-29T07:59:55Z"  # an hour old, and says so
    assert r.json()["checked_at"] == "2026-11-29T09:00:00Z"


def test_redis_unreachable_is_a_503_not_unlimited(tmp_path: Path) -> None:
    gen = make_harness(
        f"sqlite:///{tmp_path / 'v.db'}", tmp_path, redis_url="redis://127.0.0.1:1/0"
    )
    h = next(gen)
    try:
        h.verifier.syncer.run_once()
        r = ask(h, employer_key(h), applicants()[9])
        assert r.status_code == 503 and r.json()["type"].endswith("/rate_limiter_unavailable")
        assert r.headers["retry-after"] == "30"
    finally:
        gen.close()
