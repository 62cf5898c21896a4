"""The national feed: offices' signed batches in, one gapless hash-chained feed out, read
by system clients with an API key, the identity number for flagged clients only; on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from click.testing import CliRunner

from credential import FEED_GENESIS, feed_event_hash
from jiaozi.cli import main
from registry.feed import add_client
from registry.follow import ChainBroken, apply_page, certificates, check_page, target_engine
from tests.factory.feed import batch, event, identity_of
from tests.factory.registry import NationalWorld, RegistryHarness

NOW = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)


def push(env: RegistryHarness, token: str):
    return env.client.post("/api/v1/feed/events", content=token)


def client_key(env: RegistryHarness, name: str = "mis", *, identity: bool = False) -> str:
    return add_client(env.engine, name, identity=identity, now=NOW)


def feed(env: RegistryHarness, key: str, after: int = 0, limit: int = 500):
    answer = env.client.get(
        "/api/v1/feed",
        params={"after": after, "limit": limit},
        headers={"authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_batch_is_appended_once_and_a_gap_is_refused(registry_env) -> None:
    env = registry_env
    first = batch(env.world, "A", [event(1, who=1), event(2, who=2)])
    assert push(env, first).status_code == 201
    assert push(env, first).json() == {"office": env.world.office_id("A"), "appended": 0, "last": 2}
    # a batch overlapping what is held appends only what is new
    answer = push(env, batch(env.world, "A", [event(2, who=2), event(3, who=3)]))
    assert answer.status_code == 201 and answer.json()["appended"] == 1
    gap = push(env, batch(env.world, "A", [event(5, who=5)]))
    assert gap.status_code == 409 and gap.json()["errors"][0]["field"] == "body"
    page = feed(env, client_key(env))
    assert [(e["seq"], e["office_seq"]) for e in page["events"]] == [(1, 1), (2, 2), (3, 3)]
    assert page["head"] == 3


def test_batches_not_signed_by_the_office_they_name_are_refused(registry_env) -> None:
    env = registry_env
    outsider = NationalWorld(seed=77)
    for token in (
        batch(env.world, "A", [event(1)], signed_by="B"),  # B's key, A's iss
        batch(env.world, "R", [event(1)]),  # the registry's own key
        batch(env.world, "A", [event(1)], aud="urn:jiaozi:elsewhere"),
        batch(outsider, "A", [event(1)]),  # a key not in the trust list
        "not a jws",
    ):
        answer = push(env, token)
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == "body"
    assert feed(env, client_key(env))["events"] == []


def test_the_feed_is_for_system_clients_and_the_identity_number_for_flagged_ones(
    registry_env,
) -> None:
    env = registry_env
    push(env, batch(env.world, "A", [event(1, who=7)]))
    for headers in ({}, {"authorization": "Bearer jzf_wrong"}, {"authorization": "Basic x"}):
        answer = env.client.get("/api/v1/feed", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["errors"][0]["field"] == "Authorization"
        assert identity_of(7) not in answer.text
    plain = env.client.get(
        "/api/v1/feed", headers={"authorization": f"Bearer {client_key(env, 'plain')}"}
    )
    assert identity_of(7) not in plain.text and "identity" not in plain.json()["events"][0]
    (only,) = plain.json()["events"]
    assert only["number"] == "2026A00000007" and only["name"] == "教师7"
    assert only["office"] == env.world.office_id("A") and only["kind"] == "issued"
    flagged = feed(env, client_key(env, "hr", identity=True))["events"][0]
    assert flagged["identity"]["number"] == identity_of(7)
    assert check_page(0, FEED_GENESIS, [flagged]) == (1, flagged["hash"])


def test_concurrent_offices_leave_a_gapless_chain_replayable_from_zero(registry_env) -> None:
    env = registry_env
    plan = {name: [event(i, who=i, office=name) for i in range(1, 13)] for name in "ABC"}
    codes: list[int] = []
    lock = threading.Lock()

    def send(name: str) -> None:
        for i in range(0, 12, 3):
            code = push(env, batch(env.world, name, plan[name][i : i + 3])).status_code
            with lock:
                codes.append(code)

    threads = [threading.Thread(target=send, args=(n,)) for n in "ABC" for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count(201) == 12 and len(codes) == 24  # each batch once, the rest replays
    key = client_key(env)
    events = feed(env, key)["events"]
    assert [e["seq"] for e in events] == list(range(1, 37))
    assert check_page(0, FEED_GENESIS, events) == (36, events[-1]["hash"])
    for name in "ABC":  # each office's events in its own order
        mine = [e["office_seq"] for e in events if e["office"] == env.world.office_id(name)]
        assert mine == list(range(1, 13))
    # paging from any cursor gives the same chain
    pages, after = [], 0
    while page := feed(env, key, after=after, limit=5)["events"]:
        pages += page
        after = page[-1]["seq"]
    assert pages == events
    cursor_ahead = env.client.get(
        "/api/v1/feed", params={"after": 99}, headers={"authorization": f"Bearer {key}"}
    )
    assert cursor_ahead.status_code == 409


def test_the_consumer_refuses_a_forged_or_missing_event(registry_env) -> None:
    env = registry_env
    push(env, batch(env.world, "A", [event(i, who=i) for i in range(1, 5)]))
    push(env, batch(env.world, "B", [event(1, who=1, kind="revoked", office="B")]))
    events = feed(env, client_key(env, identity=True))["events"]
    forged = [dict(e) for e in events]
    forged[2]["status"] = "revoked"  # a changed fact, its hash left
    rehashed = [dict(e) for e in events]
    rehashed[2]["name"] = "冒名"
    rehashed[2]["hash"] = feed_event_hash(rehashed[2])  # re-hashed: the next link breaks
    wrong_identity = [dict(e) for e in events]
    wrong_identity[1]["identity"] = {**events[1]["identity"], "number": identity_of(99)}
    for broken in (
        forged,
        rehashed,
        events[:2] + events[3:],  # one missing
        events[1:],  # the first missing
        wrong_identity,
    ):
        with pytest.raises(ChainBroken):
            check_page(0, FEED_GENESIS, broken)
    # the consumer's tables in the same database (each backend in turn): no name is shared
    target = target_engine(env.engine.url.render_as_string(hide_password=False))
    with pytest.raises(ChainBroken):
        apply_page(target, events[:1] + events[2:])
    with target.connect() as conn:  # nothing of the refused page was applied
        assert conn.execute(certificates.select()).all() == []
    assert apply_page(target, events) == 5
    with target.connect() as conn:
        rows = {r.number: r for r in conn.execute(certificates.select())}
    assert rows["2026B00000001"].status == "revoked"
    assert rows["2026A00000003"].person == identity_of(3)
    with pytest.raises(ChainBroken):  # the same page again: it does not follow the cursor
        apply_page(target, events)
    target.dispose()


def test_jiaozi_registry_feed_client_prints_a_key_that_reads_the_feed(
    registry_env, monkeypatch
) -> None:
    env = registry_env
    monkeypatch.setenv("JIAOZI_ENV", "development")
    monkeypatch.setenv("JIAOZI_REGISTRY_DATABASE_URL", str(env.engine.url.render_as_string(False)))
    out = CliRunner().invoke(main, ["registry", "feed-client", "mis-1", "--identity"])
    assert out.exit_code == 0, out.output
    key = out.output.strip()
    push(env, batch(env.world, "A", [event(1, who=2)]))
    assert feed(env, key)["events"][0]["identity"]["number"] == identity_of(2)
    again = CliRunner().invoke(main, ["registry", "feed-client", "mis-1"])
    assert again.exit_code != 0 and "exists" in again.output
    assert json.dumps(feed(env, key)).count(identity_of(2)) == 1
    gone = CliRunner().invoke(main, ["registry", "feed-client", "mis-1", "--disable"])
    assert gone.exit_code == 0, gone.output
    refused = env.client.get("/api/v1/feed", headers={"authorization": f"Bearer {key}"})
    assert refused.status_code == 401
    twice = CliRunner().invoke(main, ["registry", "feed-client", "mis-1", "--disable"])
    assert twice.exit_code == 1 and "no enabled feed client" in twice.output


def test_the_registry_keeps_identity_numbers_sealed_and_gives_them_to_flagged_clients(
    registry_env,
) -> None:
    # contract section 2: identity numbers stored encrypted or as keyed hashes, never in
    # clear; the feed's store holds them sealed under JIAOZI_REGISTRY_DATA_KEY
    from tests.factory.issuer import assert_no_identity_number

    env = registry_env
    assert push(env, batch(env.world, "A", [event(1, who=3), event(2, who=4)])).status_code == 201
    numbers = [identity_of(3), identity_of(4)]
    assert assert_no_identity_number(env.engine, numbers) > 0
    page = feed(env, client_key(env, "mis-id", identity=True))
    assert [e["identity"]["number"] for e in page["events"]] == numbers


def test_production_refuses_the_published_development_data_key(monkeypatch) -> None:
    from pydantic import ValidationError

    from keys import generate_data_key
    from registry.settings import RegistrySettings

    monkeypatch.delenv("JIAOZI_REGISTRY_DATA_KEY", raising=False)
    monkeypatch.setenv("JIAOZI_RESTRICTION_HMAC_KEY", "s" * 32)  # (their own test)
    monkeypatch.setenv("JIAOZI_REGISTRY_AUDIT_KEY", "a" * 32)
    with pytest.raises(ValidationError, match="JIAOZI_REGISTRY_DATA_KEY"):
        RegistrySettings(env="production", public_url="https://registry.example.cn")
    ok = RegistrySettings(
        env="production", public_url="https://registry.example.cn", data_key=generate_data_key()
    )
    assert ok.env == "production"
    with pytest.raises(ValidationError, match="JIAOZI_REGISTRY_DATA_KEY"):
        RegistrySettings(env="development", data_key="too short")
