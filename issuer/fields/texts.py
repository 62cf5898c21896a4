"""Text rules: what any text an office sends must be, and what a printed text must be.

Every text is stripped and stored in Unicode NFC. In order, a text is refused as
``required`` (empty where a value is needed), ``type`` (not text), ``characters`` (a
control, invisible-format, surrogate, private-use or unassigned character, or a line or
paragraph separator; a multi-line text may hold line feeds and tabs), ``too_long``,
``formula_text`` (starts as a spreadsheet formula: every text, printed or not, since any
of them can reach a CSV or XLSX file an office opens); a text printed on a certificate
(name, subject, ethnicity, a copy's purpose) also as ``unprintable`` (a character no
certificate font has, or too wide for its line even in the smallest type).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from credential import InvalidFieldError
from issuer.fields.errors import zh_label
from issuer.pdf import too_wide, unprintable_character

__all__ = [
    "ETHNICITY_MAX",
    "FORMULA_START",
    "NAME_MAX",
    "SUBJECT_MAX",
    "ethnicity",
    "name",
    "printable",
    "printed_text",
    "refused_character",
    "subject",
    "text",
]

NAME_MAX = 50
SUBJECT_MAX = 50
ETHNICITY_MAX = 20
# Text starting with these is run as a formula by spreadsheets (OWASP CSV injection: "-"
# too, as in "-2+3+cmd|' /C calc'!A0"); no name, subject, legal basis or any other text an
# office sends needs to, so such a value is refused in every text field on every way in.
# A text is stripped first, so a leading tab or carriage return never reaches the test;
# they are listed for a caller that tests an unstripped value.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Never part of a text an office sends: control (Cc), invisible format characters such as
# zero-width spaces and bidirectional overrides (Cf), surrogates (Cs), private use (Co),
# unassigned code points (Cn), line and paragraph separators (Zl, Zp).
_REFUSED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_MULTILINE = frozenset("\n\t")


def refused_character(text: str, *, multiline: bool = False) -> tuple[int, str] | None:
    """Return (1-based position, character) of the first character ``text`` may not hold."""
    if text.isprintable():  # every refused category is non-printable: the usual case
        return None
    for i, ch in enumerate(text, start=1):
        if unicodedata.category(ch) in _REFUSED and not (multiline and ch in _MULTILINE):
            return i, ch
    return None


def text(
    field: str,
    value: object,
    *,
    max_len: int,
    required: bool = True,
    multiline: bool = False,
    label_zh: str | None = None,
) -> str:
    """Return ``value`` stripped and NFC-normalised (``""`` when optional and empty).

    Raises InvalidFieldError: ``required``, ``type``, ``characters``, ``too_long`` or
    ``formula_text``.
    ``label_zh`` is the field's Chinese name when the field table has none for it.
    """
    if type(value) is not str:
        if value is None:
            if required:
                raise _required(field, label_zh)
            return ""
        if not isinstance(value, str):
            zh = label_zh or zh_label(field)
            raise InvalidFieldError(field, "type", "must be text", f"{zh}应为文本")
    out = value.strip()
    if not out.isascii() and not unicodedata.is_normalized("NFC", out):
        out = unicodedata.normalize("NFC", out).strip()
    if not out:
        if required:
            raise _required(field, label_zh)
        return ""
    bad = None if out.isprintable() else refused_character(out, multiline=multiline)
    if bad is not None:
        i, ch = bad
        zh = label_zh or zh_label(field)
        raise InvalidFieldError(
            field,
            "characters",
            f"character {i} is a control or invisible character (U+{ord(ch):04X})",
            f"{zh}第{i}个字符为控制字符或不可见字符（U+{ord(ch):04X}）",
        )
    if len(out) > max_len:
        zh = label_zh or zh_label(field)
        raise InvalidFieldError(
            field,
            "too_long",
            f"must be at most {max_len} characters, got {len(out)}",
            f"{zh}最多{max_len}个字符，实际为{len(out)}个",
        )
    if out.startswith(FORMULA_START):
        raise _formula(field, out, label_zh)
    return out


def _formula(field: str, value: str, label_zh: str | None) -> InvalidFieldError:
    zh = label_zh or zh_label(field)
    return InvalidFieldError(
        field,
        "formula_text",
        f"must not start with {value[0]!r}, which spreadsheets run as a formula; a real "
        "value never does",
        f"{zh}以“{value[0]}”开头，电子表格会将其当作公式执行；请填写实际内容",
    )


def _required(field: str, label_zh: str | None) -> InvalidFieldError:
    zh = label_zh or zh_label(field)
    return InvalidFieldError(field, "required", "must not be empty", f"{zh}不能为空")


def printable(
    field: str,
    value: str,
    *,
    fits: Callable[[str], bool] | None = None,
    label_zh: str | None = None,
) -> str:
    """Return ``value`` if a certificate can print it, else raise InvalidFieldError.

    A certificate is issued only if it can be printed: never a blank box on the paper,
    nor a line too long for its place (``fits(value)``, by default its line in the fields
    table). A value starting as a spreadsheet formula is refused (``formula_text``).
    """
    if value.startswith(FORMULA_START):  # as ``text`` (for a value it has not judged)
        raise _formula(field, value, label_zh)
    ch = unprintable_character(value)
    if ch is not None:
        zh = label_zh or zh_label(field)
        raise InvalidFieldError(
            field,
            "unprintable",
            f"the character {ch!r} (U+{ord(ch):04X}) is in no certificate font, so it "
            "cannot be printed",
            f"{zh}中的字符“{ch}”（U+{ord(ch):04X}）在证书字体中不存在，无法打印",
        )
    if not (fits(value) if fits is not None else too_wide(field, value) is None):
        zh = label_zh or zh_label(field)
        raise InvalidFieldError(
            field,
            "unprintable",
            "is too long to print on the certificate, even in the smallest type; shorten it",
            f"{zh}过长，以最小字号也无法印在证书上；请缩短",
        )
    return value


def printed_text(field: str, value: object, *, max_len: int, required: bool = True) -> str:
    """Return a text printed in the certificate's fields table (``text``, then
    ``printable``); an absent optional value is ``""``."""
    out = text(field, value, max_len=max_len, required=required)
    return printable(field, out) if out else out


def name(value: object, *, required: bool = True) -> str:
    """Return the holder's name (printed; required unless a form says otherwise)."""
    out = text("name", value, max_len=NAME_MAX, required=required)
    return printable("name", out) if out else out


def subject(value: object) -> str:
    """Return the subject taught (printed, required)."""
    return printable("subject", text("subject", value, max_len=SUBJECT_MAX))


def ethnicity(value: object) -> str | None:
    """Return the ethnicity (printed, optional: None when absent)."""
    return printed_text("ethnicity", value, max_len=ETHNICITY_MAX, required=False) or None
