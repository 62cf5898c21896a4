"""The one-language scan (issue 15 point 3): what a Chinese page may show in Latin letters
and what an English page may show in Chinese, and the finders the page scans share.

A Chinese page shows no English word (three letters or more) outside ``ZH_ALLOWED``, no
internal code (a snake_case word) and no ISO date; an English page shows no Chinese outside
the data it was given and ``EN_ALLOWED``, and no snake_case code either. URLs, paths and
digits are data and are dropped before looking.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = [
    "EN_ALLOWED",
    "ZH_ALLOWED",
    "chinese_faults",
    "english_faults",
    "output_faults",
    "page_text",
    "strings_of",
]

# Latin words a Chinese page may show on purpose: format, encoding and file names, the
# language switch (written in the language it switches to) and the product's name.
ZH_ALLOWED = frozenset(
    {
        "JSON",
        "JWS",
        "JWKS",
        "HTTP",
        "PDF",
        "QR",
        "API",
        "PNG",
        "JPEG",
        "CSV",
        "XLSX",
        "ZIP",
        "UTF",
        "Base",  # Base64, an encoding's name (as UTF in UTF-8)
        "JavaScript",
        "English",
        "Jiaozi",
    }
)
# Chinese an English page may show on purpose: the switch to Chinese.
EN_ALLOWED = ("中文",)

_URL = re.compile(r"(?:https?://|/)[\w./?#=&%:-]*")
_WORD = re.compile(r"[A-Za-z]{3,}")
_SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_PLACEHOLDER = re.compile(r"\{\w+\}")


class _Text(HTMLParser):
    """The text a reader sees: text nodes outside script and style, and the attributes a
    browser shows (placeholder, title, alt, aria-label)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("placeholder", "title", "alt", "aria-label") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def page_text(html: str) -> list[str]:
    """Return the pieces of text a reader of ``html`` sees."""
    parser = _Text()
    parser.feed(html)
    return parser.parts


def strings_of(table: object) -> list[str]:
    """Return every string in a nested table of dicts, lists and tuples."""
    if isinstance(table, str):
        return [table]
    if isinstance(table, dict):
        return [s for v in table.values() for s in strings_of(v)]
    if isinstance(table, list | tuple):
        return [s for v in table for s in strings_of(v)]
    return []


def _without(text: str, data: tuple[str, ...]) -> str:
    for item in sorted(data, key=len, reverse=True):
        if item:
            text = text.replace(item, " ")
    return _PLACEHOLDER.sub(" ", text)


def chinese_faults(texts: list[str], data: tuple[str, ...] = ()) -> list[str]:
    """Return what in ``texts`` (a Chinese page's) is English, a code or an ISO date,
    ``data`` (values shown on purpose: names, numbers, ids) aside; [] when none."""
    faults = []
    for text in texts:
        bare = _URL.sub(" ", _without(text, data))
        faults += [f"code {m!r} in {text!r}" for m in _SNAKE.findall(bare)]
        faults += [f"ISO date {m!r} in {text!r}" for m in _ISO_DATE.findall(bare)]
        faults += [f"English {m!r} in {text!r}" for m in _WORD.findall(bare) if m not in ZH_ALLOWED]
    return faults


def english_faults(texts: list[str], data: tuple[str, ...] = ()) -> list[str]:
    """Return what in ``texts`` (an English page's) is Chinese or a code, ``data`` aside;
    [] when none."""
    faults = []
    for text in texts:
        bare = _URL.sub(" ", _without(text, data + EN_ALLOWED))
        faults += [f"code {m!r} in {text!r}" for m in _SNAKE.findall(bare)]
        faults += [f"Chinese {m!r} in {text!r}" for m in _CJK.findall(bare)]
    return faults


def output_faults(output: str, lang: str, data: tuple[str, ...] = ()) -> list[str]:
    """Return what in a command's ``output`` is not in ``lang`` (``zh`` or ``en``): its
    lines scanned as a page's texts are, ``data`` (paths, names, commands to run, what
    another program said) aside; [] when none. Output that does not end a line is a fault
    too: piped, every line is whole."""
    faults = [] if output == "" or output.endswith("\n") else [f"no end of line: {output!r}"]
    lines = [line for line in output.splitlines() if line.strip()]
    finder = chinese_faults if lang == "zh" else english_faults
    return faults + finder(lines, data)
