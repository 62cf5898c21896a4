"""What an account request's fields must be: login names, display names, choices from a
list. Each rule returns the value it accepts or raises ValidationFailed naming the field,
with a code and the message in English and Chinese; ``fields`` gathers every field's
failure into one error.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from credential import InvalidFieldError
from issuer.errors import Conflict
from issuer.fields import FieldError, ValidationFailed, text

__all__ = ["DISPLAY_MAX", "choice", "display_name", "fields", "login_name", "taken"]

DISPLAY_MAX = 100
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def login_name(field: str, value: object, label_zh: str) -> str:
    """Return ``value`` as a login name (lower case, 1-64 of a-z, 0-9, '.', '_', '-')."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if not text:
        raise ValidationFailed(
            [FieldError(field, "required", "must not be empty", f"{label_zh}不能为空")]
        )
    if not _NAME.fullmatch(text):
        raise ValidationFailed(
            [
                FieldError(
                    field,
                    "format",
                    "must be 1-64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
                    f"{label_zh}应为1至64个小写字母、数字或“._-”，且以字母或数字开头",
                )
            ]
        )
    return text


def display_name(value: object) -> str:
    """Return ``value`` as a person's display name, judged by the text rule every field an
    office sends has (``issuer.fields.text``: NFC, stripped, no control or invisible
    characters, at most ``DISPLAY_MAX`` characters); raises ValidationFailed."""
    try:
        return text("display_name", value, max_len=DISPLAY_MAX, label_zh="姓名")
    except InvalidFieldError as exc:
        raise ValidationFailed([FieldError.of(exc)]) from None


def choice(field: str, value: object, allowed: tuple[str, ...], label_zh: str) -> str:
    """Return ``value`` if it is one of ``allowed`` (code ``unknown_<field>`` otherwise)."""
    if isinstance(value, str) and value.strip() in allowed:
        return value.strip()
    raise ValidationFailed(
        [
            FieldError(
                field,
                "unknown_" + field,
                f"must be one of {', '.join(allowed)}",
                f"{label_zh}应为以下之一：{'、'.join(allowed)}",
            )
        ]
    )


def fields(**checks: Callable[[], str]) -> dict[str, str]:
    """Return each check's value by field name, or raise ValidationFailed naming every
    field that failed."""
    errors: list[FieldError] = []
    out: dict[str, str] = {}
    for name, check in checks.items():
        try:
            out[name] = check()
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return out


def taken(field: str, value: str, what: str, what_zh: str) -> Conflict:
    """Return the Conflict for a unique name already in use."""
    return Conflict(
        f"The {field} is already taken",
        f"{field}已被占用",
        f"{field}: there is already {what} named {value!r}",
        f"{field}：已存在名为“{value}”的{what_zh}",
    )
