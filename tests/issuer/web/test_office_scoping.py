"""Office scoping of every certificate read (issue 11, point 4): two offices share one
database, each served by its own issuer; a clerk reads, prints, makes claim codes for and
lists copies of their own office's certificates only. Another office's certificate does
not exist for them (404, as another office's batch). Every test runs on SQLite and on
PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from keys import DocumentSigningKey
from tests.factory import signer
from tests.factory.accounts import OTHER_OFFICE
from tests.factory.issuer import (
    ADMIN,
    IssuerHarness,
    application,
    bad_rows_file,
    officer,
    poll_batch,
    post_batch,
    rows,
    service_client,
)


@pytest.fixture
def other_env(
    issuer_env: IssuerHarness, document_key: DocumentSigningKey
) -> Iterator[IssuerHarness]:
    """A second office's issuer on the same database as ``issuer_env``."""
    settings = issuer_env.settings.model_copy(
        update={
            "office_id": OTHER_OFFICE,
            "office_name": "上海市教师资格认定中心",
            "province": "31",
            "office_code": "001",
        }
    )
    assert isinstance(settings, IssuerSettings)
    key = signer(kid="31001-1")
    app = create_app(settings, signer=key, document_key_provider=lambda: document_key)
    with TestClient(app) as client:
        yield IssuerHarness(settings, key, app, client)


def _issue(env: IssuerHarness, i: int, clerk: dict[str, str]) -> str:
    r = env.issue(application(i), Authorization=clerk["Authorization"])
    assert r.status_code == 201, r.text
    number: str = r.json()["certificate_number"]
    return number


def _two_offices(
    here: IssuerHarness, there: IssuerHarness
) -> tuple[dict[str, str], str, dict[str, str], str]:
    """Return (this office's clerk, its certificate, the other's clerk, its certificate)."""
    clerk_here = officer(here, "bj.clerk", "clerk")
    clerk_there = officer(there, "sh.clerk", "clerk")
    return clerk_here, _issue(here, 3, clerk_here), clerk_there, _issue(there, 4, clerk_there)


def _get(env: IssuerHarness, path: str, who: dict[str, str]) -> Any:
    return env.client.get(path, headers=who)


def _post(env: IssuerHarness, path: str, who: dict[str, str]) -> Any:
    return env.client.post(path, headers=who)


READS = [
    pytest.param(_get, "/api/v1/certificates/{n}", id="facts"),
    pytest.param(_get, "/api/v1/certificates/{n}/pdf", id="pdf"),
    pytest.param(_post, "/api/v1/certificates/{n}/claim-code", id="claim-code"),
    pytest.param(_get, "/api/v1/certificates/{n}/copies", id="copies"),
]


@pytest.mark.parametrize(("call", "path"), READS)
def test_a_clerk_cannot_read_another_offices_certificate_in_the_same_database(
    issuer_env: IssuerHarness, other_env: IssuerHarness, call: Any, path: str
) -> None:
    clerk_a, number_a, clerk_b, number_b = _two_offices(issuer_env, other_env)

    for env, clerk, own, foreign in (
        (issuer_env, clerk_a, number_a, number_b),
        (other_env, clerk_b, number_b, number_a),
    ):
        theirs = call(env, path.format(n=foreign), clerk)
        assert theirs.status_code == 404, theirs.text
        assert theirs.headers["content-type"].startswith("application/problem+json")
        assert theirs.json()["title"] == "证书不存在"  # no such certificate
        mine = call(env, path.format(n=own), clerk)
        assert mine.status_code in (200, 201), mine.text


def test_another_offices_404_cannot_be_told_from_an_unknown_number(
    issuer_env: IssuerHarness, other_env: IssuerHarness
) -> None:
    clerk_a, _, _, number_b = _two_offices(issuer_env, other_env)
    unknown = number_b[:-6] + "999999"
    foreign = _get(issuer_env, f"/api/v1/certificates/{number_b}", clerk_a).json()
    missing = _get(issuer_env, f"/api/v1/certificates/{unknown}", clerk_a).json()
    assert foreign["status"] == missing["status"] == 404
    assert foreign["title"] == missing["title"]
    assert foreign["detail"].replace(number_b, "N") == missing["detail"].replace(unknown, "N")


