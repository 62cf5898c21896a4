"""A real browser for the end-to-end page tests: Debian's headless Chromium driven by
Playwright's Python package (its bundled driver only; ``playwright install`` is never run,
no browser is ever downloaded), at a phone's size.

Chromium comes from ``scripts/system-packages.sh`` (run by ``make install``); when
``/usr/bin/chromium`` is absent and cannot be installed here, the tests skip saying so.
Screenshots go to ``SHOTS`` (docs/img) with ``JIAOZI_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.factory import REPO

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "PHONE", "SHOTS", "TIMEOUT_MS", "chromium"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = REPO / "docs" / "img"
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000


def chromium() -> Path:
    """Return Debian's chromium, installing it when missing and we are root; else skip."""
    if CHROMIUM.exists():
        return CHROMIUM
    script = REPO / "scripts" / "system-packages.sh"
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["sh", str(script)], check=False, capture_output=True, timeout=600)
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium (/usr/bin/chromium) is absent and could not be installed: "
            "run scripts/system-packages.sh as root"
        )
    return CHROMIUM
