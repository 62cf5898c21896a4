"""The national list at one office, on SQLite and PostgreSQL, against a registry app in
process: another office's entry bars single and batch issuance (naming the recording
office and the end of the bar) and revokes this office's certificates of the person,
batch-issued ones included; a replayed round changes nothing; a removal reinstates
nothing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from credential import IdType, TrustList
from issuer import issuance
from issuer.lifecycle import RegistryClient, SyncReport, sync_national
from tests.factory.batchfile import EN_HEADER, csv_bytes, person
from tests.factory.issuer import IssuerHarness, application, issue, poll_batch, post_batch, rows
from tests.factory.registry import NationalWorld, registry_beside


@dataclass
class Linked:
    env: IssuerHarness
    world: NationalWorld
    registry: TestClient
    trust: TrustList

    def ref(self, id_type: str, id_number: str) -> str:
        return issuance.person_ref(self.env.settings, IdType.parse(id_type), id_number)

    def restrict_at_b(self, local_id: int, ref: str, *, op: str = "add") -> None:
        token = self.world.entry("B", local_id, op=op, person_ref=ref)
        answer = self.registry.post("/api/v1/restrictions", content=token)
        assert answer.status_code in (200, 201), answer.text

    def sync(self) -> SyncReport:
        from sqlalchemy.orm import Session

        with Session(self.env.engine) as session:
            return sync_national(
                session,
                RegistryClient("http://testserver", http=self.registry),
                signer=self.env.signer,
                settings=self.env.settings,
                trust=self.trust,
                now=dt.datetime.now(dt.UTC).replace(microsecond=0),
            )


@pytest.fixture
def linked(issuer_env: IssuerHarness, tmp_path) -> Iterator[Linked]:
    with registry_beside(issuer_env, tmp_path) as (world, client, _engine, trust):
        yield Linked(issuer_env, world, client, trust)


def test_another_offices_entry_revokes_and_bars_here(linked: Linked) -> None:
    env = linked.env
    body = application(11)
    cert = issue(env, 11)
    ref = linked.ref(body["id_type"], body["id_number"])
    linked.restrict_at_b(4, ref)
    report = linked.sync()
    assert report.errors == [] and report.revoked == [cert["certificate_number"]]
    assert report.cursor == 1
    [row] = rows(env, "SELECT status, status_reason FROM certificate")
    assert (row["status"], row["status_reason"]) == ("revoked", "restricted")
    [audit] = rows(env, "SELECT detail_json FROM audit_record WHERE action='certificate.revoked'")
    b = linked.world.office_id("B")
    assert json.loads(audit["detail_json"])["national_ref"] == f"{b}#4"
    refused = env.issue(application(11, subject="英语"))
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "id_number" and error["code"] == "restricted"
    assert b in error["message"] and "2031-11-01" in error["message"]
    # the same round again: nothing new, nothing revoked twice
    again = linked.sync()
    assert (again.applied, again.revoked, again.errors) == (0, [], [])
    assert len(rows(env, "SELECT id FROM audit_record WHERE action='certificate.revoked'")) == 1
    # a removal lifts the bar and reinstates nothing
    linked.restrict_at_b(4, ref, op="remove")
    assert linked.sync().errors == []
    assert env.issue(application(11, subject="英语")).status_code == 201
    assert rows(env, "SELECT status FROM certificate WHERE status_reason='restricted'") == [
        {"status": "revoked"}
    ]


def test_batches_refuse_the_person_and_batch_certificates_are_found(linked: Linked) -> None:
    env = linked.env
    first = [person(n, f"r{n}") for n in range(1, 4)]
    done = poll_batch(env, post_batch(env, csv_bytes(EN_HEADER, first), "one.csv").json()["id"])
    assert done["issued_rows"] == 3
    barred = first[1]
    linked.restrict_at_b(9, linked.ref(barred[4], barred[5]))
    report = linked.sync()
    assert len(report.revoked) == 1 and report.errors == []
    assert len(rows(env, "SELECT id FROM certificate WHERE status='revoked'")) == 1
    # the same person in a later batch (another subject) is a row error naming B
    again = [[*barred[:7], "英语", barred[8]], person(7, "r7")]
    again[0][0] = "r-again"
    answer = post_batch(env, csv_bytes(EN_HEADER, again), "two.csv")
    assert answer.status_code == 202, answer.text
    got = poll_batch(env, answer.json()["id"])
    assert got["issued_rows"] == 1 and got["error_rows"] == 1
    errors = env.client.get(
        f"/api/v1/batches/{got['id']}/errors.csv", headers=env.headers()
    ).content.decode("utf-8-sig")
    assert "2031-11-01" in errors and linked.world.office_id("B") in errors


def _issued_before_revision_0007(env: IssuerHarness, number: str) -> None:
    """Make ``number`` look as a certificate issued before person references existed."""
    with env.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE certificate SET person_ref = NULL WHERE certificate_number = :n"),
            {"n": number},
        )


def test_a_certificate_from_before_person_references_is_found_once_filled(
    linked: Linked,
) -> None:
    # Certificates issued before revision 0007 have no person_ref: without the fill, an
    # entry for their person arrives, revokes nothing, and the certificate stays valid.
    env = linked.env
    body = application(12)
    old = issue(env, 12)["certificate_number"]
    other = issue(env, 13)["certificate_number"]
    for number in (old, other):
        _issued_before_revision_0007(env, number)
    linked.restrict_at_b(5, linked.ref(body["id_type"], body["id_number"]))
    report = linked.sync()
    assert report.errors == [] and report.revoked == [old]  # filled in the same round
    statuses = {
        r["certificate_number"]: (r["status"], r["person_ref"] is not None)
        for r in rows(env, "SELECT certificate_number, status, person_ref FROM certificate")
    }
    assert statuses == {old: ("revoked", True), other: ("valid", True)}
    [audit] = rows(env, "SELECT detail_json FROM audit_record WHERE action='certificate.revoked'")
    assert json.loads(audit["detail_json"])["national_ref"] == f"{linked.world.office_id('B')}#5"
    # the next round has nothing left to fill and revokes nothing again
    again = linked.sync()
    assert (again.revoked, again.errors) == ([], [])


def test_a_certificate_issued_after_the_entry_arrived_is_not_revoked_by_the_fill(
    linked: Linked,
) -> None:
    # the entry's bar has ended (or it arrived before): a certificate issued after the
    # entry was held was judged at issuance; the fill must not revoke it afterwards
    env = linked.env
    body = application(14)
    linked.restrict_at_b(6, linked.ref(body["id_type"], body["id_number"]))
    assert linked.sync().errors == []
    with env.engine.begin() as conn:  # the bar lifted by an earlier removal we do not model
        conn.execute(sa.text("DELETE FROM national_restriction"))
    cert = issue(env, 14)["certificate_number"]
    with env.engine.begin() as conn:  # the entry back, as received before the issuance
        conn.execute(
            sa.text(
                "INSERT INTO national_restriction (ref, office, person_ref, category, "
                "decision_date, bar_until, received_at) VALUES (:r, :o, :p, 'revoked', "
                ":d, :u, :t)"
            ),
            {
                "r": f"{linked.world.office_id('B')}#6",
                "o": linked.world.office_id("B"),
                "p": linked.ref(body["id_type"], body["id_number"]),
                "d": dt.date(2020, 1, 1),
                "u": dt.date(2025, 1, 1),
                "t": dt.datetime(2021, 1, 1),
            },
        )
    _issued_before_revision_0007(env, cert)
    report = linked.sync()
    assert (report.revoked, report.errors) == ([], [])
    assert rows(env, "SELECT status FROM certificate") == [{"status": "valid"}]
