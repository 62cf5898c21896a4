"""A batch file's cells as a clerk wrote them: what only a file needs before the shared field
rules judge a value.

XLSX cells come typed (numbers, dates, formulas, error values); CSV cells are text. Here
they become the text a clerk sees, dates written the ways Excel writes them become days,
and previews of a cell for the error report are cut short with identity numbers masked.
"""

from __future__ import annotations

import datetime
import functools
import re
import unicodedata

from credential import InvalidFieldError, mask_id
from issuer.fields.dates import date_text
from issuer.fields.errors import zh_label

__all__ = [
    "PREVIEW_MAX",
    "CellError",
    "Formula",
    "date_spelling_error",
    "excel_int",
    "looks_like_number",
    "preview",
    "raw_text",
    "visible",
    "written_date",
]

PREVIEW_MAX = 40

_ID_RUN = re.compile(r"\d{14,17}[\dXx]")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d+)?[eE][+-]?\d+")
_DATE_SEP = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_DATE_ZH = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")


class Formula(str):
    """The text of a formula cell of an XLSX sheet (not its computed value)."""

    __slots__ = ()


class CellError(str):
    """An Excel error value such as ``#N/A`` in an XLSX cell."""

    __slots__ = ()


def visible(text: str) -> str:
    """Return ``text`` with non-printable characters shown as U+XXXX."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else f"U+{ord(ch):04X}" for ch in text)


def preview(text: str) -> str:
    """Return ``text`` cut to PREVIEW_MAX characters, visible, identity numbers masked."""
    text = _ID_RUN.sub(lambda m: mask_id(m.group()), text)
    if len(text) > PREVIEW_MAX:
        text = text[:PREVIEW_MAX] + "…"
    return visible(text)


def _number_text(value: float | int) -> str:
    """Return a number as plain digits when integral (1.1e17 -> '110000000000000000')."""
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)


def raw_text(value: object) -> str:
    """Return a cell value as the clerk would see it (for rules and previews), unstripped."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def excel_int(value: object) -> int | None:
    """Return an integral XLSX number as int, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def looks_like_number(value: object, text: str) -> bool:
    """Return True when a cell holds a number or its scientific spelling (``1.1E+17``):
    what Excel makes of an identity number typed into a General cell."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True
    if "e" not in text and "E" not in text:  # the usual case, without a regex
        return False
    return _SCIENTIFIC.fullmatch(text.strip()) is not None


def date_spelling_error(field: str) -> InvalidFieldError:
    """Return the refusal of a cell not written as a date (``date_format``)."""
    zh = zh_label(field)
    return InvalidFieldError(
        field,
        "date_format",
        "is not a date; write it as YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD or YYYY年M月D日",
        f"{zh}不是日期；请写作 YYYY-MM-DD、YYYY/MM/DD、YYYY.MM.DD 或 YYYY年M月D日",
    )


@functools.lru_cache(maxsize=4096)
def written_date(field: str, raw: str) -> datetime.date:
    """Return the day written in a text cell: YYYY-MM-DD, YYYY/M/D, YYYY.M.D or YYYY年M月D日
    (full-width digits too). Raises InvalidFieldError: as
    :func:`issuer.fields.dates.date_text`, or ``date_format`` (not written as a date, or
    no real day).

    Pure, so cached: a round's rows repeat their certification date and many birth dates
    (a refusal raises and is not cached).
    """
    written = unicodedata.normalize("NFKC", raw).strip()
    m = _DATE_SEP.fullmatch(written)
    if m is not None:
        parts = (m.group(1), m.group(3), m.group(4))
    else:
        m = _DATE_ZH.fullmatch(written)
        if m is None:
            # a cell in a date's spelling holds no character the text rule refuses; else
            # that rule names what is wrong (empty, a control character)
            date_text(field, raw)
            raise date_spelling_error(field)
        parts = (m.group(1), m.group(2), m.group(3))
    try:
        return datetime.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        zh = zh_label(field)
        shown = visible(written)
        raise InvalidFieldError(
            field,
            "date_format",
            f"{shown} is not a real date",
            f"{zh}{shown}不是有效日期",
        ) from None
