"""Which of the two languages every Jiaozi text comes in a reader asked for."""

from __future__ import annotations

from typing import Literal

__all__ = ["preferred_language"]

Language = Literal["en", "zh"]
_MAX_PARTS = 20  # a header of thousands of ranges costs no more than one of twenty


def preferred_language(accept_language: str | None) -> Language:
    """Return ``"en"`` or ``"zh"``: of the two, the one an HTTP ``Accept-Language``
    header weights highest (its first 20 ranges); ``"zh"`` when it names neither."""
    best: Language = "zh"
    best_q = -1.0
    for part in (accept_language or "").split(",")[:_MAX_PARTS]:
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        lang: Language | None = (
            "en" if tag.startswith("en") else "zh" if tag.startswith("zh") else None
        )
        if lang is not None and q > 0 and q > best_q:
            best, best_q = lang, q
    return best
