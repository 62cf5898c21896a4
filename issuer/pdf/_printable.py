"""Whether a text can be printed: a character no font has, a field or purpose too wide.

Validation asks these before anything is issued, so a certificate that could not be
printed is refused with a field error instead of failing at the printer.
"""

from __future__ import annotations

import datetime as dt
import re

from reportlab.pdfbase import pdfmetrics

from ._errors import LayoutError
from ._style import MM, get_style
from ._values import zh_date

__all__ = ["purpose_too_wide", "too_wide", "unprintable_character"]


# Characters every layout's fonts are known to draw (tests/issuer/pdf/test_printable.py
# holds each layout to it): ASCII, the middle dot of transliterated names, CJK punctuation,
# the CJK Unified Ideographs block (to 9FEA) and full-width forms. A text made only of these is
# printable without loading a font, which batch validation, row by row, relies on.
_SURELY_PRINTABLE = (
    (0x20, 0x7E),
    (0xB7, 0xB7),
    (0x3000, 0x3029),  # 302A-302F are combining tone marks no face here has
    (0x3030, 0x303F),
    (0x4E00, 0x9FEA),  # the block's later additions (9FEB-9FFF) are in no face here
    (0xFF01, 0xFF5E),
)


# one regular-expression scan: validation calls this for every row's every text
_NOT_SURELY_PRINTABLE = re.compile(
    "[^" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in _SURELY_PRINTABLE) + "]"
)


def unprintable_character(text: str, *, layout: str = "v1") -> str | None:
    """Return the first character of ``text`` that no font of ``layout`` can draw, or None.

    Raises LayoutError or FontUnavailableError (a font the layout names is missing).
    """
    if _NOT_SURELY_PRINTABLE.search(text) is None:
        return None
    fonts = get_style(layout).fonts
    for ch in text:
        if fonts.covers(ch) is None:
            return ch
    return None


# (layout, field) -> (room in points, smallest size, an upper bound of one character's width
# at that size): what too_wide needs of a layout, worked out once
_ROOMS: dict[tuple[str, str], tuple[float, float, float]] = {}


def too_wide(field: str, text: str, *, layout: str = "v1") -> float | None:
    """Return the width in points ``text`` needs at the layout's smallest value size when
    that is more than the room of field ``field``'s line (the certificate could not be
    printed: the renderer would raise FieldTooLongError), else None.

    For a field drawn in the fields table without a note (name, subject, ethnicity) and
    a text every character of which a font has (see ``unprintable_character``; else
    GlyphMissingError). Raises LayoutError for an unknown layout or such a field.
    """
    key = (layout, field)
    got = _ROOMS.get(key)
    if got is None:
        style = get_style(layout)
        f = style.layout["fields"]
        rows = [r for r in f["rows"] if r["key"] == field and "note" not in r]
        if not rows:
            raise LayoutError(f"layout {layout} has no line for {field!r} without a note")
        widest = max(
            max(getattr(pdfmetrics.getFont(n).face, "charWidths", {}).values(), default=1000)
            for n in style.fonts.names
        )
        min_size = float(f["min_value_size"])
        got = _ROOMS[key] = (f["value_max_mm"] * MM, min_size, widest / 1000 * min_size)
    room, min_size, bound = got
    if len(text) * bound <= room:  # (a name of up to ~44 characters of any kind)
        return None
    fonts = get_style(layout).fonts
    width = fonts.width(fonts.runs(text, field), min_size)
    return width if width > room + 1e-9 else None


def purpose_too_wide(purpose: str, *, layout: str = "v1") -> bool:
    """Return True if a purpose-bound copy with ``purpose`` could not be printed: its
    purpose line or its watermark would not fit even at their smallest sizes (whatever
    the expiry date: the widest is assumed). ``purpose`` must be drawable (see
    ``unprintable_character``; else GlyphMissingError). Raises LayoutError."""
    style = get_style(layout)
    values = {"purpose": purpose, "expires": zh_date(dt.date(2099, 12, 28))}
    for spec in (style.layout["purpose_line"], style.layout["watermark"]):
        runs = style.fonts.runs(spec["text"].format(**values), "purpose")
        min_size = spec.get("min_size", spec["size"] * 0.6)  # as the renderer draws it
        if style.fonts.width(runs, min_size) > spec["max_mm"] * MM + 1e-9:
            return True
    return False
