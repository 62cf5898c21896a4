"""What the console's area pages (inbox, restrictions, audit) share: an error's text in the
page's language, times shown in Beijing time, and query and path values read by hand, so
that a hostile value gives a page naming it rather than FastAPI's JSON 422."""

from __future__ import annotations

from credential import IdType
from issuer.errors import IssuerError
from issuer.web.pages import beijing

__all__ = ["ID_TYPE_NAMES", "beijing", "error_text", "positive_int"]

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
