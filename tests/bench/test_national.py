"""bench/national.py's pieces at a tiny scale (3 offices, 200 entries, 1,024-entry status
lists): each runs and counts what it should. Speed is ``make bench``'s, never judged here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time

import pytest

import credential
import verifier.store
import verifier.sync
from bench import national
from bench.batch import applicants, run_batch_once
from credential import IdType
from issuer import issuance
from issuer.settings import IssuerSettings

ROWS = 20
ENTRIES = 200


@pytest.fixture(scope="module")
def offices() -> national.Offices:
    return national.Offices.make(3, now=int(time.time()))


@pytest.fixture(scope="module")
def data() -> bytes:
    return applicants(ROWS)


def test_national_entries_spread_over_the_offices_with_unique_refs(
    offices: national.Offices,
) -> None:
    rows = national.national_entries(ENTRIES, offices, hits=("ab" * 32,))
    assert len({r["ref"] for r in rows}) == ENTRIES
    assert {r["office"] for r in rows} == {offices.office_id(i) for i in range(3)}
    assert rows[0]["person_ref"] == "ab" * 32
    assert all(r["ref"].startswith(r["office"] + "#") for r in rows)


def test_batch_runs_issue_every_row_with_the_list_empty_and_loaded(
    offices: national.Offices, data: bytes
) -> None:
    rows = national.national_entries(ENTRIES, offices)
    empty, listed = national.batch_with_and_without(data, rows, expected=ROWS, rounds=1, workers=1)
    # run_batch_once asserts the issued count; both sides measured something
    assert empty["rate"] > 0 and listed["rate"] > 0


def test_loaded_national_list_bars_the_listed_applicant_in_the_batch(
    offices: national.Offices, data: bytes
) -> None:
    # The loaded table is the one the check reads: a listed person's row is refused
    # (else the bench would time a check that finds nothing by construction).
    first = next(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    ref = issuance.person_ref(IssuerSettings(), IdType.parse(first["id_type"]), first["id_number"])
    rows = national.national_entries(ENTRIES, offices, hits=(ref,))
    now = dt.datetime.now(dt.UTC)
    loaded: list[int] = []
    got = run_batch_once(
        data,
        workers=1,
        expected=ROWS - 1,
        prepare=lambda engine: loaded.append(national.load_issuer_national(engine, rows, now=now)),
    )
    assert loaded == [ENTRIES]
    assert got["rate"] > 0


def test_published_snapshot_holds_every_entry_in_process_and_through_the_route(
    offices: national.Offices,
) -> None:
    rows = national.national_entries(ENTRIES, offices)
    got = national.publish_times(rows, offices, rounds=1)
    assert got["entries"] == ENTRIES
    assert got["route_entries"] == ENTRIES
    assert got["mb"] > 0


def test_fresh_verifier_holds_every_office_status_list_after_one_round(
    offices: national.Offices,
) -> None:
    got = national.sync_times(offices, size=1024, rounds=1)
    assert got["held"] == 3
    assert got["clean"] == 1.0


def test_sync_round_verifies_each_status_list_once_more_not_once_per_list_held(
    offices: national.Offices, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The defect: every list saved re-read the held view, verifying every list held
    # again (n lists: n^2 / 2 verifications; 50 offices took most of the 2 s goal).
    calls: list[str] = []
    real = credential.load_status_list

    def counted(token: str, trust: credential.TrustList, **kw: object) -> credential.StatusSnapshot:
        calls.append(str(kw.get("expected_uri")))
        return real(token, trust, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(verifier.sync, "load_status_list", counted)
    monkeypatch.setattr(verifier.store, "load_status_list", counted)
    many = national.Offices.make(8, now=int(time.time()))
    now = dt.datetime.now(dt.UTC)
    tokens = national.status_tokens(many, size=1024, now=int(now.timestamp()))
    _, held, ok = national.fresh_sync(many, many.trust_token(), tokens, now=now)
    assert (held, ok) == (8, True)
    # once when fetched, once when the held view is re-read after the round
    assert sorted(calls) == sorted([*tokens, *tokens])
