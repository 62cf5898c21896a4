"""An issuer database with an office and officers, for the console's service tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer.db.engine import make_engine, upgrade
from issuer.db.models import Office, Officer
from issuer.settings import IssuerSettings
from tests.factory.issuer import OFFICE

T0 = dt.datetime(2026, 12, 5, 9, 0, 7, tzinfo=dt.UTC)


@dataclass
class ConsoleDb:
    engine: sa.Engine
    settings: IssuerSettings
    ids: dict[str, int]

    def session(self) -> Session:
        return Session(self.engine)

    def actions(self) -> list[tuple[str, str, str]]:
        """Return every audit record as (actor, action, subject), oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT actor, action, subject FROM audit_record ORDER BY id")
            )
            return [tuple(r) for r in rows]


@pytest.fixture
def console_db(database_url: str) -> Iterator[ConsoleDb]:
    settings = IssuerSettings(env="development", database_url=database_url, office_id=OFFICE)
    engine = make_engine(database_url)
    upgrade(engine)
    ids = {}
    with Session(engine) as s, s.begin():
        s.add(
            Office(id=OFFICE, name="测试认定机构", province="11", office_code="001", created_at=T0)
        )
        s.flush()
        for name, role in (("ada", "admin"), ("bo", "admin"), ("cy", "clerk")):
            o = Officer(
                office_id=OFFICE, username=name, display_name=name, role=role, created_at=T0
            )
            s.add(o)
            s.flush()
            assert o.id is not None
            ids[name] = o.id
    try:
        yield ConsoleDb(engine, settings, ids)
    finally:
        engine.dispose()
