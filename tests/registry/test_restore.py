"""What a restore does to the registry's seqs (registry/restore.py), on SQLite and
PostgreSQL: both heads jump to the restore's floor and the restore is recorded; a list
cursor below the floor is refused (409 ``cursor_before_restore``, naming ``after``) while
the floor itself and a snapshot serve; the feed chains across the jump and its pages name
it; a feed gap names the office's last event held. The follower crosses the jump, takes
an empty page at the jump for the head, goes back from a lost tail saying so, and stops
on a cursor beyond the head."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from credential import REGISTRY_ID, load_national_list
from registry import db
from registry.feed import add_client
from registry.follow import ChainBroken, cursor_table, follow_once, target_engine
from registry.restore import SEQS_PER_SECOND, after_restore, floor_at
from tests.factory.feed import batch, event
from tests.factory.registry import RegistryHarness

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)


def read(env: RegistryHarness, after: int | None = None):
    params = {} if after is None else {"after": after}
    return env.client.get(
        "/api/v1/restricted-list",
        params=params,
        headers={"authorization": f"Bearer {env.world.auth('B')}"},
    )


def feed(env: RegistryHarness, key: str, after: int = 0) -> dict:
    answer = env.client.get(
        "/api/v1/feed", params={"after": after}, headers={"authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def heads(env: RegistryHarness) -> dict[str, int]:
    with env.engine.connect() as conn:
        return {n: int(s) for n, s in conn.execute(sa.select(db.head.c.name, db.head.c.seq))}


def test_a_restore_jumps_both_heads_and_old_list_cursors_read_a_snapshot(registry_env) -> None:
    env = registry_env
    for i in (1, 2):
        assert env.client.post("/api/v1/restrictions", content=env.world.entry("A", i)).is_success
    push = env.client.post("/api/v1/feed/events", content=batch(env.world, "A", [event(1)]))
    assert push.status_code == 201
    point = after_restore(env.engine, now=NOW, archive="r.jzbk")
    floor = floor_at(NOW)
    assert floor == int(NOW.timestamp()) * SEQS_PER_SECOND
    assert (point.list_from, point.list_floor, point.feed_from, point.feed_floor) == (
        2, floor, 1, floor,
    )  # fmt: skip
    assert heads(env) == {"list": floor, "feed": floor}
    for old in (0, 2):  # any cursor given before the restore
        refused = read(env, after=old)
        assert refused.status_code == 409
        body = refused.json()
        assert body["type"].endswith("/cursor_before_restore") and body["floor"] == floor
        assert body["errors"][0]["field"] == "after"
    snapshot = load_national_list(read(env).text, env.world.trust, registry_id=REGISTRY_ID)
    assert snapshot.cursor == floor and len(snapshot.entries) == 2
    # the next change follows the floor, and a page from the floor reaches it
    added = env.client.post("/api/v1/restrictions", content=env.world.entry("A", 3))
    assert added.json()["seq"] == floor + 1
    page = load_national_list(read(env, after=floor).text, env.world.trust, registry_id=REGISTRY_ID)
    assert [seq for seq, _op, _e in page.changes] == [floor + 1]
    assert read(env, after=floor + 2).status_code == 409  # beyond the head, as before

    # a later restore jumps past what the first one handed out
    second = after_restore(env.engine, now=LATER)
    assert second.list_from == floor + 1 and second.list_floor == floor_at(LATER) > floor + 1
    assert read(env, after=floor + 1).status_code == 409
    with env.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.restores)).scalar() == 2


def test_the_feed_chains_across_the_jump_and_a_gap_names_the_last_event(registry_env) -> None:
    env = registry_env
    key = add_client(env.engine, "mis", identity=False, now=NOW)
    assert env.client.post(
        "/api/v1/feed/events", content=batch(env.world, "A", [event(1)])
    ).is_success
    before = feed(env, key)
    assert before["restores"] == []
    point = after_restore(env.engine, now=NOW)
    # the office had sent events 2 and 3 since the backup: its next batch is a gap
    gap = env.client.post("/api/v1/feed/events", content=batch(env.world, "A", [event(4)]))
    assert gap.status_code == 409 and gap.json()["last"] == 1
    assert env.client.post(
        "/api/v1/feed/events", content=batch(env.world, "A", [event(2), event(3)])
    ).status_code == 201  # fmt: skip
    page = feed(env, key)
    assert page["restores"] == [{"from": 1, "hash": point.feed_hash, "to": point.feed_floor}]
    first, *rest = page["events"]
    assert [e["seq"] for e in rest] == [point.feed_floor + 1, point.feed_floor + 2]
    assert rest[0]["prev"] == first["hash"] == point.feed_hash  # the chain links across


def test_the_follower_crosses_a_jump_and_goes_back_from_a_lost_tail(registry_env, tmp_path) -> None:
    env = registry_env
    key = add_client(env.engine, "mis", identity=False, now=NOW)
    assert env.client.post(
        "/api/v1/feed/events", content=batch(env.world, "A", [event(1)])
    ).is_success
    behind = target_engine(f"sqlite:///{tmp_path / 'behind.db'}")  # at the restore point
    ahead = target_engine(f"sqlite:///{tmp_path / 'ahead.db'}")  # saw the lost event 2
    url = "http://testserver"
    assert follow_once(behind, env.client, url, key, 10) == 1
    assert env.client.post(
        "/api/v1/feed/events", content=batch(env.world, "A", [event(2)])
    ).is_success
    assert follow_once(ahead, env.client, url, key, 10) == 2
    with env.engine.begin() as conn:  # the restore brings back the database of before 2
        conn.execute(db.feed_events.delete().where(db.feed_events.c.seq == 2))
        conn.execute(db.head.update().where(db.head.c.name == "feed").values(seq=1))
        conn.execute(db.feed_offices.update().values(last_seq=1))
    said: list[str] = []
    # restored by hand, without the jump: a cursor beyond the head is said and refused
    with pytest.raises(ChainBroken, match="restored from a backup without"):
        follow_once(ahead, env.client, url, key, 10, say=said.append)
    point = after_restore(env.engine, now=NOW)
    # at the jump with nothing after it: the head, not a gap
    assert follow_once(behind, env.client, url, key, 10, say=said.append) == 0
    assert said == []
    # the office sends its event 2 again (and a new one): both followers end alike
    sent = env.client.post("/api/v1/feed/events", content=batch(env.world, "A", [event(2)]))
    assert sent.status_code == 201
    assert follow_once(behind, env.client, url, key, 10, say=said.append) == 1
    assert follow_once(ahead, env.client, url, key, 10, say=said.append) == 1
    assert len(said) == 1 and "events 2 to 2 applied here were lost there" in said[0]
    for engine in (behind, ahead):
        with engine.connect() as conn:
            assert conn.execute(sa.select(cursor_table.c.seq)).scalar() == point.feed_floor + 1
        engine.dispose()
