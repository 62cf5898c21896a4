"""Identity documents (contract section 2): the document types, GB 11643 resident
identity numbers (MOD 11-2 check digit, the birth date and sex they encode), the other
documents' numbers, the one masking rule and the person key restrictions HMAC."""

from __future__ import annotations

import datetime
import enum
import operator

from ._errors import InvalidFieldError
from ._fieldtext import clean, show, show_char
from ._kinds import Sex

__all__ = [
    "IdType",
    "mask_id",
    "normalise_id",
    "person_key",
    "resident_id_birth_date",
    "resident_id_sex",
    "validate_resident_id",
]


class IdType(enum.StrEnum):
    """证件类型, valued by the contract's codes."""

    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    HK_MO_PASS = "hk_mo_pass"  # noqa: S105 (a document name, not a password)
    TW_PASS = "tw_pass"  # noqa: S105 (a document name, not a password)
    FOREIGN_PERMANENT_RESIDENT = "foreign_permanent_resident"

    @property
    def name_zh(self) -> str:
        """Return the Chinese name of the document."""
        return _ID_TYPE_ZH[self]

    @property
    def name_en(self) -> str:
        """Return the English name of the document, e.g. ``Resident identity card``."""
        return _ID_TYPE_EN[self]

    def name_in(self, lang: str) -> str:
        """Return the document's name in ``lang`` (``zh``, else English), never its code."""
        return self.name_zh if lang == "zh" else self.name_en

    @classmethod
    def parse(cls, value: str, field: str = "id_type") -> IdType:
        """Return the type named by its code or Chinese label.

        Raises InvalidFieldError (code ``unknown_id_type``) for anything else.
        """
        if isinstance(value, IdType):
            return value
        found = _ID_TYPE_LOOKUP.get(clean(value)) if isinstance(value, str) else None
        if found is None:
            raise InvalidFieldError(
                field,
                "unknown_id_type",
                f"unknown identity document type '{show(value)}'; expected resident_id, "
                "passport, hk_mo_pass, tw_pass or foreign_permanent_resident",
                f"无法识别的证件类型“{show(value)}”；应为居民身份证、护照、"
                "港澳居民来往内地通行证、台湾居民来往大陆通行证或外国人永久居留身份证",
            )
        return found


_ID_TYPE_ZH: dict[IdType, str] = {
    IdType.RESIDENT_ID: "居民身份证",
    IdType.PASSPORT: "护照",
    IdType.HK_MO_PASS: "港澳居民来往内地通行证",
    IdType.TW_PASS: "台湾居民来往大陆通行证",
    IdType.FOREIGN_PERMANENT_RESIDENT: "外国人永久居留身份证",
}

# The names pages show in English (the codes themselves never reach a page).
_ID_TYPE_EN: dict[IdType, str] = {
    IdType.RESIDENT_ID: "Resident identity card",
    IdType.PASSPORT: "Passport",
    IdType.HK_MO_PASS: "Mainland travel permit (Hong Kong, Macao)",
    IdType.TW_PASS: "Mainland travel permit (Taiwan)",
    IdType.FOREIGN_PERMANENT_RESIDENT: "Foreign permanent resident ID card",
}

_ID_TYPE_LOOKUP: dict[str, IdType] = {clean(t.value): t for t in IdType}
_ID_TYPE_LOOKUP.update(
    {
        "居民身份证": IdType.RESIDENT_ID,
        "身份证": IdType.RESIDENT_ID,
        "护照": IdType.PASSPORT,
        "港澳居民来往内地通行证": IdType.HK_MO_PASS,
        "港澳居民居住证": IdType.HK_MO_PASS,
        "台湾居民来往大陆通行证": IdType.TW_PASS,
        "台湾居民居住证": IdType.TW_PASS,
        "外国人永久居留身份证": IdType.FOREIGN_PERMANENT_RESIDENT,
        "外国人永久居留证": IdType.FOREIGN_PERMANENT_RESIDENT,
    }
)

