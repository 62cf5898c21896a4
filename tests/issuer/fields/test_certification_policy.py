"""The office's certification policy: a certification date not before the holder turns the
minimum age (18 unless the office says otherwise), not in the future, not before the
office's earliest date. Both ways in (a single application, a batch row) apply it alike,
and the issuing services pass the office's settings to them.
"""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from issuer import batches, issuance
from issuer.batches.reading import read_batch
from issuer.db.engine import make_engine, upgrade
from issuer.fields import CertificationPolicy, ValidationFailed, validate_application
from issuer.fields.dates import birthday
from issuer.issuance.schemas import CertificateCreate
from issuer.settings import IssuerSettings
from tests.factory import signer
from tests.factory.batchfile import EN_HEADER, csv_bytes, with_check

TODAY = dt.date(2026, 7, 1)
NOW = dt.datetime(2026, 7, 1, 4, 0, tzinfo=dt.UTC)  # noon in Beijing
FIELDS = EN_HEADER[1:]
KEYS = ["name", "sex", "birth_date", "id_type", "id_number", "qualification_type",
        "subject", "certified_on"]  # fmt: skip

Refusals = list[tuple[str, str]]


def body(birth: dt.date, certified: str) -> dict[str, str]:
    """Return an application of an invented woman born on ``birth``."""
    number = with_check(f"330106{birth:%Y%m%d}002")
    return {"name": "林芳", "sex": "女", "birth_date": birth.isoformat(),
            "id_type": "resident_id", "id_number": number, "qualification_type": "primary",
            "subject": "语文", "certified_on": certified}  # fmt: skip


def single(app: dict[str, str], settings: IssuerSettings | None = None) -> Refusals:
    try:
        validate_application(app, today=TODAY, settings=settings)
    except ValidationFailed as exc:
        return [(e.field, e.code) for e in exc.errors]
    return []


def batch(app: dict[str, str], settings: IssuerSettings | None = None) -> Refusals:
    data = csv_bytes(EN_HEADER, [["r1", *(app[k] for k in KEYS)]])
    parsed = read_batch(data, today=TODAY, settings=settings)
    assert len(parsed.rows) + len({e.row_number for e in parsed.errors}) == 1
    return [(e.field, e.code) for e in parsed.errors]


def both(app: dict[str, str], settings: IssuerSettings | None = None) -> Refusals:
    alone, in_a_file = single(app, settings), batch(app, settings)
    assert alone == in_a_file
    return alone


@pytest.mark.parametrize(
    ("certified", "expected"),
    [
        ("2026-07-01", []),  # the 18th birthday
        ("2026-06-30", [("certified_on", "under_age")]),
        ("2020-01-01", [("certified_on", "under_age")]),
        ("2008-07-01", [("certified_on", "before_birth")]),
    ],
)
def test_a_holder_is_certified_from_the_day_they_turn_18(
    certified: str, expected: Refusals
) -> None:
    assert both(body(dt.date(2008, 7, 1), certified)) == expected


def test_born_on_29_february_a_holder_turns_18_on_1_march_in_a_common_year() -> None:
    leap = dt.date(2008, 2, 29)
    assert birthday(leap, 18) == dt.date(2026, 3, 1)
    assert birthday(leap, 16) == dt.date(2024, 2, 29)
    assert birthday(dt.date(2008, 3, 1), 18) == dt.date(2026, 3, 1)
    assert both(body(leap, "2026-02-28")) == [("certified_on", "under_age")]
    assert both(body(leap, "2026-03-01")) == []


def test_a_batch_row_certified_before_birth_is_refused_as_the_same_application_alone() -> None:
    app = body(dt.date(1980, 1, 2), "1979-12-31")
    assert single(app) == [("certified_on", "before_birth")]
    assert batch(app) == [("certified_on", "before_birth")]


def test_the_office_minimum_age_and_earliest_date_apply_on_both_ways_in() -> None:
    office = IssuerSettings(min_certification_age=30, earliest_certification_date="2000-01-01")
    born = dt.date(1980, 1, 2)  # turns 30 on 2010-01-02
    assert both(body(born, "2009-12-31")) == []
    assert both(body(born, "2009-12-31"), office) == [("certified_on", "under_age")]
    assert both(body(born, "2010-01-02"), office) == []
    assert both(body(born, "1999-12-31")) == []
    assert both(body(born, "1999-12-31"), office) == [("certified_on", "date_out_of_range")]
    assert (
        both(body(born, "2000-01-01"), IssuerSettings(earliest_certification_date="2000-01-01"))
        == []
    )
    # the birth date keeps the floor of every date, whatever the office's earliest
    assert both(body(dt.date(1970, 1, 1), "2026-06-01"), office) == []


def test_a_refused_certification_date_says_which_day_is_the_limit() -> None:
    office = IssuerSettings(min_certification_age=30, earliest_certification_date="2000-01-01")
    with pytest.raises(ValidationFailed) as refused:
        validate_application(body(dt.date(1980, 1, 2), "2009-12-31"), today=TODAY, settings=office)
    (error,) = refused.value.errors
    assert "30" in error.message and "2010-01-02" in error.message
    assert "年满30周岁" in error.message_zh and "2010-01-02" in error.message_zh
    with pytest.raises(ValidationFailed) as refused:
        validate_application(body(dt.date(1980, 1, 2), "1999-12-31"), today=TODAY, settings=office)
    (error,) = refused.value.errors
    assert "2000-01-01" in error.message and "2000-01-01" in error.message_zh


@pytest.mark.parametrize(
    "setting",
    [
        {"min_certification_age": 15},
        {"min_certification_age": 71},
        {"min_certification_age": "eighteen"},
        {"earliest_certification_date": "1899-12-31"},
        {"earliest_certification_date": "2026-02-30"},
        {"earliest_certification_date": (dt.date.today() + dt.timedelta(days=2)).isoformat()},
    ],
)
def test_nonsense_policy_settings_are_refused_at_start(setting: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        IssuerSettings(**setting)  # type: ignore[arg-type]


def test_the_policy_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert CertificationPolicy.of(IssuerSettings()) == CertificationPolicy()
    assert CertificationPolicy() == CertificationPolicy(18, dt.date(1900, 1, 1))
    monkeypatch.setenv("JIAOZI_MIN_CERTIFICATION_AGE", "20")
    monkeypatch.setenv("JIAOZI_EARLIEST_CERTIFICATION_DATE", "1990-01-01")
    assert CertificationPolicy.of(IssuerSettings()) == CertificationPolicy(20, dt.date(1990, 1, 1))


def test_the_issuing_services_apply_the_office_policy(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'issuer.db'}"
    office = IssuerSettings(database_url=url, min_certification_age=50)
    engine = make_engine(url)
    upgrade(engine)
    app = body(dt.date(1980, 1, 2), "2026-06-01")  # 46 years old
    try:
        with Session(engine) as session:
            with pytest.raises(ValidationFailed) as refused:
                issuance.issue_certificate(
                    session,
                    request=CertificateCreate(**app),
                    signer=signer(),
                    settings=office,
                    actor="test",
                    now=NOW,
                )
            assert [(e.field, e.code) for e in refused.value.errors] == [
                ("certified_on", "under_age")
            ]
            opened = batches.open_batch(
                session,
                data=csv_bytes(EN_HEADER, [["r1", *(app[k] for k in KEYS)]]),
                filename="round.csv",
                settings=office,
                actor="test",
                now=NOW,
            )
            assert opened.rows == ()
            assert [(e.field, e.code) for e in batches.batch_errors(opened.batch)] == [
                ("certified_on", "under_age")
            ]
    finally:
        engine.dispose()
