"""Code rules: a value named from a fixed list (sex, identity document type, qualification
type; a decision's reason code, a restriction's category).

The value is first a text (``required``, ``type``, ``characters``, ``too_long``), then one
of its list: the credential core's parsers accept codes, digits and Chinese names
(``unknown_sex``, ``unknown_id_type``, ``unknown_qualification_type``); the office's own
lists take their codes only (``unknown_reason_code``, ``unknown_category``). A batch
file's number cell (an XLSX 2 for female) goes to the parser as the number it is.
"""

from __future__ import annotations

from collections.abc import Collection

from credential import IdType, InvalidFieldError, QualificationType, Sex
from issuer.fields.errors import zh_label
from issuer.fields.texts import text

__all__ = ["CODE_MAX", "choice", "id_type", "qualification_type", "sex"]

CODE_MAX = 40
SEX_MAX = 10


def sex(value: object) -> Sex:
    """Return the sex named by male/female, m/f, 男/女, 男性/女性 or code 1/2."""
    if type(value) is int:
        return Sex.parse(value, field="sex")
    return Sex.parse(text("sex", value, max_len=SEX_MAX), field="sex")


def id_type(value: object) -> IdType:
    """Return the identity document type named by its code or Chinese name."""
    return IdType.parse(text("id_type", value, max_len=CODE_MAX), field="id_type")


def qualification_type(value: object) -> QualificationType:
    """Return the qualification type named by its code, digit 1-7 or Chinese name."""
    if type(value) is int:
        return QualificationType.parse(value, field="qualification_type")
    return QualificationType.parse(
        text("qualification_type", value, max_len=CODE_MAX), field="qualification_type"
    )


def choice(field: str, value: object, allowed: Collection[str]) -> str:
    """Return ``value`` if it is one of the codes ``allowed`` (surrounding spaces ignored);
    else raise InvalidFieldError ``unknown_<field>``."""
    code = text(field, value, max_len=CODE_MAX)
    if code in allowed:
        return code
    codes = ", ".join(allowed)
    raise InvalidFieldError(
        field,
        f"unknown_{field}",
        f"must be one of: {codes}",
        f"{zh_label(field)}应为以下之一：{codes}",
    )
