"""Text handling the identifier rules share: normalising input, and showing a rejected
value in a message without repeating personal data at length."""

from __future__ import annotations

import re
import unicodedata
from typing import TypeGuard

__all__ = ["all_digits", "clean", "is_int", "show", "show_char"]


def clean(text: str) -> str:
    """Return ``text`` in NFKC form (full-width digits become ASCII), stripped, uppercased."""
    return unicodedata.normalize("NFKC", text).strip().upper()


def show(value: object, limit: int = 40) -> str:
    """Return a short printable rendering of a rejected value for a message."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return "".join(ch if ch.isprintable() else f"U+{ord(ch):04X}" for ch in text)


def show_char(ch: str) -> str:
    """Return one character quoted, or as U+XXXX when it is not printable."""
    return f"'{ch}'" if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"


def is_int(value: object) -> TypeGuard[int]:
    """Return True for a real ``int`` (``bool`` excluded)."""
    return isinstance(value, int) and not isinstance(value, bool)


_ASCII_DIGITS = re.compile(r"[0-9]+")


def all_digits(text: str) -> bool:
    """Return True when ``text`` is non-empty and only ASCII digits."""
    return _ASCII_DIGITS.fullmatch(text) is not None
