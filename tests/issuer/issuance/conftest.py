"""Fixtures of the issuance tests: an office with a key store, keys rotated by the clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from issuer.db.engine import make_engine, upgrade
from issuer.settings import IssuerSettings
from tests.factory.keys import make_store
from tests.factory.reissue import OFFICE, PASSPHRASE, T_KEYS, Office, reissue_env


@pytest.fixture
def office(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    for name, value in reissue_env(database_url, tmp_path / "home").items():
        monkeypatch.setenv(name, value)
    settings = IssuerSettings()
    store = make_store(
        tmp_path / "home",
        now=T_KEYS,
        passphrase=PASSPHRASE.encode(),
        office_id=OFFICE,
        name=settings.office_name,
    )
    engine = make_engine(database_url)
    upgrade(engine)
    yield Office(settings, store, engine, tmp_path / "home")
    engine.dispose()
