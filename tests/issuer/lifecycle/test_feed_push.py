"""This office's events reach the registry's national feed, in order, with the facts a
teacher management system links on (name, identity number for a flagged client), beside
another office's; a failed send keeps the cursor, a resend appends nothing twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from credential import FEED_GENESIS, TrustList
from issuer.lifecycle import RegistryClient, sync_national
from issuer.lifecycle.feed_push import push_feed
from registry.feed import add_client
from registry.follow import apply_page, certificates, check_page, target_engine
from tests.factory.feed import batch, event
from tests.factory.issuer import DECISION, IssuerHarness, application, issue, officer, post
from tests.factory.registry import NationalWorld, registry_beside


@dataclass
class Fed:
    env: IssuerHarness
    world: NationalWorld
    registry: TestClient
    engine: sa.Engine
    trust: TrustList

    def sync(self):
        with Session(self.env.engine) as session:
            return sync_national(
                session,
                RegistryClient("http://testserver", http=self.registry),
                signer=self.env.signer,
                settings=self.env.settings,
                trust=self.trust,
                now=dt.datetime.now(dt.UTC).replace(microsecond=0),
            )

    def feed(self, *, identity: bool) -> list[dict]:
        key = add_client(
            self.engine, f"mis-{identity}-{id(object())}", identity=identity,
            now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        answer = self.registry.get("/api/v1/feed", headers={"authorization": f"Bearer {key}"})
        assert answer.status_code == 200, answer.text
        return answer.json()["events"]


@pytest.fixture
def fed(issuer_env: IssuerHarness, tmp_path) -> Iterator[Fed]:
    with registry_beside(issuer_env, tmp_path) as (world, client, engine, trust):
        yield Fed(issuer_env, world, client, engine, trust)


def test_issue_and_revoke_at_two_offices_reach_the_feed_in_order(fed: Fed, tmp_path) -> None:
    env = fed.env
    first = issue(env, 1)
    second = issue(env, 2)
    number = second["certificate_number"]
    sup_a = officer(env, "sup-a", "supervisor")
    sup_b = officer(env, "sup-b", "supervisor")
    action = post(env, f"/api/v1/certificates/{number}/revocations", DECISION, sup_a)
    approved = post(
        env, f"/api/v1/pending-actions/{action.json()['pending_action']['id']}/approve", None,
        sup_b,
    )  # fmt: skip
    assert approved.status_code == 200, approved.text
    report = fed.sync()
    assert report.errors == [] and report.fed == 3
    # office B issues and revokes too (its own batch, signed by its key)
    b_events = [event(1, who=5, office="B"), event(2, who=5, kind="revoked", office="B")]
    pushed = fed.registry.post("/api/v1/feed/events", content=batch(fed.world, "B", b_events))
    assert pushed.status_code == 201
    again = fed.sync()  # nothing new here: nothing sent twice
    assert again.errors == [] and again.fed == 0

    events = fed.feed(identity=True)
    here = env.settings.office_id
    assert [(e["office"], e["kind"], e["number"]) for e in events] == [
        (here, "issued", first["certificate_number"]),
        (here, "issued", number),
        (here, "revoked", number),
        (fed.world.office_id("B"), "issued", "2026B00000005"),
        (fed.world.office_id("B"), "revoked", "2026B00000005"),
    ]
    assert check_page(0, FEED_GENESIS, events)[0] == 5
    body = application(2)
    assert events[1]["name"] == body["name"]
    assert events[1]["identity"]["number"] == body["id_number"]
    assert events[2]["status"] == "revoked" and events[1]["status"] == "valid"
    plain = fed.feed(identity=False)
    assert all("identity" not in e for e in plain)
    assert body["id_number"] not in str(plain)
    # a system client's table, from the feed
    target = target_engine(f"sqlite:///{tmp_path / 'mis.db'}")
    apply_page(target, events)
    with target.connect() as conn:
        table = {r.number: (r.person, r.status) for r in conn.execute(certificates.select())}
    assert table[number] == (body["id_number"], "revoked")
    assert table[first["certificate_number"]] == (application(1)["id_number"], "valid")


def test_a_refused_send_keeps_the_cursor(fed: Fed) -> None:
    env = fed.env
    issue(env, 1)
    with Session(env.engine) as session:
        sent, error = push_feed(
            session, lambda token: (503, "down"), signer=env.signer, settings=env.settings,
            now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
    assert (sent, error) == (0, "registry answered 503: down")
    report = fed.sync()
    assert report.errors == [] and report.fed == 1
    assert [e["office_seq"] for e in fed.feed(identity=False)] == [1]
