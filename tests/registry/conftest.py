"""Fixtures of the registry tests: the national trust world and a registry app over each
database backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from registry.app import create_app
from registry.db import make_engine
from registry.settings import RegistrySettings
from tests.factory.registry import NationalWorld, RegistryHarness


@pytest.fixture
def national() -> NationalWorld:
    return NationalWorld()


@pytest.fixture
def registry_env(database_url: str, national: NationalWorld) -> Iterator[RegistryHarness]:
    settings = RegistrySettings(env="development", database_url=database_url)
    engine = make_engine(database_url)
    app = create_app(
        settings,
        engine=engine,
        signer_provider=lambda: national.signers["R"],
        trust_provider=lambda: national.trust,
    )
    with TestClient(app) as client:
        yield RegistryHarness(national, engine, client)
    engine.dispose()
