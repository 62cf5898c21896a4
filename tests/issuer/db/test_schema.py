"""The Alembic revision creates exactly the models' tables, on both databases; settings
refuse default secrets in production."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import ValidationError

from issuer.db.engine import make_engine, upgrade
from issuer.db.models import METADATA
from issuer.settings import (
    DEV_API_KEY,
    DEV_ID_HMAC_KEY,
    DEV_RESTRICTION_HMAC_KEY,
    IssuerSettings,
)
from keys import DEV_DATA_KEY, generate_data_key


def test_migration_matches_models_and_is_rerunnable(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        upgrade(engine)  # already at head: a no-op
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), METADATA
            )
            head = conn.execute(sa.text("SELECT seq, hash FROM audit_head")).one()
        assert diff == []
        assert tuple(head) == (0, "0" * 64)
    finally:
        engine.dispose()


def test_sqlite_engine_uses_wal_and_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'issuer.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No JIAOZI_* but JIAOZI_ENV=development, said explicitly as a laptop does."""
    import os

    for name in list(os.environ):
        if name.startswith("JIAOZI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("JIAOZI_ENV", "development")


def test_production_is_the_default_and_refuses_every_published_secret(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JIAOZI_ENV")
    https = {"public_url": "https://jszg.example.cn", "verifier_url": "https://verify.example.cn"}
    real = {
        "api_key": "a" * 40,
        "id_hmac_key": "b" * 40,
        "restriction_hmac_key": "c" * 40,
        "data_key": generate_data_key(),
    }
    published = {
        "api_key": DEV_API_KEY,
        "id_hmac_key": DEV_ID_HMAC_KEY,
        "restriction_hmac_key": DEV_RESTRICTION_HMAC_KEY,
        "data_key": DEV_DATA_KEY,
    }
    for name, dev in published.items():
        with pytest.raises(ValidationError, match=f"JIAOZI_{name.upper()}") as info:
            IssuerSettings(**https, **{**real, name: dev})
        assert "JIAOZI_ENV" in str(info.value)  # the message says how to run on a laptop
    with pytest.raises(ValidationError, match="JIAOZI_ENV"):
        IssuerSettings()  # nothing set at all
    assert IssuerSettings(**https, **real).env == "production"


def test_development_defaults(clean_env: None) -> None:
    s = IssuerSettings()
    assert s.env == "development"
    assert s.database_url == "sqlite:///var/issuer.db"
    assert s.public_url == "http://127.0.0.1:8100"
    assert s.verifier_url == "http://127.0.0.1:8200"
    assert s.status_list_size == 131072
    assert s.status_ttl_seconds == 300
    assert s.elicence_type_code == "11100000000013338W009"


def test_settings_come_from_jiaozi_environment(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIAOZI_OFFICE_CODE", "002")
    monkeypatch.setenv("JIAOZI_STATUS_TTL_SECONDS", "60")
    s = IssuerSettings()
    assert (s.office_code, s.status_ttl_seconds) == ("002", 60)


@pytest.mark.parametrize(
    "over",
    [
        {},
        {"api_key": "", "id_hmac_key": "k" * 40},
        {"api_key": "k" * 40},
        {"api_key": "k" * 40, "id_hmac_key": "jiaozi-dev-id-hmac-key"},
    ],
)
def test_production_refuses_default_or_empty_secrets(clean_env: None, over) -> None:
    with pytest.raises(ValidationError, match="in production"):
        IssuerSettings(
            env="production",
            public_url="https://jszg.example.cn",
            verifier_url="https://verify.example.cn",
            **over,
        )


def test_production_accepts_real_secrets(clean_env: None) -> None:
    s = IssuerSettings(
        env="production",
        public_url="https://jszg.example.cn",
        verifier_url="https://verify.example.cn",
        api_key="a" * 40,
        id_hmac_key="b" * 40,
        restriction_hmac_key="c" * 40,
        data_key=generate_data_key(),
    )
    assert s.env == "production"


@pytest.mark.parametrize("missing", ["restriction_hmac_key", "data_key"])
def test_production_refuses_the_published_development_secrets(
    clean_env: None, missing: str
) -> None:
    given = {
        "api_key": "a" * 40,
        "id_hmac_key": "b" * 40,
        "restriction_hmac_key": "c" * 40,
        "data_key": generate_data_key(),
    }
    del given[missing]
    with pytest.raises(ValidationError, match=f"JIAOZI_{missing.upper()}"):
        IssuerSettings(
            env="production",
            public_url="https://jszg.example.cn",
            verifier_url="https://verify.example.cn",
            **given,
        )


@pytest.mark.parametrize(
    "over",
    [
        {"status_list_size": 1000},
        {"office_code": "1"},
        {"issuer_uscc": "11330105002500287D"},
        {"public_url": "ftp://x"},
    ],
)
def test_bad_settings_are_refused(clean_env: None, over) -> None:
    with pytest.raises(ValidationError):
        IssuerSettings(**over)


def test_sqlite_writers_begin_immediate_and_readers_deferred(tmp_path) -> None:
    from sqlalchemy.orm import Session

    from issuer.db.engine import begin_write

    engine = make_engine(f"sqlite:///{tmp_path / 'issuer.db'}")
    begins: list[str] = []
    sa.event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cur, stmt, *a: begins.append(stmt) if stmt.startswith("BEGIN") else None,
    )
    try:
        with Session(engine) as session:
            begin_write(session)
            session.execute(sa.text("SELECT 1"))
            session.commit()
        with Session(engine) as session:
            session.execute(sa.text("SELECT 1"))
        assert begins == ["BEGIN IMMEDIATE", "BEGIN DEFERRED"]
    finally:
        engine.dispose()