# GB/T 2260 province-level prefixes (plus 83: residence permits for Taiwan residents,
# 91: foreigners' permanent residence).
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83 91".split()
)
_GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_GB11643_CHECK = "10X98765432"
_GB11643_OFFSET = 48 * sum(_GB11643_WEIGHTS)
_EARLIEST_BIRTH = datetime.date(1900, 1, 1)


def _resident_id_check(first17: str) -> str:
    """Return the GB 11643 MOD 11-2 check character for 17 digits."""
    if len(first17) == 17 and first17.isascii() and first17.isdigit():
        # on the ASCII codes: each digit's code is 48 more than its value
        total = sum(map(operator.mul, first17.encode("ascii"), _GB11643_WEIGHTS))
        return _GB11643_CHECK[(total - _GB11643_OFFSET) % 11]
    total = sum(int(d) * w for d, w in zip(first17, _GB11643_WEIGHTS, strict=True))
    return _GB11643_CHECK[total % 11]


def _resident_id_format(
    number: str, *, field: str, today: datetime.date | None
) -> tuple[str, datetime.date]:
    """Return (normalised number, birth date) after the format checks of GB 11643."""
    s = clean(number)
    if len(s) != 18:
        raise InvalidFieldError(
            field,
            "length",
            f"resident identity number must be 18 characters, got {len(s)}",
            f"居民身份证号码应为18位，实际为{len(s)}位",
        )
    head = s[:17]
    if not (head.isascii() and head.isdigit()):  # else all 17 are 0-9; name the first not
        for i, ch in enumerate(head, start=1):
            if not ("0" <= ch <= "9"):
                raise InvalidFieldError(
                    field,
                    "characters",
                    f"characters 1-17 of a resident identity number must be digits; "
                    f"character {i} is {show_char(ch)}",
                    f"居民身份证号码前17位应为数字；第{i}位为{show_char(ch)}",
                )
    if not ("0" <= s[17] <= "9" or s[17] == "X"):
        raise InvalidFieldError(
            field,
            "characters",
            f"character 18 of a resident identity number must be a digit or X, "
            f"got {show_char(s[17])}",
            f"居民身份证号码第18位应为数字或X，实际为{show_char(s[17])}",
        )
    if s[:2] not in _PROVINCES:
        raise InvalidFieldError(
            field,
            "region",
            f"region code starts with {s[:2]}, which is not a province code of GB/T 2260",
            f"地址码前两位{s[:2]}不是GB/T 2260中的省级代码",
        )
    y, m, d = int(s[6:10]), int(s[10:12]), int(s[12:14])
    shown = f"{s[6:10]}-{s[10:12]}-{s[12:14]}"
    try:
        birth = datetime.date(y, m, d)
    except ValueError:
        raise InvalidFieldError(
            field,
            "birth_date_invalid",
            f"birth date in the number ({shown}, characters 7-14) is not a real date",
            f"号码中的出生日期（{shown}，第7至14位）不是有效日期",
        ) from None
    if birth < _EARLIEST_BIRTH:
        raise InvalidFieldError(
            field,
            "birth_date_invalid",
            f"birth date in the number ({shown}) is before 1900-01-01",
            f"号码中的出生日期（{shown}）早于1900-01-01",
        )
    if birth > (today or datetime.date.today()):
        raise InvalidFieldError(
            field,
            "birth_date_invalid",
            f"birth date in the number ({shown}) is in the future",
            f"号码中的出生日期（{shown}）晚于今天",
        )
    expected = _resident_id_check(s[:17])
    if s[17] != expected:
        raise InvalidFieldError(
            field,
            "check_digit",
            f"check digit should be {expected}, got {s[17]}",
            f"校验码应为{expected}，实际为{s[17]}",
        )
    return s, birth


