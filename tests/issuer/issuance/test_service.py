"""The issuing service without HTTP: threads with their own sessions, across two
certification years (two serial counters, so the writers are not queued on one counter
row and race for the first status list and for status entries)."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import parse_jws
from issuer.audit.chain import verify_chain
from issuer.db.engine import make_engine, upgrade
from issuer.fields import ValidationFailed
from issuer.issuance import CertificateCreate, issue_certificate, statuslists
from issuer.settings import IssuerSettings
from tests.factory import signer
from tests.factory.issuer import application

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(database_url: str):
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


def _settings(database_url: str) -> IssuerSettings:
    return IssuerSettings(database_url=database_url, public_url="https://jszg.example.cn")


def test_concurrent_service_calls_over_two_years_stay_distinct(
    engine: sa.Engine, database_url: str
) -> None:
    settings, key = _settings(database_url), signer()
    threads, each = 8, 10
    barrier = threading.Barrier(threads)

    def worker(t: int) -> list[str]:
        barrier.wait()
        out = []
        for i in range(each):
            year = 2025 if (t + i) % 2 else 2026
            body = application(t * each + i, certified_on=f"{year}-07-01")
            with Session(engine) as session:
                cert = issue_certificate(
                    session,
                    request=CertificateCreate(**body),
                    signer=key,
                    settings=settings,
                    actor="test",
                    now=NOW,
                )
            out.append(cert.certificate_number)
        return out

    with ThreadPoolExecutor(threads) as pool:
        numbers = [n for chunk in pool.map(worker, range(threads)) for n in chunk]
    assert len(set(numbers)) == threads * each
    for year in ("2025", "2026"):
        serials = sorted(int(n[-6:]) for n in numbers if n.startswith(year))
        assert serials == list(range(1, threads * each // 2 + 1))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM status_list")).scalar_one() == 1
        assert (
            conn.execute(sa.text("SELECT count(DISTINCT status_idx) FROM certificate")).scalar_one()
            == threads * each
        )
    with Session(engine) as session:
        assert verify_chain(session) is None


def test_invalid_request_raises_before_any_write(engine: sa.Engine, database_url: str) -> None:
    with Session(engine) as session, pytest.raises(ValidationFailed) as info:
        issue_certificate(
            session,
            request=CertificateCreate(**application(1, sex="x", subject="")),
            signer=signer(),
            settings=_settings(database_url),
            actor="test",
            now=NOW,
        )
    assert [e.field for e in info.value.errors] == ["sex", "subject"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM serial_counter")).scalar_one() == 0


def test_a_date_of_today_in_beijing_is_accepted_before_utc_midnight(
    engine: sa.Engine, database_url: str
) -> None:
    # 2026-11-29 01:00 in Beijing is still 2026-11-28 in UTC.
    now = dt.datetime(2026, 11, 28, 17, 0, tzinfo=dt.UTC)
    with Session(engine) as session:
        cert = issue_certificate(
            session,
            request=CertificateCreate(**application(1, certified_on="2026-11-29")),
            signer=signer(),
            settings=_settings(database_url),
            actor="test",
            now=now,
        )
    assert cert.certified_on == "2026-11-29"


def test_openapi_document_renders(database_url: str) -> None:
    from fastapi.testclient import TestClient

    from issuer.web.app import create_app

    with TestClient(create_app(_settings(database_url), signer=signer())) as client:
        doc = client.get("/openapi.json").json()
    post = doc["paths"]["/api/v1/certificates"]["post"]
    assert {"201", "401", "409", "422"} <= set(post["responses"])


def _issue(engine: sa.Engine, database_url: str, i: int, key=None):
    with Session(engine) as session:
        return issue_certificate(
            session,
            request=CertificateCreate(**application(i)),
            signer=key or signer(),
            settings=_settings(database_url),
            actor="test",
            now=NOW,
        )


def test_a_nearly_full_list_falls_back_to_the_allocator(
    engine: sa.Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statuslists.secrets, "randbelow", lambda n: 7)  # every draw collides
    first = _issue(engine, database_url, 1)
    second = _issue(engine, database_url, 2)
    assert first.status_list.idx == 7
    assert second.status_list.idx != 7


def test_losing_a_race_for_a_status_entry_redraws_and_re_signs(
    engine: sa.Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = iter([7, 7, 8])
    monkeypatch.setattr(statuslists.secrets, "randbelow", lambda n: next(draws))
    # Pretend the pre-check saw nothing, as when a concurrent writer has not committed yet:
    # the unique constraint catches the duplicate and the issuer draws again.
    monkeypatch.setattr(statuslists, "_index_used", lambda *a: False)
    first = _issue(engine, database_url, 1)
    second = _issue(engine, database_url, 2)
    assert (first.status_list.idx, second.status_list.idx) == (7, 8)
    assert int(second.certificate_number[-6:]) == 2
    assert parse_jws(second.qr_token).payload["status"]["status_list"]["idx"] == 8
    assert parse_jws(second.credential).payload["status"]["status_list"]["idx"] == 8
