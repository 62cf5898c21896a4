"""The identity number rule: a text (``required``, ``type``, ``characters``, ``too_long``),
then the credential core's rule for its document type (contract section 2): a resident
identity number by GB 11643 (``length``, ``characters``, ``region``,
``birth_date_invalid``, ``check_digit``) and against the stated birth date and sex when
they are known (``birth_date_mismatch``, ``sex_mismatch``); other documents as 1-32 of
A-Z, 0-9 and '-'. Stored normalised (NFKC, uppercase ``X``).
"""

from __future__ import annotations

import datetime as dt

from credential import IdType, Sex, normalise_id, validate_resident_id
from issuer.fields.texts import text

__all__ = ["ID_NUMBER_MAX", "identity_number"]

ID_NUMBER_MAX = 40


def identity_number(
    value: object,
    kind: IdType | None,
    *,
    birth_date: dt.date | None = None,
    sex: Sex | None = None,
    today: dt.date,
) -> str:
    """Return the normalised number of a document of type ``kind``; with ``kind`` None
    (its type was refused) only the text rule applies. Raises InvalidFieldError."""
    number = text("id_number", value, max_len=ID_NUMBER_MAX)
    if kind is None:
        return number
    if kind is IdType.RESIDENT_ID:
        return validate_resident_id(
            number, birth_date=birth_date, sex=sex, field="id_number", today=today
        )
    return normalise_id(kind, number, field="id_number")