def validate_resident_id(
    number: str,
    *,
    birth_date: datetime.date | None = None,
    sex: Sex | None = None,
    field: str = "id_number",
    today: datetime.date | None = None,
) -> str:
    """Return the normalised GB 11643 number (stripped, NFKC, ``x`` -> ``X``).

    Checks in order: length, characters, region, birth date (real, 1900 to ``today``,
    default the system date), check digit, then the stated ``birth_date`` and ``sex``.
    Raises InvalidFieldError with code ``length``, ``characters``, ``region``,
    ``birth_date_invalid``, ``check_digit``, ``birth_date_mismatch`` or ``sex_mismatch``.
    """
    s, birth = _resident_id_format(number, field=field, today=today)
    if birth_date is not None and birth != birth_date:
        raise InvalidFieldError(
            field,
            "birth_date_mismatch",
            f"birth date in the number ({birth.isoformat()}) does not match the stated "
            f"birth date ({birth_date.isoformat()})",
            f"号码中的出生日期（{birth.isoformat()}）与填写的出生日期"
            f"（{birth_date.isoformat()}）不一致",
        )
    if sex is not None:
        coded = Sex.MALE if int(s[16]) % 2 == 1 else Sex.FEMALE
        if coded is not sex:
            parity, parity_zh = ("odd", "奇数") if coded is Sex.MALE else ("even", "偶数")
            raise InvalidFieldError(
                field,
                "sex_mismatch",
                f"character 17 of the number is {parity} ({coded.value}) but the stated "
                f"sex is {sex.value}",
                f"号码第17位为{parity_zh}（{coded.name_zh}），与填写的性别（{sex.name_zh}）不一致",
            )
    return s


def resident_id_birth_date(number: str, *, field: str = "id_number") -> datetime.date:
    """Return the birth date coded in a valid resident identity number.

    Raises InvalidFieldError as :func:`validate_resident_id`.
    """
    return _resident_id_format(number, field=field, today=None)[1]


def resident_id_sex(number: str, *, field: str = "id_number") -> Sex:
    """Return the sex coded in a valid resident identity number (17th digit odd = male).

    Raises InvalidFieldError as :func:`validate_resident_id`.
    """
    s = _resident_id_format(number, field=field, today=None)[0]
    return Sex.MALE if int(s[16]) % 2 == 1 else Sex.FEMALE


_OTHER_ID_MAX = 32


def normalise_id(
    id_type: IdType,
    number: str,
    *,
    birth_date: datetime.date | None = None,
    sex: Sex | None = None,
    field: str = "id_number",
) -> str:
    """Return the normalised document number for ``id_type``.

    A resident_id goes through :func:`validate_resident_id` (with ``birth_date`` and
    ``sex``); other documents are stripped, uppercased and must be 1-32 characters of
    A-Z, 0-9 and '-'. Raises InvalidFieldError (codes as validate_resident_id, or
    ``length`` / ``characters``).
    """
    if id_type is IdType.RESIDENT_ID:
        return validate_resident_id(number, birth_date=birth_date, sex=sex, field=field)
    s = clean(number)
    if not 1 <= len(s) <= _OTHER_ID_MAX:
        raise InvalidFieldError(
            field,
            "length",
            f"document number must be 1-{_OTHER_ID_MAX} characters, got {len(s)}",
            f"证件号码应为1至{_OTHER_ID_MAX}位，实际为{len(s)}位",
        )
    for i, ch in enumerate(s, start=1):
        if not ("0" <= ch <= "9" or "A" <= ch <= "Z" or ch == "-"):
            raise InvalidFieldError(
                field,
                "characters",
                f"document number allows only A-Z, 0-9 and '-'; character {i} is {show_char(ch)}",
                f"证件号码只允许 A-Z、0-9 和“-”；第{i}位为{show_char(ch)}",
            )
    return s


def mask_id(number: str) -> str:
    """Return ``number`` masked the one way used everywhere: first 3 and last 4 kept.

    ``110105197609062469`` -> ``110***********2469``; 7 characters or fewer become all ``*``.
    """
    s = clean(number)
    if len(s) <= 7:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 7) + s[-4:]


def person_key(id_type: IdType, number: str) -> bytes:
    """Return ``b"<id_type>:<normalised number>"``, the message HMACed for restrictions.

    Raises InvalidFieldError if the number fails its format (birth date and sex are not
    compared).
    """
    return f"{id_type.value}:{normalise_id(id_type, number)}".encode()
