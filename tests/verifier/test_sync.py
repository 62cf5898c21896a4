"""Sync against a fake issuer: fresh, conditional, down, rollback, SSRF, stale, restrictions.

Every test runs on SQLite and on PostgreSQL (``database_url`` from conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from credential import (
    RESTRICTIONS_TYP,
    RollbackError,
    StatusValue,
    TrustList,
    load_restrictions,
    qr_url,
    sign_trust_list,
)
from tests.factory import ISSUER_URL, T0, VERIFIER_URL, World, applicants
from tests.factory.verifier import (
    Harness,
    make_harness,
)
from verifier.app import create_app
from verifier.sync import SyncError, check_restrictions_order


@pytest.fixture
def harness(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    yield from make_harness(database_url, tmp_path)


def first_sync(h: Harness) -> dict:
    report = h.verifier.syncer.run_once(extra_status=[h.world.status_uri])
    return {o.what: o.outcome for o in report.outcomes}


def test_fresh_sync_then_valid_with_age(harness: Harness) -> None:
    h = harness
    outcomes = first_sync(h)
    assert outcomes == {
        "trust": "updated",
        "status " + h.world.status_uri: "updated",
        "restrictions " + ISSUER_URL: "updated",
    }
    token = h.world.issue(idx=11).qr_token
    body = h.verify(qr=qr_url(VERIFIER_URL, token))
    assert (body["verdict"], body["reason"]) == ("valid", None)
    assert body["status_as_of"] == "2026-11-29T07:59:55Z"  # the list's iat (clock - 5 s)
    assert body["certificate"]["name"] == applicants()[1]["name"]


def test_not_modified_keeps_the_copy(harness: Harness) -> None:
    h = harness
    first_sync(h)
    before = h.verifier.store.current()
    n = len(h.issuer.requests)
    outcomes = first_sync(h)
    assert outcomes["trust"] == "not_modified"
    assert outcomes["status " + h.world.status_uri] == "not_modified"
    conditional = [r for r in h.issuer.requests[n:] if "if-none-match" in r.headers]
    assert len(conditional) == 2  # trust list and status list both asked conditionally
    after = h.verifier.store.current()
    assert after.trust == before.trust
    assert after.status[h.world.status_uri].issued_at == before.status[h.world.status_uri].issued_at


def test_issuer_down_keeps_serving_with_age(harness: Harness) -> None:
    h = harness
    first_sync(h)
    h.issuer.down = True
    h.clock.advance(200)  # within ttl (300) + grace (600)
    report = h.sync()
    assert not report.ok and {o.outcome for o in report.outcomes} == {"failed"}
    body = h.verify(qr=h.world.issue(idx=12).qr_token)
    assert body["verdict"] == "valid"
    assert body["status_as_of"] == "2026-11-29T07:59:55Z"
    assert body["checked_at"] == "2026-11-29T08:03:20Z"


def test_stale_past_ttl_and_grace_cannot_be_determined(harness: Harness) -> None:
    h = harness
    first_sync(h)
    token = h.world.issue(idx=13).qr_token
    revoked = h.world.issue(idx=14).qr_token
    h.world.status.set(14, StatusValue.INVALID)
    h.issuer.down = True
    h.clock.advance(300 + 600 + 10)
    body = h.verify(qr=token)
    assert (body["verdict"], body["reason"]) == ("cannot_determine", "status_stale")
    assert body["status_as_of"] == "2026-11-29T07:59:55Z"
    # the on-demand refresh was tried once (bounded), and failed: the issuer is down
    assert h.issuer.requested(h.world.status_uri) == 2
    body = h.verify(qr=token)
    assert body["reason"] == "status_stale" and h.issuer.requested(h.world.status_uri) == 2
    # revoked was on the held list? No: revoked after the last sync, so still unknown
    assert h.verify(qr=revoked)["verdict"] == "cannot_determine"


def test_trust_list_rollback_refused_and_held_copy_kept(harness: Harness) -> None:
    h = harness
    w = h.world
    newer = TrustList(sequence=5, issued_at=T0 - 100, offices=(w.office,))
    h.issuer.trust_token = sign_trust_list(newer, w.root)
    first_sync(h)
    assert h.verifier.store.current().trust.sequence == 5
    older = TrustList(sequence=4, issued_at=T0 - 50, offices=(w.office,))
    h.issuer.trust_token = sign_trust_list(older, w.root)
    report = h.verifier.syncer.sync_trust()
    (o,) = report.outcomes
    assert o.outcome == "refused" and "rollback" in o.detail
    assert h.verifier.store.current().trust.sequence == 5
    # the same seq with other content is a rollback too
    same_seq = TrustList(sequence=5, issued_at=T0 - 10, offices=())
    h.issuer.trust_token = sign_trust_list(same_seq, w.root)
    assert h.verifier.syncer.sync_trust().outcomes[0].outcome == "refused"
    assert h.verify(qr=w.issue(idx=15).qr_token)["verdict"] == "valid"


def test_trust_list_not_from_the_root_refused(harness: Harness) -> None:
    h = harness
    first_sync(h)
    other_root = World()
    h.issuer.trust_token = other_root.trust_token()
    assert h.verifier.syncer.sync_trust().outcomes[0].outcome == "refused"
    assert h.verifier.store.current().trust is not None


def test_status_list_rollback_refused_and_held_copy_kept(harness: Harness) -> None:
    h = harness
    h.issuer.status_iat = T0 - 10
    first_sync(h)
    h.issuer.status_iat = T0 - 1000
    report = h.verifier.syncer.sync_status(h.world.status_uri)
    (o,) = report.outcomes
    assert o.outcome == "refused" and "rollback" in o.detail
    assert h.verifier.store.current().status[h.world.status_uri].issued_at == T0 - 10


def test_status_list_signed_by_another_key_refused(harness: Harness) -> None:
    h = harness
    first_sync(h)
    h.clock.advance(10)
    real = h.world.office_signer
    from tests.factory import signer

    h.world.office_signer = signer(kid="11001-1")  # same kid, another key
    report = h.verifier.syncer.sync_status(h.world.status_uri)
    h.world.office_signer = real
    assert report.outcomes[0].outcome == "refused"
    assert h.verifier.store.current().status[h.world.status_uri].issued_at == T0 - 5


def test_off_issuer_status_uri_is_never_fetched(harness: Harness) -> None:
    h = harness
    first_sync(h)
    evil = World(
        root=h.world.root,
        office_signer=h.world.office_signer,
        status_uri="https://evil.example.net/statuslists/1",
    )
    token = evil.issue(idx=3).qr_token  # signed by the trusted office, status elsewhere
    n = len(h.issuer.requests)
    body = h.verify(qr=token)
    assert (body["verdict"], body["reason"]) == ("cannot_determine", "status_unavailable")
    assert h.issuer.requests[n:] == []  # no request at all, to anyone
    for uri in (
        "https://evil.example.net/statuslists/1",
        ISSUER_URL + "@evil.example.net/statuslists/1",
        ISSUER_URL + ".evil.example.net/statuslists/1",
        ISSUER_URL + ":8443/statuslists/1",
        ISSUER_URL.replace("https", "http") + "/statuslists/1",
        ISSUER_URL + "/statuslists/1?x=1",
        ISSUER_URL + "/statuslists/../admin",
        ISSUER_URL + "/admin",
        "file:///etc/passwd",
    ):
        assert h.verifier.syncer.sync_status(uri).outcomes[0].outcome == "refused", uri
    assert h.issuer.requests[n:] == []


def test_unknown_status_uri_of_a_configured_issuer_fetched_on_demand(harness: Harness) -> None:
    h = harness
    h.verifier.syncer.sync_trust()
    assert h.verifier.store.current().status == {}
    body = h.verify(qr=h.world.issue(idx=21).qr_token)
    assert body["verdict"] == "valid"
    assert h.issuer.requested(h.world.status_uri) == 1


def test_revocation_reaches_the_verifier_on_sync(harness: Harness) -> None:
    h = harness
    first_sync(h)
    token = h.world.issue(idx=31).qr_token
    assert h.verify(qr=token)["verdict"] == "valid"
    h.world.status.set(31, StatusValue.INVALID)
    h.clock.advance(60)
    h.sync()
    body = h.verify(qr=token)
    assert (body["verdict"], body["reason"]) == ("not_valid", "revoked")
    assert body["status_as_of"] == "2026-11-29T08:00:55Z"


def test_restricted_list_snapshot_then_changes(harness: Harness) -> None:
    h = harness
    rows = applicants()
    cert_a = h.world.certificate(rows[5])
    issued_a = h.world.issue(cert_a, idx=41)
    h.issuer.restrict("r1", rows[5], category="lost", affected=(cert_a.certificate_number,))
    first_sync(h)
    body = h.verify(qr=issued_a.qr_token)
    assert (body["verdict"], body["reason"]) == ("not_valid", "lost")
    # a change names a second certificate: caught by its number, by QR or credential
    cert_b = h.world.certificate(rows[6])
    issued_b = h.world.issue(cert_b, idx=42)
    assert h.verify(credential=issued_b.credential)["verdict"] == "valid"
    h.issuer.restrict("r2", rows[6], category="revoked", affected=(cert_b.certificate_number,))
    h.clock.advance(30)
    outcomes = {o.what: o.outcome for o in h.sync().outcomes}
    assert outcomes["restrictions " + ISSUER_URL] == "updated"
    body = h.verify(credential=issued_b.credential)
    assert (body["verdict"], body["reason"]) == ("not_valid", "revoked")
    assert h.verify(qr=issued_b.qr_token)["verdict"] == "not_valid"
    # a certificate of a restricted person that no entry names is caught by its status
    # (its office revokes it): the verifier holds no person reference to find it by
    cert_c = h.world.certificate(rows[6])
    issued_c = h.world.issue(cert_c, idx=43)
    assert h.verify(credential=issued_c.credential)["verdict"] == "valid"
    h.issuer.unrestrict("r2")
    h.clock.advance(30)
    h.sync()
    assert h.verify(credential=issued_b.credential)["verdict"] == "valid"


def test_revoked_bar_ends_for_new_admission_but_named_certificates_stay(
    harness: Harness,
) -> None:
    h = harness
    row = applicants()[7]
    old = h.world.certificate(row)
    old_issued = h.world.issue(old, idx=51)
    h.issuer.restrict(
        "r1",
        row,
        category="revoked",
        affected=(old.certificate_number,),
        decision_date="2020-01-01",
        bar_until="2025-01-01",
    )
    first_sync(h)
    new_issued = h.world.issue(h.world.certificate(row), idx=52)
    assert h.verify(credential=new_issued.credential)["verdict"] == "valid"
    body = h.verify(credential=old_issued.credential)
    assert (body["verdict"], body["reason"]) == ("not_valid", "revoked")


def test_restricted_feed_signed_by_an_untrusted_key_refused(harness: Harness) -> None:
    h = harness
    first_sync(h)
    from tests.factory import signer

    h.issuer.restrict("r9", applicants()[8], category="lost", affected=("20201100110000001",))
    real = h.world.office_signer
    h.world.office_signer = signer(kid="11001-1")
    report = h.verifier.syncer.sync_restrictions(h.settings.issuers[0])
    h.world.office_signer = real
    assert report.outcomes[0].outcome == "refused"
    assert h.verifier.store.current().restrictions.by_number == {}


def test_restricted_feed_pages_until_caught_up(database_url: str, tmp_path: Path) -> None:
    gen = make_harness(database_url, tmp_path)
    h = next(gen)
    try:
        h.issuer.page_size = 2
        h.verifier.syncer.run_once()  # empty snapshot, cursor 0
        for i in range(5):
            h.issuer.restrict(f"r{i}", applicants()[10 + i], affected=(f"2020110011000000{i}",))
        h.clock.advance(10)
        h.sync()
        assert len(h.verifier.store.current().restrictions.by_number) == 5
    finally:
        gen.close()


def test_a_second_replica_sees_what_the_first_synced(harness: Harness) -> None:
    h = harness
    first_sync(h)
    other = create_app(h.settings, http=h.issuer.client(), clock=h.clock)
    with TestClient(other) as client:
        n = len(h.issuer.requests)
        r = client.post("/api/v1/verify", json={"qr": h.world.issue(idx=61).qr_token})
        assert r.json()["verdict"] == "valid"
        assert len(h.issuer.requests) == n  # served from the shared database


def test_no_trust_list_yet_is_a_503_problem(harness: Harness) -> None:
    h = harness
    r = h.client.post("/api/v1/verify", json={"qr": h.world.issue().qr_token})
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/no_trust_list")


def test_sync_status_endpoint_reports_ages(harness: Harness) -> None:
    h = harness
    first_sync(h)
    body = h.client.get("/api/v1/sync-status").json()
    assert body["trust_list"]["seq"] == 1
    assert body["status_lists"][0]["as_of"] == "2026-11-29T07:59:55Z"
    assert body["restrictions_as_of"] == "2026-11-29T07:59:55Z"


def test_if_modified_since_without_etags(harness: Harness) -> None:
    h = harness
    h.issuer.use_etags = False
    h.issuer.use_last_modified = True
    first_sync(h)
    n = len(h.issuer.requests)
    outcomes = first_sync(h)
    assert outcomes["trust"] == "not_modified"
    assert outcomes["status " + h.world.status_uri] == "not_modified"
    sent = [r.headers.get("if-modified-since") for r in h.issuer.requests[n:]]
    assert sent[:2] == ["Sun, 29 Nov 2026 08:00:00 GMT"] * 2


def test_no_validators_means_a_full_refetch_that_changes_nothing(harness: Harness) -> None:
    h = harness
    h.issuer.use_etags = False
    first_sync(h)
    before = h.verifier.store.current().generation
    outcomes = first_sync(h)
    assert outcomes["trust"] == "unchanged"  # same bytes: only the check time moves
    assert outcomes["status " + h.world.status_uri] == "unchanged"
    assert h.verifier.store.current().generation == before + 1  # only the restricted list


def test_background_sync_runs_in_the_server(database_url: str, tmp_path: Path) -> None:
    import time

    gen = make_harness(database_url, tmp_path, sync_interval=1)
    h = next(gen)  # the app's lifespan started the sync thread
    try:
        deadline = time.monotonic() + 10
        while h.verifier.store.refresh().trust is None:
            assert time.monotonic() < deadline, "background sync never fetched the trust list"
            time.sleep(0.05)
        assert h.issuer.requested("https://trust.example.cn/trust-list.jwt") >= 1
    finally:
        gen.close()


def test_on_demand_fetch_is_bounded_when_the_issuer_hangs(harness: Harness) -> None:
    import time

    import httpx

    h = harness
    h.verifier.syncer.sync_trust()
    real = h.issuer.handler
    timeouts: list[object] = []

    def hanging(request: httpx.Request) -> httpx.Response:
        if "statuslists" in str(request.url):
            timeouts.append(request.extensions.get("timeout"))
            h.issuer.requests.append(request)
            raise httpx.ReadTimeout("slow issuer", request=request)
        return real(request)

    h.issuer.handler = hanging  # type: ignore[method-assign]
    h.verifier.syncer.http = httpx.Client(transport=httpx.MockTransport(hanging))
    start = time.monotonic()
    body = h.verify(qr=h.world.issue(idx=71).qr_token)
    assert (body["verdict"], body["reason"]) == ("cannot_determine", "status_unavailable")
    assert time.monotonic() - start < 5
    assert timeouts and timeouts[0]["read"] == h.settings.on_demand_timeout  # type: ignore[index]
    for _ in range(3):
        h.verify(qr=h.world.issue(idx=72).qr_token)
    assert h.issuer.requested(h.world.status_uri) == 1  # retried only after on_demand_retry


def test_replicas_syncing_at_once_agree(harness: Harness) -> None:
    import threading

    h = harness
    other = create_app(h.settings, http=h.issuer.client(), clock=h.clock)
    with TestClient(other) as _client:
        syncers = [h.verifier.syncer, other.state.verifier.syncer]
        errors: list[BaseException] = []
        for round_ in range(4):
            for i in range(3):
                row = applicants()[20 + 3 * round_ + i]
                number = h.world.certificate(row).certificate_number
                h.issuer.restrict(f"r{round_}-{i}", row, affected=(number,))
            if round_ == 2:
                h.issuer.unrestrict("r0-1")
            h.clock.advance(10)
            barrier = threading.Barrier(2)

            def run(s, barrier=barrier) -> None:  # type: ignore[no-untyped-def]
                try:
                    barrier.wait()
                    report = s.run_once(extra_status=[h.world.status_uri])
                    assert all(o.outcome != "failed" for o in report.outcomes), report
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(s,)) for s in syncers]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert errors == []
        want = {n for e in h.issuer.entries.values() for n in e["affected"]}
        assert len(want) == 11  # twelve named, one removed
        for s in syncers:
            held = s.store.refresh(force=True)
            assert set(held.restrictions.by_number) == want
            assert h.world.status_uri in held.status


def test_restricted_list_going_backwards_is_refused(harness: Harness) -> None:
    h = harness
    h.issuer.restrict("r1", applicants()[30], category="lost", affected=("20201100110000001",))
    first_sync(h)
    # a replayed older page of changes (older iat) is refused, the held list kept
    h.issuer.restrict("r2", applicants()[31], category="lost", affected=("20201100110000002",))
    h.issuer.restrictions_iat = T0 - 3600
    report = h.verifier.syncer.sync_restrictions(h.settings.issuers[0])
    (o,) = report.outcomes
    assert o.outcome == "refused" and "rollback" in o.detail
    assert len(h.verifier.store.current().restrictions.by_number) == 1
    # a snapshot behind the held cursor is refused too
    h.issuer.restrictions_iat = None
    token = h.issuer.sign(
        RESTRICTIONS_TYP,
        {"iss": h.world.office_id, "iat": T0, "cursor": 0, "entries": []},
    )
    doc = load_restrictions(token, h.verifier.store.current().trust)
    with pytest.raises(RollbackError):
        check_restrictions_order(1, T0 - 5, doc)
    changes = h.issuer.sign(
        RESTRICTIONS_TYP,
        {"iss": h.world.office_id, "iat": T0, "after": 0, "cursor": 0, "changes": []},
    )
    with pytest.raises(SyncError):  # changes after another cursor than the held one
        check_restrictions_order(
            1, T0 - 5, load_restrictions(changes, h.verifier.store.current().trust)
        )
    # and once the issuer answers properly again, the change arrives
    h.clock.advance(10)
    assert (
        h.verifier.syncer.sync_restrictions(h.settings.issuers[0]).outcomes[0].outcome == "updated"
    )
    assert len(h.verifier.store.current().restrictions.by_number) == 2


def test_replicas_starting_together_create_the_tables_once(database_url: str) -> None:
    import threading

    from verifier import db

    engines: list[object] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        try:
            barrier.wait()
            engines.append(db.make_engine(database_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(engines) == 4
    for e in engines:
        e.dispose()  # type: ignore[attr-defined]
