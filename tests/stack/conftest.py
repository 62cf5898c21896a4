"""The stack's tests need nginx: installed by scripts/system-packages.sh when missing (as
``make install`` does); skipped, saying why, only when it cannot be installed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from jiaozi.stack.parts import nginx_binary

REPO = Path(__file__).resolve().parents[2]


def nginx_or_skip() -> str:
    """Return nginx's path, installing it first if it is missing; skip if that fails."""
    found = nginx_binary()
    if found is None:
        subprocess.run(
            [str(REPO / "scripts" / "system-packages.sh")], capture_output=True, timeout=600
        )
        found = nginx_binary()
    if found is None:
        pytest.skip("nginx is not installed and scripts/system-packages.sh could not install it")
    return found
