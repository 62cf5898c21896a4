"""UtcDateTime: what goes in is stored as UTC, what comes out is an aware UTC datetime, on
SQLite and PostgreSQL; the stored text on SQLite is what DateTime(timezone=True) stores."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import BEIJING
from issuer.db import UtcDateTime, make_engine, upgrade
from issuer.db.models import Office

INSTANT = dt.datetime(2026, 11, 29, 8, 0, 5, 123456, tzinfo=dt.UTC)

_META = sa.MetaData()
_TIMES = sa.Table(
    "utc_times",
    _META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime(), nullable=True),
)


def _round_trip(database_url: str, values: list[dt.datetime | None]) -> list[dt.datetime | None]:
    engine = make_engine(database_url)
    try:
        _META.create_all(engine)
        with engine.begin() as conn:
            conn.execute(_TIMES.insert(), [{"id": i, "at": v} for i, v in enumerate(values)])
        with engine.connect() as conn:
            return list(conn.execute(sa.select(_TIMES.c.at).order_by(_TIMES.c.id)).scalars())
    finally:
        engine.dispose()


def test_every_value_reads_back_aware_utc_at_the_same_instant(database_url: str) -> None:
    beijing = INSTANT.astimezone(BEIJING)
    naive = INSTANT.replace(tzinfo=None)  # taken to be UTC
    got = _round_trip(database_url, [INSTANT, beijing, naive, None])
    assert got == [INSTANT, INSTANT, INSTANT, None]
    assert [g.tzinfo for g in got if g is not None] == [dt.UTC] * 3


def test_postgresql_in_another_session_zone_still_hands_back_utc(pg_admin: sa.Engine) -> None:
    engine = sa.create_engine(pg_admin.url, connect_args={"options": "-c timezone=Asia/Shanghai"})
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW timezone").scalar() == "Asia/Shanghai"
            got = conn.execute(sa.select(sa.cast(sa.literal(INSTANT), UtcDateTime()))).scalar()
            plain = conn.execute(
                sa.select(sa.cast(sa.literal(INSTANT), sa.DateTime(timezone=True)))
            ).scalar()
        assert got == INSTANT and got.tzinfo is dt.UTC
        assert plain == INSTANT and plain.utcoffset() == dt.timedelta(hours=8)  # what it fixes
    finally:
        engine.dispose()


def test_sqlite_stores_the_utc_wall_clock_as_datetime_did(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'times.db'}"
    _round_trip(url, [INSTANT, INSTANT.astimezone(BEIJING)])
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT at FROM utc_times ORDER BY id").scalars().all()
        assert stored == ["2026-11-29 08:00:05.123456"] * 2  # the Beijing value as UTC
    finally:
        engine.dispose()


def test_model_times_read_back_aware_utc(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with Session(engine) as session:
            session.add(
                Office(
                    id="urn:jiaozi:office:11001",
                    name="x",
                    province="11",
                    office_code="001",
                    created_at=INSTANT.astimezone(BEIJING),
                )
            )
            session.commit()
            office = session.get(Office, "urn:jiaozi:office:11001")
            assert office is not None
            assert office.created_at == INSTANT
            assert office.created_at.tzinfo is dt.UTC
    finally:
        engine.dispose()
