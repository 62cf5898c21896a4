"""Versioned page layouts: ``templates/certificate/<version>/layout.json``.

A certificate keeps the layout version it was made with, so released versions are never
edited; a new look is a new directory. Layouts are read once per process.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from ._errors import LayoutError

__all__ = ["TEMPLATES", "available_layouts", "load_layout"]

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "certificate"
_VERSION = re.compile(r"v[0-9]{1,4}")
_LOCK = threading.Lock()
_CACHE: dict[str, dict[str, Any]] = {}
_REQUIRED = ("page", "fonts", "colors", "fields", "qr", "seal")


def available_layouts() -> list[str]:
    """Return the layout versions present, oldest first."""
    found = [p.parent.name for p in TEMPLATES.glob("v*/layout.json")]
    return sorted((v for v in found if _VERSION.fullmatch(v)), key=lambda v: int(v[1:]))


def load_layout(version: str) -> dict[str, Any]:
    """Return the parsed layout ``version`` (e.g. ``"v1"``); raise LayoutError if unknown."""
    cached = _CACHE.get(version)
    if cached is not None:
        return cached
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise LayoutError(f"not a layout version: {version!r}")
    path = TEMPLATES / version / "layout.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayoutError(
            f"unknown certificate layout {version!r} (have {available_layouts()})"
        ) from None
    except ValueError as exc:
        raise LayoutError(f"layout {version} is not valid JSON: {exc}") from exc
    missing = [k for k in _REQUIRED if k not in data]
    if missing or data.get("version") != version:
        raise LayoutError(f"layout {version} is malformed (missing {missing} or wrong version)")
    with _LOCK:
        _CACHE.setdefault(version, data)
    return _CACHE[version]
