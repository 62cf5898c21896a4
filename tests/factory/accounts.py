"""Helpers of the accounts tests: a second office with its own admin, officers made over
HTTP, requests with a bearer key, problem answers and every text value in the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer.accounts import new_api_key
from issuer.db.models import ApiKey, Office, Officer
from tests.factory.issuer import ADMIN, IssuerHarness, application, officer

OTHER_OFFICE = "urn:jiaozi:office:31001"


def bearer(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def create(env: IssuerHarness, username: str, role: str, headers=None) -> dict:
    r = env.client.post(
        "/api/v1/officers",
        json={"username": username, "display_name": f"{username} 同志", "role": role},
        headers=headers or ADMIN,
    )
    assert r.status_code == 201, r.text
    return r.json()


def issue_with(env: IssuerHarness, key: str, i: int = 1, **over: str):
    return env.client.post(
        "/api/v1/certificates",
        json=application(i, **over),
        headers=bearer(key, **{"Idempotency-Key": f"k-{i}-{key[:15]}-{sorted(over.items())}"}),
    )


def assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    return body


def text_values(engine: sa.Engine) -> Iterator[tuple[str, str, str]]:
    """Yield (table, column, text) for every text or binary value in every table."""
    inspector = sa.inspect(engine)
    meta = sa.MetaData()
    with engine.connect() as conn:
        for name in inspector.get_table_names():
            table = sa.Table(name, meta, autoload_with=conn)
            for row in conn.execute(sa.select(table)).mappings():
                for col, value in row.items():
                    if isinstance(value, bytes):
                        value = value.decode("latin-1")
                    if isinstance(value, str):
                        yield name, col, value


def personal_admin(env: IssuerHarness) -> dict[str, str]:
    """Return the auth header of an admin officer of the harness office ("root.admin"),
    made once per harness. The bootstrap key stops working once it exists."""
    cached: dict[str, str] | None = getattr(env.app.state, "personal_admin", None)
    if cached is None:
        cached = officer(env, "root.admin", "admin")
        env.app.state.personal_admin = cached  # type: ignore[attr-defined]
    return cached


def other_office_admin(env: IssuerHarness) -> tuple[int, str]:
    """Insert a second office with an admin (directly); return (its officer id, key)."""
    now = dt.datetime.now(dt.UTC)
    new = new_api_key()
    with Session(env.engine) as s:
        s.add(
            Office(
                id=OTHER_OFFICE,
                name="上海市教师资格认定中心",
                province="31",
                office_code="001",
                created_at=now,
            )
        )
        s.flush()
        officer = Officer(
            office_id=OTHER_OFFICE,
            username="sh.admin",
            display_name="沪管理员",
            role="admin",
            created_at=now,
        )
        s.add(officer)
        s.flush()
        s.add(
            ApiKey(
                officer_id=officer.id,
                prefix=new.prefix,
                secret_hash=new.secret_hash,
                created_at=now,
            )
        )
        s.commit()
        assert officer.id is not None
        return officer.id, new.text