def test_a_refused_claim_code_for_another_offices_certificate_writes_nothing(
    issuer_env: IssuerHarness, other_env: IssuerHarness
) -> None:
    clerk_a, _, _, number_b = _two_offices(issuer_env, other_env)
    before = rows(issuer_env, "SELECT count(*) AS n FROM audit_record")[0]["n"]
    r = _post(issuer_env, f"/api/v1/certificates/{number_b}/claim-code", clerk_a)
    assert r.status_code == 404, r.text
    assert rows(issuer_env, "SELECT count(*) AS n FROM holder_claim_code")[0]["n"] == 0
    assert rows(issuer_env, "SELECT count(*) AS n FROM audit_record")[0]["n"] == before


def test_an_officer_of_another_office_is_refused_by_this_offices_issuer(
    issuer_env: IssuerHarness, other_env: IssuerHarness
) -> None:
    _, number_a, clerk_b, _ = _two_offices(issuer_env, other_env)
    r = _get(issuer_env, f"/api/v1/certificates/{number_a}", clerk_b)
    assert r.status_code == 403, r.text  # this issuer serves another office


def test_an_admin_reads_only_their_own_offices_events_and_a_service_client_all(
    issuer_env: IssuerHarness, other_env: IssuerHarness
) -> None:
    _, number_a, _, number_b = _two_offices(issuer_env, other_env)
    mis = service_client(issuer_env, "mis-1", "mis")

    def feed(env: IssuerHarness, who: dict[str, str]) -> list[dict[str, Any]]:
        r = env.client.get("/api/v1/events?after=0", headers=who)
        assert r.status_code == 200, r.text
        events: list[dict[str, Any]] = r.json()["events"]
        return events

    # ADMIN is each issuer's static key: the admin of the office that issuer serves
    mine = feed(issuer_env, ADMIN)
    assert [(e["office"], e["certificate_number"]) for e in mine] == [
        (issuer_env.settings.office_id, number_a)
    ]
    theirs = feed(other_env, ADMIN)
    assert [(e["office"], e["certificate_number"]) for e in theirs] == [(OTHER_OFFICE, number_b)]

    everyone = feed(issuer_env, mis)
    assert {e["certificate_number"] for e in everyone} == {number_a, number_b}
    assert [e["seq"] for e in everyone] == [1, 2]


@pytest.mark.parametrize(
    "suffix",
    [
        "",
        "/errors.csv",
        "/errors.xlsx",
        "/manifest.csv",
        "/manifest.xlsx",
        "/certificates.zip",
        "/print.pdf",
    ],
)
def test_a_clerk_cannot_read_another_offices_batch_in_the_same_database(
    issuer_env: IssuerHarness, other_env: IssuerHarness, suffix: str
) -> None:
    data, _, _ = bad_rows_file()  # good and bad rows: it has an error report to read
    clerk_here = officer(issuer_env, "bj.clerk", "clerk")
    clerk_there = officer(other_env, "sh.clerk", "clerk")
    posted = post_batch(other_env, data, "round.csv", Authorization=clerk_there["Authorization"])
    assert posted.status_code == 202, posted.text
    batch_id = posted.json()["id"]
    assert poll_batch(other_env, batch_id)["state"] == "done"

    mine = other_env.client.get(f"/api/v1/batches/{batch_id}{suffix}", headers=clerk_there)
    assert mine.status_code == 200, mine.text
    theirs = issuer_env.client.get(f"/api/v1/batches/{batch_id}{suffix}", headers=clerk_here)
    assert theirs.status_code == 404, theirs.text
    assert theirs.headers["content-type"].startswith("application/problem+json")
    assert theirs.json()["title"] == "批次不存在"  # no such batch


def test_a_clerk_cannot_make_or_print_the_claim_codes_of_another_offices_batch(
    issuer_env: IssuerHarness, other_env: IssuerHarness
) -> None:
    data, _, _ = bad_rows_file()
    clerk_here = officer(issuer_env, "bj.clerk", "clerk")
    clerk_there = officer(other_env, "sh.clerk", "clerk")
    posted = post_batch(other_env, data, "round.csv", Authorization=clerk_there["Authorization"])
    batch_id = posted.json()["id"]
    assert poll_batch(other_env, batch_id)["state"] == "done"

    theirs = _post(issuer_env, f"/api/v1/batches/{batch_id}/claim-codes", clerk_here)
    assert theirs.status_code == 404, theirs.text
    assert theirs.headers["content-type"].startswith("application/problem+json")
    mine = _post(other_env, f"/api/v1/batches/{batch_id}/claim-codes", clerk_there)
    assert mine.status_code == 200 and mine.json()["made"] == 3  # none made by the refusal
    letters = f"/api/v1/batches/{batch_id}/claim-letters.pdf"
    assert _get(issuer_env, letters, clerk_here).status_code == 404
    assert _get(other_env, letters, clerk_there).status_code == 200
