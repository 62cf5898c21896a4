"""Fixtures of the issuance tests: an office with a key store, keys rotated by the clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from credential import (
    QualificationType,
)
from issuer.db.engine import make_engine, upgrade
from issuer.settings import IssuerSettings
from keys import (
    KeyStore,
    add_office,
    init_trust,
)
from tests.factory.reissue import OFFICE, PASSPHRASE, T_KEYS, Office, reissue_env


@pytest.fixture
def office(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    for name, value in reissue_env(database_url, tmp_path / "home").items():
        monkeypatch.setenv(name, value)
    settings = IssuerSettings()
    store = KeyStore(tmp_path / "home", PASSPHRASE.encode())
    init_trust(store, now=T_KEYS)
    add_office(
        store,
        office_id=OFFICE,
        name=settings.office_name,
        province=settings.province,
        office_code=settings.office_code,
        qualification_types=list(QualificationType),
        now=T_KEYS,
    )
    engine = make_engine(database_url)
    upgrade(engine)
    yield Office(settings, store, engine, tmp_path / "home")
    engine.dispose()
