"""The backup fence (issuer.issuance.fence), on SQLite and PostgreSQL: what a backup allows
is spent by serials and new status lists and refused past it; a restore steps past it."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import beijing_date
from issuer.audit.check import verify_audit
from issuer.db import write
from issuer.errors import BackupNeeded
from issuer.issuance import allocate_serial, new_status_list
from issuer.issuance.fence import (
    LIST_ID_SLACK,
    HighWater,
    after_restore,
    set_fence,
)
from tests.factory.issuer import IssuerHarness, application, issue

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def _allocate(env: IssuerHarness, count: int, year: int = 2026) -> int:
    with Session(env.engine) as session, write(session):
        return allocate_serial(session, office_id=env.settings.office_id, year=year, count=count)


def test_serials_are_spent_from_the_allowance_and_refused_past_it(
    issuer_env: IssuerHarness,
) -> None:
    assert _allocate(issuer_env, 5) == 1  # no backup yet: nothing counted
    with Session(issuer_env.engine) as session:
        set_fence(session, office_id=issuer_env.settings.office_id, serials=3, lists=1, now=NOW)
    assert _allocate(issuer_env, 2) == 6
    with pytest.raises(BackupNeeded):
        _allocate(issuer_env, 2, year=2025)  # every year spends from the one allowance
    assert _allocate(issuer_env, 1) == 8  # the refused allocation gave its serials back
    with pytest.raises(BackupNeeded):
        _allocate(issuer_env, 1)
    with Session(issuer_env.engine) as session:
        set_fence(session, office_id=issuer_env.settings.office_id, serials=3, lists=1, now=NOW)
    assert _allocate(issuer_env, 3) == 9


def test_new_status_lists_are_spent_from_the_allowance(issuer_env: IssuerHarness) -> None:
    cert = issue(issuer_env, 1)  # list 1 exists
    assert cert["status_list"]["uri"].endswith("/1")
    with Session(issuer_env.engine) as session:
        set_fence(session, office_id=issuer_env.settings.office_id, serials=9, lists=1, now=NOW)
    with Session(issuer_env.engine) as session, write(session):
        row = new_status_list(session, settings=issuer_env.settings, ordinal=2, now=NOW)
        assert row is not None
    with pytest.raises(BackupNeeded), Session(issuer_env.engine) as session, write(session):
        new_status_list(session, settings=issuer_env.settings, ordinal=3, now=NOW)


def test_a_restore_steps_past_everything_the_fence_allowed(issuer_env: IssuerHarness) -> None:
    env = issuer_env
    office = env.settings.office_id
    issue(env, 1)
    with Session(env.engine) as session:
        high = set_fence(session, office_id=office, serials=100, lists=2, now=NOW)
    assert high.list_ordinal == 1
    assert HighWater.from_json(high.to_json()) == high
    with env.engine.connect() as conn:
        before = conn.execute(sa.text("SELECT year, last_serial FROM serial_counter")).all()
    with Session(env.engine) as session:
        jump = after_restore(session, high=high, settings=env.settings, actor="test", now=NOW)
    ((year, last),) = before
    assert jump.serials[year] == last + 100
    assert jump.list_ordinal == 1 + 2 + 1
    assert jump.list_id == 1 + 3 * LIST_ID_SLACK
    assert jump.event_seq == high.event_seq + high.feed_allowance == high.event_seq + 400
    assert jump.restriction_seq == high.restriction_seq + 400
    with env.engine.connect() as conn:
        counters = dict(conn.execute(sa.text("SELECT year, last_serial FROM serial_counter")).all())
        fences = dict(
            conn.execute(
                sa.text("SELECT name, seq FROM event_head WHERE name LIKE 'fence:%'")
            ).all()
        )
    # every certification year an office may write, not only those the backup saw
    assert set(counters) >= set(range(1900, beijing_date(NOW).year + 1))
    assert min(counters.values()) >= 100
    assert fences == {"fence:serials": 0, "fence:lists": 0, "fence:feeds": 0}
    # issuance waits for a fresh backup; then it goes on past the jump, on the fresh list
    r = env.issue(_body(2))
    assert r.status_code == 503
    with Session(env.engine) as session:
        set_fence(session, office_id=office, serials=10, lists=1, now=NOW)
    cert = issue(env, 2)
    cert_year, serial = int(cert["certificate_number"][:4]), int(cert["certificate_number"][-6:])
    assert serial == counters[cert_year] + 1
    assert cert["status_list"]["uri"].endswith(f"/{jump.list_id}")
    # the next list continues from the fresh one (PostgreSQL: the id sequence was set)
    with Session(env.engine) as session, write(session):
        nxt = new_status_list(
            session, settings=env.settings, ordinal=jump.list_ordinal + 1, now=NOW
        )
        assert nxt is not None and nxt.id == jump.list_id + 1
    with Session(env.engine) as session:
        report = verify_audit(session, public_keys=[env.signer.public_key()], office_id=office)
    assert report.ok


def _body(i: int) -> dict[str, str]:
    return application(i)


def test_a_batch_past_the_allowance_stops_and_resumes_after_a_backup(
    issuer_env: IssuerHarness,
) -> None:
    from tests.factory import APPLICANTS_CSV
    from tests.factory.issuer import poll_batch, post_batch

    lines = APPLICANTS_CSV.read_bytes().splitlines(keepends=True)
    data = b"".join(lines[:31])  # the header and 30 applicants
    with Session(issuer_env.engine) as session:
        set_fence(session, office_id=issuer_env.settings.office_id, serials=10, lists=1, now=NOW)
    r = post_batch(issuer_env, data, "thirty.csv")
    assert r.status_code == 202, r.text
    got = poll_batch(issuer_env, r.json()["id"])
    assert got["state"] == "failed" and got["issued_rows"] < 30, got
    assert "backup" in str(got).lower(), got

    with Session(issuer_env.engine) as session:
        set_fence(session, office_id=issuer_env.settings.office_id, serials=100, lists=1, now=NOW)
    r = post_batch(issuer_env, data, "thirty.csv")
    assert r.status_code in (200, 202), r.text
    got = poll_batch(issuer_env, r.json()["id"])
    assert got["state"] == "done" and got["issued_rows"] == 30, got
    with issuer_env.engine.connect() as conn:
        serials = conn.execute(sa.text("SELECT serial FROM certificate")).scalars().all()
    assert len(serials) == len(set(serials)) == 30


def test_event_numbers_are_spent_from_the_allowance(issuer_env: IssuerHarness) -> None:
    with Session(issuer_env.engine) as session:
        set_fence(
            session,
            office_id=issuer_env.settings.office_id,
            serials=10,
            lists=1,
            feeds=1,
            now=NOW,
        )
    issue(issuer_env, 1)  # its "issued" event takes the one number allowed
    r = issuer_env.issue(application(2))
    assert r.status_code == 503 and r.json()["type"].endswith("backup_needed"), r.text


def test_restriction_entry_ids_continue_above_the_floor(issuer_env: IssuerHarness) -> None:
    from tests.factory.issuer import entry_body, officer, record

    env = issuer_env
    office = env.settings.office_id
    maker = officer(env, "sup-a", "supervisor")
    checker = officer(env, "sup-b", "supervisor")
    first = record(env, entry_body(1), maker, checker)
    with Session(env.engine) as session:
        high = set_fence(session, office_id=office, serials=10, lists=1, feeds=50, now=NOW)
    assert high.restriction_max_id == first["id"]
    second = record(env, entry_body(2), maker, checker)
    assert second["id"] == first["id"] + 1
    with Session(env.engine) as session:
        jump = after_restore(session, high=high, settings=env.settings, actor="test", now=NOW)
    assert jump.restriction_id_floor == second["id"] + 50
    with Session(env.engine) as session:
        set_fence(session, office_id=office, serials=10, lists=1, feeds=50, now=NOW)
    third = record(env, entry_body(3), maker, checker)
    assert third["id"] == jump.restriction_id_floor + 1
