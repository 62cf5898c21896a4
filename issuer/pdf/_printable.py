"""Whether a text can be printed: a character no font has, a field or purpose too wide.

Validation asks these before anything is issued, so a certificate that could not be
printed is refused with a field error instead of failing at the printer.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from reportlab.pdfbase import pdfmetrics

from ._errors import LayoutError
from ._layout import available_layouts
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


@functools.cache
def _every_layout() -> tuple[str, ...]:
    """The layouts a certificate may be printed in (read once: validation asks per row)."""
    return tuple(available_layouts())


# (layout, field) -> (room in points, smallest size, an upper bound of one character's width
# at that size): what too_wide needs of a layout, worked out once
_ROOMS: dict[tuple[str, str], tuple[float, float, float]] = {}


def too_wide(field: str, text: str, *, layout: str | None = None) -> float | None:
    """Return the width in points ``text`` needs at the layout's smallest value size when
    that is more than the room of field ``field``'s line (the certificate could not be
    printed: the renderer would raise FieldTooLongError), else None.

    The room is the row's own (``max_mm`` and ``min_size`` where the row has them: v3's
    rows beside the photo are shorter), else the table's. Without ``layout``, every
    layout is asked and the widest need returned: validation refuses what any layout
    could not print, whichever a certificate is made or reprinted in.

    For a field drawn in the fields table without a note (name, subject, ethnicity) and
    a text every character of which a font has (see ``unprintable_character``; else
    GlyphMissingError). Raises LayoutError for an unknown layout or such a field.
    """
    if layout is None:
        needs = [too_wide(field, text, layout=v) for v in _every_layout()]
        return max((n for n in needs if n is not None), default=None)
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
        min_size = float(rows[0].get("min_size", f["min_value_size"]))
        room = rows[0].get("max_mm", f["value_max_mm"]) * MM
        got = _ROOMS[key] = (room, min_size, widest / 1000 * min_size)
    room, min_size, bound = got
    if len(text) * bound <= room:  # (a name of up to ~44 characters of any kind)
        return None
    fonts = get_style(layout).fonts
    width = fonts.width(fonts.runs(text, field), min_size)
    return width if width > room + 1e-9 else None


def purpose_too_wide(purpose: str, *, layout: str | None = None) -> bool:
    """Return True if a purpose-bound copy with ``purpose`` could not be printed: its
    purpose line or its watermark would not fit even at their smallest sizes (whatever
    the expiry date: the widest is assumed); without ``layout``, in any layout.
    ``purpose`` must be drawable (see ``unprintable_character``; else
    GlyphMissingError). Raises LayoutError."""
    if layout is None:
        return any(purpose_too_wide(purpose, layout=v) for v in _every_layout())
    style = get_style(layout)
    values = {"purpose": purpose, "expires": zh_date(dt.date(2099, 12, 28))}
    for spec in (style.layout["purpose_line"], style.layout["watermark"]):
        runs = style.fonts.runs(spec["text"].format(**values), "purpose")
        min_size = spec.get("min_size", spec["size"] * 0.6)  # as the renderer draws it
        if style.fonts.width(runs, min_size) > spec["max_mm"] * MM + 1e-9:
            return True
    return False
