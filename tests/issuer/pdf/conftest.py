"""Fixtures of the PDF tests."""

from __future__ import annotations

import pytest

from tests.factory import World
from tests.factory.pdf import fixed_world


@pytest.fixture(scope="module")
def world() -> World:
    """A trust world with keys from fixed bytes: the same certificate, the same page."""
    return fixed_world()
