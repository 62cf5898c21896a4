"""What the console's area pages (inbox, restrictions, audit) share: an error's text in the
page's language, times shown in Beijing time, and query and path values read by hand, so
that a hostile value gives a page naming it rather than FastAPI's JSON 422."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from credential import IdType, date_text
from issuer.errors import IssuerError
from issuer.web.pages import beijing

__all__ = [
    "ID_TYPE_NAMES",
    "beijing",
    "error_text",
    "positive_int",
    "shown_date",
    "typed_date",
    "typed_moment",
]

# The forms a console date field takes: 2026-06-05, 2026/6/5, 2026.6.5 and 2026年6月5日
# (full-width digits too), as a batch file's date cells do (issuer.batches.cells).
_DATE_SEP = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_DATE_ZH = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")

ID_TYPE_NAMES: dict[str, dict[str, str]] = {
    lang: {kind.value: kind.name_in(lang) for kind in IdType} for lang in ("zh", "en")
}
"""Each identity document type's name by language, keyed by its code."""


def error_text(exc: IssuerError, lang: str) -> str:
    """Return the title and detail of ``exc`` in ``lang`` (zh or en), as one line."""
    if lang == "en":
        return f"{exc.title}. {exc.detail}" if exc.detail else exc.title
    return f"{exc.title_zh}。{exc.detail_zh}" if exc.detail_zh else exc.title_zh


def positive_int(text: str | None, *, limit: int = 2**31 - 1) -> int | None:
    """Return ``text`` as an integer in 1..``limit``; None if absent or empty.

    Raises ValueError for anything else (the pages answer 422 naming the parameter)."""
    if text is None or text == "":
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise ValueError(text)
    n = int(text)
    if not 1 <= n <= limit:
        raise ValueError(text)
    return n


def _day(written: str) -> dt.date | None:
    m = _DATE_SEP.fullmatch(written) or _DATE_ZH.fullmatch(written)
    if m is None:
        return None
    year, month, day = (m.group(1), m.group(3), m.group(4)) if m.re is _DATE_SEP else m.groups()
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def typed_date(text: str) -> str:
    """Return ``text`` as YYYY-MM-DD when it is a day in one of the console's date forms
    (2026-06-05, 2026/6/5, 2026.6.5, 2026年6月5日); else ``text`` as it is, for the field's
    own rule to refuse naming the field."""
    if len(text) > 32:
        return text
    day = _day(unicodedata.normalize("NFKC", text).strip())
    return text if day is None else day.isoformat()


def typed_moment(text: str) -> tuple[dt.date, tuple[int, int] | None]:
    """Return the day and (hour, minute), if one was given, of ``text``: a date in one of
    the console's forms, optionally followed by a time HH:MM (after a space or a ``T``).
    Raises ValueError for anything else."""
    written = unicodedata.normalize("NFKC", text).strip() if len(text) <= 32 else ""
    date_part, clock_part = written, ""
    for sep in ("T", " "):
        if sep in written:
            date_part, _, clock_part = written.partition(sep)
            break
    day = _day(date_part.strip())
    if day is None:
        raise ValueError(text)
    if not clock_part.strip():
        return day, None
    clock = _CLOCK.fullmatch(clock_part.strip())
    if clock is None or int(clock.group(1)) > 23 or int(clock.group(2)) > 59:
        raise ValueError(text)
    return day, (int(clock.group(1)), int(clock.group(2)))


def shown_date(text: str, lang: str) -> str:
    """Return a date field's value as a page in ``lang`` shows it back: on a Chinese page a
    day in any accepted form as 2026年6月5日 (a time after it kept); else as typed."""
    if lang != "zh" or not text:
        return text
    try:
        day, clock = typed_moment(text)
    except ValueError:
        return text
    shown = date_text(day, "zh")
    return shown if clock is None else f"{shown} {clock[0]:02d}:{clock[1]:02d}"
