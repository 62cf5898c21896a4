"""Fixtures of the verifier tests: a verifier app synced from the fake issuer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factory.verifier import Harness, make_harness


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Harness]:
    gen = make_harness(f"sqlite:///{tmp_path / 'verifier.db'}", tmp_path)
    h = next(gen)
    h.verifier.syncer.run_once(extra_status=[h.world.status_uri])
    yield h
    gen.close()


@pytest.fixture
def unlimited(tmp_path: Path) -> Iterator[Harness]:
    """``api`` with the per-client verify rate limit off, for tests sending hundreds."""
    gen = make_harness(f"sqlite:///{tmp_path / 'verifier.db'}", tmp_path, verify_rate_limit=0)
    h = next(gen)
    h.verifier.syncer.run_once(extra_status=[h.world.status_uri])
    yield h
    gen.close()
