"""A registry restored from a backup loses nothing of the national list or the feed, end to
end (the office's database on SQLite and PostgreSQL, the registry on SQLite, in process):

back up the registry; office A records two more entries and removes an older one, issues
a certificate, and its round sends all of it (each outbox row marked sent, the feed
cursor moved); office B sends an entry; a feed follower applies everything; restore the
registry from the backup (``jiaozi restore registry``'s function); B sends a new entry.
Then A's national rounds: the registry holds every entry of A again (the removal too),
A's consolidated copy equals the registry's list, every event of A is in the feed, and
no seq handed out after the restore equals one handed out between the backup and the
restore with other content, for the list as for the feed. The follower says that its
tail was lost, goes back to the restore point and ends with the table a new follower
makes. A second round changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from credential import Office, QualificationType, TrustList
from issuer.lifecycle import RegistryClient, SyncReport, sync_national
from jiaozi.backup.services import backup_registry, restore_registry
from registry.app import create_app as registry_app
from registry.db import changes, entries, feed_events, make_engine
from registry.feed import add_client
from registry.follow import certificates, follow_once, target_engine
from registry.settings import RegistrySettings
from tests.factory.issuer import IssuerHarness, entry_body, issue, officer, post, record, rows
from tests.factory.registry import NationalWorld

PASS = b"a passphrase for the tests only"


@contextmanager
def running(url: str, world: NationalWorld, trust: TrustList) -> Iterator[TestClient]:
    """A registry app over the database at ``url`` (made again after the restore)."""
    settings = RegistrySettings(env="development", database_url=url)
    engine = make_engine(url)
    app = registry_app(
        settings, engine=engine, signer_provider=lambda: world.signers["R"],
        trust_provider=lambda: trust,
    )  # fmt: skip
    try:
        with TestClient(app) as client:
            yield client
    finally:
        engine.dispose()


def sync(env: IssuerHarness, client: TestClient, trust: TrustList) -> SyncReport:
    with Session(env.engine) as session:
        return sync_national(
            session,
            RegistryClient("http://testserver", http=client),
            signer=env.signer,
            settings=env.settings,
            trust=trust,
            now=dt.datetime.now(dt.UTC).replace(microsecond=0),
        )


def remove(env: IssuerHarness, entry_id: int, maker: dict, checker: dict) -> None:
    body = {"reason": "行政复议撤销原决定", "decision_date": "2026-11-25"}
    asked = post(env, f"/api/v1/restrictions/{entry_id}/removal", body, maker)
    assert asked.status_code == 202, asked.text
    action = asked.json()["pending_action"]["id"]
    ok = post(env, f"/api/v1/pending-actions/{action}/approve", None, checker)
    assert ok.status_code == 200, ok.text


def registry_state(url: str) -> tuple[dict[int, tuple[str, str]], dict[int, str], set[str]]:
    """Return the registry's (list changes {seq: (ref, op)}, feed {seq: hash}, refs in
    force)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            log = {
                int(s): (r, o)
                for s, r, o in conn.execute(sa.select(changes.c.seq, changes.c.ref, changes.c.op))
            }
            feed = {
                int(s): h for s, h in conn.execute(sa.select(feed_events.c.seq, feed_events.c.hash))
            }
            held = set(
                conn.execute(sa.select(entries.c.ref).where(entries.c.removed_seq.is_(None)))
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    return log, feed, held


def follower_table(engine: sa.Engine) -> dict[str, tuple[str, str]]:
    with engine.connect() as conn:
        return {r.number: (r.status, r.office) for r in conn.execute(certificates.select())}


def test_a_restored_registry_gets_back_everything_and_hands_out_no_number_twice(
    issuer_env: IssuerHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = issuer_env
    world = NationalWorld()
    s = env.settings
    here = Office(
        s.office_id, s.office_name, s.province, s.office_code, frozenset(QualificationType),
        (env.signer.public_key(),),
    )  # fmt: skip
    trust = TrustList(1, world.issued_at, (here, world.office("B"), world.office("R")))
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    home = tmp_path / "registry-home"
    (home / "trust").mkdir(parents=True)
    (home / "trust" / "trust-list.jwt").write_text("a.b.c")
    monkeypatch.setenv("JIAOZI_REGISTRY_DATABASE_URL", url)
    a, b = officer(env, "sup-a", "supervisor"), officer(env, "sup-b", "supervisor")
    mis = target_engine(f"sqlite:///{tmp_path / 'mis.db'}")
    said: list[str] = []

    with running(url, world, trust) as client:
        clients = make_engine(url)
        key = add_client(clients, "mis", identity=False, now=dt.datetime.now(dt.UTC))
        clients.dispose()
        issue(env, 1)
        first = record(env, entry_body(21), a, b)
        assert client.post("/api/v1/restrictions", content=world.entry("B", 1, 31)).is_success
        assert sync(env, client, trust).errors == []
        backup_registry(tmp_path / "registry.jzbk", passphrase=PASS, home=home)
        backed_up, backed_feed, _ = registry_state(url)

        # after the backup: two more entries, a removal, a certificate; B's entry
        more = [record(env, entry_body(i), a, b) for i in (22, 23)]
        remove(env, first["id"], a, b)
        issue(env, 2)
        assert client.post("/api/v1/restrictions", content=world.entry("B", 2, 32)).is_success
        report = sync(env, client, trust)
        assert report.errors == [] and report.sent == 3 and report.pending == 0
        lost_log, lost_feed, _ = registry_state(url)
        assert len(lost_log) > len(backed_up) and len(lost_feed) > len(backed_feed)
        assert follow_once(mis, client, "http://testserver", key, 3) == len(lost_feed)
        before_restore = follower_table(mis)

    done = restore_registry(tmp_path / "registry.jzbk", passphrase=PASS, home=home, force=True)
    assert any("continue after" in note for note in done.notes)
    assert registry_state(url)[:2] == (backed_up, backed_feed)  # as at the backup

    with running(url, world, trust) as client:
        # a new change before A's round: it must not take the number of a lost one
        assert client.post("/api/v1/restrictions", content=world.entry("B", 3, 33)).is_success
        report = sync(env, client, trust)
        assert report.errors == [], report.errors
        assert report.registry_reset and report.resent == 3  # two adds and one removal
        log, feed, held = registry_state(url)

        # every entry of A is back, its removal too, and A's copy is the registry's list
        ours = {f"{s.office_id}#{e['id']}" for e in more}
        assert ours <= held and f"{s.office_id}#{first['id']}" not in held
        copy = rows(env, "SELECT ref FROM national_restriction WHERE removed_at IS NULL")
        assert held == {r["ref"] for r in copy}
        b_id = world.office_id("B")
        assert {f"{b_id}#1", f"{b_id}#3"} <= held  # B's lost #2 is B's to send again

        # no number handed out after the restore names other content than before it
        for seq, change in log.items():
            assert lost_log.get(seq, change) == change, seq
        for seq, link in feed.items():
            assert lost_feed.get(seq, link) == link, seq
        assert min(set(log) - set(backed_up)) > max(lost_log)
        assert min(set(feed) - set(backed_feed)) > max(lost_feed)
        # every event of A reached the feed again, in A's order
        events = client.get(
            "/api/v1/feed", params={"limit": 1000}, headers={"authorization": f"Bearer {key}"}
        ).json()
        got = [e["office_seq"] for e in events["events"] if e["office"] == s.office_id]
        mine = [r["seq"] for r in rows(env, "SELECT seq FROM event ORDER BY seq")]
        assert got == mine and events["restores"] and events["restores"][0]["to"] > max(lost_feed)

        # the follower says its tail was lost, goes back, and ends as a new one does
        follow_once(mis, client, "http://testserver", key, 3, say=said.append)
        assert len(said) == 1 and "restored from a backup" in said[0]
        fresh = target_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        follow_once(fresh, client, "http://testserver", key, 2)
        assert follower_table(mis) == follower_table(fresh) != {}
        assert set(before_restore) <= set(follower_table(mis))
        fresh.dispose()

        # a second round: nothing more to send, nothing refused
        again = sync(env, client, trust)
        assert (again.errors, again.registry_reset, again.resent, again.sent) == ([], False, 0, 0)
    mis.dispose()
