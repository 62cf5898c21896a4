"""Date rules: a date is a real day written YYYY-MM-DD, from 1900-01-01 to today (the date
in Beijing), and a certification date also within the office's policy.

Refusals: ``date_format`` (not a real date, or not written as one), ``date_out_of_range``
(before the earliest allowed day or after today), and for a certification date compared
with the holder's birth date ``before_birth`` (not after it) and ``under_age`` (before the
holder reaches the office's minimum age). A batch file may spell its dates as Excel
does; it reads them to a day first and then judges the day with these same rules.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from dataclasses import dataclass

from credential import InvalidFieldError
from issuer.fields.errors import zh_label
from issuer.fields.texts import text
from issuer.settings import EARLIEST_DATE, IssuerSettings

__all__ = [
    "EARLIEST_DATE",
    "CertificationPolicy",
    "birthday",
    "certification_age",
    "date_format_error",
    "date_in_range",
    "date_text",
    "iso_date",
]

_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True, slots=True)
class CertificationPolicy:
    """The office's rules for a certification date (``IssuerSettings``): the holder is at
    least ``minimum_age`` years old on it, and it is not before ``earliest``."""

    minimum_age: int = 18
    earliest: dt.date = EARLIEST_DATE

    @classmethod
    def of(cls, settings: IssuerSettings | None) -> CertificationPolicy:
        """Return the policy of ``settings`` (the defaults when None)."""
        if settings is None:
            return _DEFAULT
        return cls(settings.min_certification_age, settings.earliest_certification_date)


_DEFAULT = CertificationPolicy()


def date_format_error(field: str, *, label_zh: str | None = None) -> InvalidFieldError:
    """Return the refusal of a value that is not a real date written YYYY-MM-DD."""
    zh = label_zh or zh_label(field)
    return InvalidFieldError(
        field,
        "date_format",
        "must be a real date written YYYY-MM-DD",
        f"{zh}应为有效日期，格式为YYYY-MM-DD",
    )


def date_text(field: str, value: object) -> str:
    """Return the text a date is written in: the text rule (``required``, ``type``,
    ``characters``); its length is the date format's to judge."""
    return text(field, value, max_len=sys.maxsize)


def iso_date(field: str, value: object) -> dt.date:
    """Return the day written YYYY-MM-DD in ``value`` (surrounding spaces ignored).

    Raises InvalidFieldError: as :func:`date_text`, or ``date_format``.
    """
    written = date_text(field, value)
    if _ISO.fullmatch(written) is None:
        raise date_format_error(field)
    try:
        return dt.date.fromisoformat(written)
    except ValueError:
        raise date_format_error(field) from None


def date_in_range(
    field: str, day: dt.date, *, today: dt.date, earliest: dt.date = EARLIEST_DATE
) -> dt.date:
    """Return ``day`` if it is from ``earliest`` to ``today``; else raise
    InvalidFieldError ``date_out_of_range``."""
    if earliest <= day <= today:
        return day
    zh = zh_label(field)
    if day < earliest:
        raise InvalidFieldError(
            field,
            "date_out_of_range",
            f"must not be before {earliest.isoformat()}, got {day.isoformat()}",
            f"{zh}不能早于{earliest.isoformat()}，实际为{day.isoformat()}",
        )
    raise InvalidFieldError(
        field,
        "date_out_of_range",
        f"must not be after today ({today.isoformat()}), got {day.isoformat()}",
        f"{zh}不能晚于今天（{today.isoformat()}），实际为{day.isoformat()}",
    )


def birthday(birth_date: dt.date, years: int) -> dt.date:
    """Return the day a person born on ``birth_date`` turns ``years`` old (someone born on
    29 February turns it on 1 March when that year has no 29 February)."""
    year = birth_date.year + years
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return dt.date(year, 3, 1)


def certification_age(
    certified_on: dt.date, birth_date: dt.date, policy: CertificationPolicy
) -> dt.date:
    """Return ``certified_on`` if the holder (born ``birth_date``) has the policy's age on
    it; else raise InvalidFieldError on ``certified_on``: ``before_birth`` or ``under_age``."""
    if certified_on <= birth_date:
        raise InvalidFieldError(
            "certified_on",
            "before_birth",
            "certification date must be after the birth date",
            "认定日期应晚于出生日期",
        )
    if policy.minimum_age:
        of_age = birthday(birth_date, policy.minimum_age)
        if certified_on < of_age:
            n = policy.minimum_age
            raise InvalidFieldError(
                "certified_on",
                "under_age",
                f"the holder must be at least {n} years old on the certification date "
                f"(turns {n} on {of_age.isoformat()})",
                f"认定日期时持证人应年满{n}周岁（{of_age.isoformat()}年满{n}周岁）",
            )
    return certified_on
