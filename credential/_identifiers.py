"""Identifiers of contract section 2: certificate numbers, e-licence identifiers,
qualification types, sexes and identity documents.

Pure functions over strings: standard library only, no I/O. Every rejection is an
:class:`InvalidFieldError` with a stable ``code`` and a message in English and Chinese that
names the defect. Messages never repeat a whole identity number (personal data); at most
the offending character, position or date.
"""

from __future__ import annotations

import datetime
import enum
import functools
import operator
import re
import unicodedata
from dataclasses import dataclass
from typing import TypeGuard

from credential._errors import InvalidFieldError

__all__ = [
    "ELICENCE_ROOT",
    "CertificateNumber",
    "ElicenceId",
    "IdType",
    "QualificationType",
    "Sex",
    "elicence_id",
    "mask_id",
    "mod37_36_check",
    "mod37_36_is_valid",
    "normalise_id",
    "parse_elicence_id",
    "person_key",
    "resident_id_birth_date",
    "resident_id_sex",
    "validate_resident_id",
]


def _clean(text: str) -> str:
    """Return ``text`` in NFKC form (full-width digits become ASCII), stripped, uppercased."""
    return unicodedata.normalize("NFKC", text).strip().upper()


def _show(value: object, limit: int = 40) -> str:
    """Return a short printable rendering of a rejected value for a message."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return "".join(ch if ch.isprintable() else f"U+{ord(ch):04X}" for ch in text)


def _show_char(ch: str) -> str:
    """Return one character quoted, or as U+XXXX when it is not printable."""
    return f"'{ch}'" if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"


def _is_int(value: object) -> TypeGuard[int]:
    """Return True for a real ``int`` (``bool`` excluded)."""
    return isinstance(value, int) and not isinstance(value, bool)


_ASCII_DIGITS = re.compile(r"[0-9]+")


def _all_digits(text: str) -> bool:
    """Return True when ``text`` is non-empty and only ASCII digits."""
    return _ASCII_DIGITS.fullmatch(text) is not None


# --------------------------------------------------------------------------------------
# Qualification types and sex
# --------------------------------------------------------------------------------------


class QualificationType(enum.IntEnum):
    """资格种类: the seven teacher-qualification types, valued by their digit 1-7."""

    KINDERGARTEN = 1
    PRIMARY = 2
    JUNIOR_MIDDLE = 3
    SENIOR_MIDDLE = 4
    SECONDARY_VOCATIONAL = 5
    VOCATIONAL_PRACTICE = 6
    HIGHER_EDUCATION = 7

    @property
    def slug(self) -> str:
        """Return the contract's English code, e.g. ``junior_middle``."""
        return self.name.lower()

    @property
    def short_zh(self) -> str:
        """Return the Chinese short name, e.g. ``初级中学``."""
        return _QT_SHORT_ZH[self]

    @property
    def name_zh(self) -> str:
        """Return the full Chinese name, e.g. ``初级中学教师资格``."""
        return _QT_SHORT_ZH[self] + "教师资格"

    @classmethod
    def parse(cls, value: str | int, field: str = "qualification_type") -> QualificationType:
        """Return the type named by ``value``: slug, digit (int or text), or Chinese name.

        Raises InvalidFieldError (code ``unknown_qualification_type``) for anything else.
        """
        if isinstance(value, QualificationType):
            return value
        if _is_int(value):
            if 1 <= value <= 7:
                return cls(value)
        elif isinstance(value, str):
            found = _QT_LOOKUP.get(_clean(value))
            if found is not None:
                return found
        raise InvalidFieldError(
            field,
            "unknown_qualification_type",
            f"unknown qualification type '{_show(value)}'; expected 1-7, a code such as "
            "junior_middle, or a Chinese name such as 初级中学",
            f"未知的资格种类“{_show(value)}”；应为1至7、英文代码（如 junior_middle）"
            "或中文名称（如 初级中学）",
        )


_QT_SHORT_ZH: dict[QualificationType, str] = {
    QualificationType.KINDERGARTEN: "幼儿园",
    QualificationType.PRIMARY: "小学",
    QualificationType.JUNIOR_MIDDLE: "初级中学",
    QualificationType.SENIOR_MIDDLE: "高级中学",
    QualificationType.SECONDARY_VOCATIONAL: "中等职业学校",
    QualificationType.VOCATIONAL_PRACTICE: "中等职业学校实习指导",
    QualificationType.HIGHER_EDUCATION: "高等学校",
}

_QT_LOOKUP: dict[str, QualificationType] = {}
for _qt in QualificationType:
    for _spelling in (
        _qt.slug,
        str(_qt.value),
        _qt.short_zh,
        _qt.short_zh + "教师",
        _qt.name_zh,
    ):
        _QT_LOOKUP[_clean(_spelling)] = _qt
del _qt, _spelling


class Sex(enum.StrEnum):
    """性别, valued ``male`` / ``female``."""

    MALE = "male"
    FEMALE = "female"

    @property
    def code(self) -> int:
        """Return the GB/T 2261.1 code: 1 male, 2 female."""
        return 1 if self is Sex.MALE else 2

    @property
    def name_zh(self) -> str:
        """Return ``男`` or ``女``."""
        return "男" if self is Sex.MALE else "女"

    @classmethod
    def parse(cls, value: str | int, field: str = "sex") -> Sex:
        """Return the sex named by male/female, m/f, 男/女, 男性/女性 or code 1/2.

        Raises InvalidFieldError (code ``unknown_sex``) for anything else.
        """
        if isinstance(value, Sex):
            return value
        key: str | None = None
        if _is_int(value):
            key = str(value)
        elif isinstance(value, str):
            key = _clean(value)
        found = _SEX_LOOKUP.get(key) if key is not None else None
        if found is None:
            raise InvalidFieldError(
                field,
                "unknown_sex",
                f"unknown sex '{_show(value)}'; expected male, female, 男, 女, 1 or 2",
                f"无法识别的性别“{_show(value)}”；应为 男、女、male、female、1 或 2",
            )
        return found


_SEX_LOOKUP: dict[str, Sex] = {
    "MALE": Sex.MALE,
    "M": Sex.MALE,
    "男": Sex.MALE,
    "男性": Sex.MALE,
    "1": Sex.MALE,
    "FEMALE": Sex.FEMALE,
    "F": Sex.FEMALE,
    "女": Sex.FEMALE,
    "女性": Sex.FEMALE,
    "2": Sex.FEMALE,
}


# --------------------------------------------------------------------------------------
# Certificate number (证书号码)
# --------------------------------------------------------------------------------------

_CERT_LEN = 17


def _check_cert_parts(
    *,
    year: object,
    province: object,
    office: object,
    qualification_type: object,
    sex_code: object,
    serial: object,
    field: str | None,
) -> None:
    """Raise InvalidFieldError for the first part out of its range.

    ``field`` names every error; when None, each error names its own part.
    """
    if not (_is_int(year) and 1900 <= year <= 2999):
        raise InvalidFieldError(
            field or "year",
            "year_out_of_range",
            f"certification year must be 1900-2999, got {_show(year)}",
            f"认定年份应在1900至2999之间，实际为{_show(year)}",
        )
    if not (isinstance(province, str) and len(province) == 2 and _all_digits(province)):
        raise InvalidFieldError(
            field or "province",
            "province_format",
            f"province code must be 2 digits, got '{_show(province)}'",
            f"省级代码应为2位数字，实际为“{_show(province)}”",
        )
    if int(province) < 11:
        raise InvalidFieldError(
            field or "province",
            "province_out_of_range",
            f"province code must be 11-99, got {province}",
            f"省级代码应在11至99之间，实际为{province}",
        )
    if not (isinstance(office, str) and len(office) == 3 and _all_digits(office)):
        raise InvalidFieldError(
            field or "office",
            "office_format",
            f"office code must be 3 digits, got '{_show(office)}'",
            f"认定机构代码应为3位数字，实际为“{_show(office)}”",
        )
    if not (_is_int(qualification_type) and 1 <= qualification_type <= 7):
        raise InvalidFieldError(
            field or "qualification_type",
            "unknown_qualification_type",
            f"qualification type digit must be 1-7, got {_show(qualification_type)}",
            f"资格种类代码应为1至7，实际为{_show(qualification_type)}",
        )
    if not (_is_int(sex_code) and 0 <= sex_code <= 2):
        raise InvalidFieldError(
            field or "sex_code",
            "sex_code_out_of_range",
            f"sex code must be 0, 1 or 2, got {_show(sex_code)}",
            f"性别代码应为0、1或2，实际为{_show(sex_code)}",
        )
    if not (_is_int(serial) and 1 <= serial <= 999_999):
        raise InvalidFieldError(
            field or "serial",
            "serial_out_of_range",
            f"serial must be 1-999999, got {_show(serial)}",
            f"流水号应在1至999999之间，实际为{_show(serial)}",
        )


@dataclass(frozen=True, slots=True)
class CertificateNumber:
    """证书号码: ``YYYY PP AAA T S NNNNNN``, 17 digits, no check digit.

    Constructing one directly validates every part (sex code 0-2 allowed, as in old
    numbers); :meth:`build` is for issuing (sex code 1 or 2), :meth:`parse` for reading.
    """

    year: int
    province: str
    office: str
    qualification_type: QualificationType
    sex_code: int
    serial: int

    def __post_init__(self) -> None:
        """Validate the parts; raises InvalidFieldError naming the part."""
        _check_cert_parts(
            year=self.year,
            province=self.province,
            office=self.office,
            qualification_type=self.qualification_type,
            sex_code=self.sex_code,
            serial=self.serial,
            field=None,
        )
        if not isinstance(self.qualification_type, QualificationType):
            object.__setattr__(
                self, "qualification_type", QualificationType(self.qualification_type)
            )

    @classmethod
    def build(
        cls,
        *,
        year: int,
        province: str,
        office: str,
        qualification_type: QualificationType | str | int,
        sex: Sex | str,
        serial: int,
    ) -> CertificateNumber:
        """Return a new number for issuing (sex code 1 or 2).

        Raises InvalidFieldError naming the part (``year``, ``province``, ``office``,
        ``qualification_type``, ``sex`` or ``serial``) that is out of range.
        """
        qt = QualificationType.parse(qualification_type)
        sex_ = Sex.parse(sex)
        return cls(
            year=year,
            province=province,
            office=office,
            qualification_type=qt,
            sex_code=sex_.code,
            serial=serial,
        )

    @classmethod
    def parse(cls, text: str, field: str = "certificate_number") -> CertificateNumber:
        """Return the number read from ``text`` (17 digits; sex code 0-2 accepted).

        Raises InvalidFieldError with code ``length``, ``characters``,
        ``year_out_of_range``, ``province_out_of_range``, ``unknown_qualification_type``,
        ``sex_code_out_of_range`` or ``serial_out_of_range``.
        """
        s = _clean(text)
        if len(s) != _CERT_LEN:
            raise InvalidFieldError(
                field,
                "length",
                f"certificate number must be {_CERT_LEN} digits, got {len(s)} characters",
                f"证书号码应为{_CERT_LEN}位数字，实际为{len(s)}位",
            )
        for i, ch in enumerate(s, start=1):
            if not ("0" <= ch <= "9"):
                raise InvalidFieldError(
                    field,
                    "characters",
                    f"certificate number must be digits only; character {i} is {_show_char(ch)}",
                    f"证书号码只能由数字组成；第{i}位为{_show_char(ch)}",
                )
        year, province, office = int(s[0:4]), s[4:6], s[6:9]
        qt, sex_code, serial = int(s[9]), int(s[10]), int(s[11:17])
        _check_cert_parts(
            year=year,
            province=province,
            office=office,
            qualification_type=qt,
            sex_code=sex_code,
            serial=serial,
            field=field,
        )
        return cls(
            year=year,
            province=province,
            office=office,
            qualification_type=QualificationType(qt),
            sex_code=sex_code,
            serial=serial,
        )

    @classmethod
    def build_text(
        cls,
        *,
        year: int,
        province: str,
        office: str,
        qualification_type: QualificationType,
        sex: Sex,
        serial: int,
    ) -> str:
        """Return ``str(CertificateNumber.build(...))``, the same checks, faster for a run
        of numbers (everything but the serial is checked once per combination)."""
        if type(serial) is int and 1 <= serial <= 999_999:
            return _number_prefix(year, province, office, qualification_type, sex) + (
                f"{serial:06d}"
            )
        return str(
            cls.build(
                year=year,
                province=province,
                office=office,
                qualification_type=qualification_type,
                sex=sex,
                serial=serial,
            )
        )

    @property
    def sex(self) -> Sex | None:
        """Return the sex coded in the number, or None for the old code 0."""
        return {1: Sex.MALE, 2: Sex.FEMALE}.get(self.sex_code)

    def __str__(self) -> str:
        """Return the 17 digits."""
        return (
            f"{self.year:04d}{self.province}{self.office}{int(self.qualification_type)}"
            f"{self.sex_code}{self.serial:06d}"
        )


@functools.lru_cache(maxsize=256)
def _number_prefix(
    year: int, province: str, office: str, qualification_type: QualificationType, sex: Sex
) -> str:
    """Return the first 11 digits of the numbers ``build`` makes from these parts (checked
    by building one; the serial is the only part that varies in a round)."""
    number = CertificateNumber.build(
        year=year,
        province=province,
        office=office,
        qualification_type=qualification_type,
        sex=sex,
        serial=1,
    )
    return str(number)[:11]


# --------------------------------------------------------------------------------------
# E-licence identifier (证照标识, GB/T 36904) and ISO/IEC 7064 MOD 37,36
# --------------------------------------------------------------------------------------

ELICENCE_ROOT = "1.2.156.3005.2"

_M36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_M36_VALUE = {ch: i for i, ch in enumerate(_M36)}


def _mod37_36_state(s: str, field: str, p: int = 36) -> int:
    """Return the running product p after ``s`` (starting from ``p``, by default 36)."""
    for i, ch in enumerate(s, start=1):
        v = _M36_VALUE.get(ch)
        if v is None:
            raise InvalidFieldError(
                field,
                "characters",
                f"only 0-9 and A-Z are allowed; character {i} is {_show_char(ch)}",
                f"只允许 0-9 和 A-Z；第{i}位为{_show_char(ch)}",
            )
        t = (p + v) % 36 or 36
        p = (t * 2) % 37
    return p


def mod37_36_check(s: str) -> str:
    """Return the ISO/IEC 7064 MOD 37,36 check character (from 0-9A-Z) for ``s``.

    Raises InvalidFieldError (code ``characters``) if ``s`` holds anything but 0-9A-Z.
    """
    return _M36[(1 - _mod37_36_state(s, "elicence_id")) % 36]


def mod37_36_is_valid(s: str) -> bool:
    """Return True if the last character of ``s`` is the MOD 37,36 check of the rest."""
    if not s or any(ch not in _M36_VALUE for ch in s):
        return False
    p = _mod37_36_state(s[:-1], "elicence_id")
    return (p + _M36_VALUE[s[-1]]) % 36 == 1


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_TYPE_CODE_LEN = 21
_USCC_LEN = 18
_SERIAL_MAX = 32


def _check_alnum(value: str, *, field: str, part: str, part_zh: str, length: int | None) -> None:
    """Raise InvalidFieldError unless ``value`` is 0-9A-Z of the given (or 1-32) length."""
    if length is not None and len(value) != length:
        raise InvalidFieldError(
            field,
            f"{part}_length",
            f"{part.replace('_', ' ')} must be {length} characters, got {len(value)}",
            f"{part_zh}应为{length}位，实际为{len(value)}位",
        )
    if length is None and not 1 <= len(value) <= _SERIAL_MAX:
        raise InvalidFieldError(
            field,
            f"{part}_length",
            f"{part.replace('_', ' ')} must be 1-{_SERIAL_MAX} characters, got {len(value)}",
            f"{part_zh}应为1至{_SERIAL_MAX}位，实际为{len(value)}位",
        )
    for i, ch in enumerate(value, start=1):
        if ch not in _M36_VALUE:
            raise InvalidFieldError(
                field,
                f"{part}_characters",
                f"{part.replace('_', ' ')} allows only 0-9 and A-Z; "
                f"character {i} is {_show_char(ch)}",
                f"{part_zh}只允许 0-9 和 A-Z；第{i}位为{_show_char(ch)}",
            )


def _check_uscc(uscc: str, field: str) -> None:
    """Raise InvalidFieldError unless ``uscc`` is a GB 32100 code with a correct check."""
    if len(uscc) != _USCC_LEN:
        raise InvalidFieldError(
            field,
            "issuer_uscc_length",
            f"issuer unified social credit code must be {_USCC_LEN} characters, got {len(uscc)}",
            f"发证机构统一社会信用代码应为{_USCC_LEN}位，实际为{len(uscc)}位",
        )
    for i, ch in enumerate(uscc, start=1):
        if ch not in _USCC_ALPHABET:
            raise InvalidFieldError(
                field,
                "issuer_uscc_characters",
                "issuer unified social credit code allows only 0-9 and A-Z without "
                f"I, O, S, V, Z; character {i} is {_show_char(ch)}",
                "发证机构统一社会信用代码只允许 0-9 和除 I、O、S、V、Z 以外的大写字母；"
                f"第{i}位为{_show_char(ch)}",
            )
    total = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(uscc, _USCC_WEIGHTS, strict=False))
    expected = _USCC_ALPHABET[(31 - total % 31) % 31]
    if uscc[17] != expected:
        raise InvalidFieldError(
            field,
            "issuer_uscc_check_digit",
            f"issuer unified social credit code check character should be {expected}, "
            f"got {uscc[17]}",
            f"发证机构统一社会信用代码校验码应为{expected}，实际为{uscc[17]}",
        )


def _check_version(version: object, field: str) -> None:
    """Raise InvalidFieldError unless ``version`` is an int 1-999."""
    if not (_is_int(version) and 1 <= version <= 999):
        raise InvalidFieldError(
            field,
            "version_out_of_range",
            f"version must be 1-999, got {_show(version)}",
            f"版本号应在1至999之间，实际为{_show(version)}",
        )


@dataclass(frozen=True, slots=True)
class ElicenceId:
    """The parts of an e-licence identifier; ``str()`` gives the full identifier."""

    type_code: str
    issuer_uscc: str
    serial: str
    version: int
    check: str

    def __str__(self) -> str:
        """Return ``1.2.156.3005.2.<type>.<uscc>.<serial>.<version>.<check>``."""
        return (
            f"{ELICENCE_ROOT}.{self.type_code}.{self.issuer_uscc}.{self.serial}."
            f"{self.version:03d}.{self.check}"
        )


def elicence_id(
    *, type_code: str, issuer_uscc: str, serial: str | CertificateNumber, version: int
) -> str:
    """Return the GB/T 36904 identifier with its MOD 37,36 check character.

    ``type_code`` is 21 characters of 0-9A-Z, ``issuer_uscc`` a valid 18-character unified
    social credit code, ``serial`` 1-32 characters of 0-9A-Z (normally the certificate
    number), ``version`` 1-999. Raises InvalidFieldError naming the offending argument.
    """
    tc, uscc, state = _office_prefix(type_code, issuer_uscc)
    if (
        type(serial) is str
        and len(serial) == _CERT_LEN
        and serial.isascii()
        and serial.isdigit()
        and type(version) is int
        and 1 <= version <= 999
    ):
        # A certificate number (17 ASCII digits: _clean leaves it as it is, and it is
        # 0-9A-Z of 1-32 characters): the state after its first 11 digits, which a
        # round's numbers share, is worked out once.
        sn = serial
        state = _prefix_state(state, sn[:11])
        rest = sn[11:]
    else:
        sn = _clean(str(serial))
        _check_alnum(sn, field="serial", part="serial", part_zh="流水号", length=None)
        _check_version(version, "version")
        rest = sn
    ver = f"{version:03d}"
    check = _M36[(1 - _mod37_36_state(rest + ver, "elicence_id", state)) % 36]
    return f"{ELICENCE_ROOT}.{tc}.{uscc}.{sn}.{ver}.{check}"


@functools.lru_cache(maxsize=256)
def _prefix_state(state: int, prefix: str) -> int:
    return _mod37_36_state(prefix, "elicence_id", state)


@functools.lru_cache(maxsize=64)
def _office_prefix(type_code: str, issuer_uscc: str) -> tuple[str, str, int]:
    # An office issues tens of thousands of identifiers with the same type code and
    # issuer code: validate them, and run the check over them, once.
    tc = _clean(type_code)
    uscc = _clean(issuer_uscc)
    _check_alnum(
        tc, field="type_code", part="type_code", part_zh="证照类型代码", length=_TYPE_CODE_LEN
    )
    _check_uscc(uscc, "issuer_uscc")
    return tc, uscc, _mod37_36_state(tc + uscc, "elicence_id")


def parse_elicence_id(text: str, field: str = "elicence_id") -> ElicenceId:
    """Return the parts of an e-licence identifier after checking lengths and check character.

    Raises InvalidFieldError with code ``root``, ``parts``, ``type_code_length``,
    ``type_code_characters``, ``issuer_uscc_length``, ``issuer_uscc_characters``,
    ``issuer_uscc_check_digit``, ``serial_length``, ``serial_characters``,
    ``version_format``, ``version_out_of_range`` or ``check_character``.
    """
    s = _clean(text)
    prefix = ELICENCE_ROOT + "."
    if not s.startswith(prefix):
        raise InvalidFieldError(
            field,
            "root",
            f"e-licence identifier must start with {ELICENCE_ROOT}",
            f"电子证照标识应以 {ELICENCE_ROOT} 开头",
        )
    parts = s[len(prefix) :].split(".")
    if len(parts) != 5:
        raise InvalidFieldError(
            field,
            "parts",
            "e-licence identifier must have 5 dot-separated parts after the root "
            f"(type code, issuer code, serial, version, check), got {len(parts)}",
            f"电子证照标识在根代码之后应有5段（类型代码、发证机构代码、流水号、版本号、校验位），"
            f"实际为{len(parts)}段",
        )
    tc, uscc, sn, ver, check = parts
    _check_alnum(tc, field=field, part="type_code", part_zh="证照类型代码", length=_TYPE_CODE_LEN)
    _check_uscc(uscc, field)
    _check_alnum(sn, field=field, part="serial", part_zh="流水号", length=None)
    if not (len(ver) == 3 and _all_digits(ver)):
        raise InvalidFieldError(
            field,
            "version_format",
            f"version must be 3 digits, got '{_show(ver)}'",
            f"版本号应为3位数字，实际为“{_show(ver)}”",
        )
    _check_version(int(ver), field)
    expected = mod37_36_check(tc + uscc + sn + ver)
    if check != expected:
        raise InvalidFieldError(
            field,
            "check_character",
            f"check character should be {expected}, got {_show(check)}",
            f"校验位应为{expected}，实际为{_show(check)}",
        )
    return ElicenceId(type_code=tc, issuer_uscc=uscc, serial=sn, version=int(ver), check=check)


# --------------------------------------------------------------------------------------
# Identity documents
# --------------------------------------------------------------------------------------


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

    @classmethod
    def parse(cls, value: str, field: str = "id_type") -> IdType:
        """Return the type named by its code or Chinese label.

        Raises InvalidFieldError (code ``unknown_id_type``) for anything else.
        """
        if isinstance(value, IdType):
            return value
        found = _ID_TYPE_LOOKUP.get(_clean(value)) if isinstance(value, str) else None
        if found is None:
            raise InvalidFieldError(
                field,
                "unknown_id_type",
                f"unknown identity document type '{_show(value)}'; expected resident_id, "
                "passport, hk_mo_pass, tw_pass or foreign_permanent_resident",
                f"无法识别的证件类型“{_show(value)}”；应为居民身份证、护照、"
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

_ID_TYPE_LOOKUP: dict[str, IdType] = {_clean(t.value): t for t in IdType}
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
    s = _clean(number)
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
                    f"character {i} is {_show_char(ch)}",
                    f"居民身份证号码前17位应为数字；第{i}位为{_show_char(ch)}",
                )
    if not ("0" <= s[17] <= "9" or s[17] == "X"):
        raise InvalidFieldError(
            field,
            "characters",
            f"character 18 of a resident identity number must be a digit or X, "
            f"got {_show_char(s[17])}",
            f"居民身份证号码第18位应为数字或X，实际为{_show_char(s[17])}",
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
    s = _clean(number)
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
                f"document number allows only A-Z, 0-9 and '-'; character {i} is {_show_char(ch)}",
                f"证件号码只允许 A-Z、0-9 和“-”；第{i}位为{_show_char(ch)}",
            )
    return s


def mask_id(number: str) -> str:
    """Return ``number`` masked the one way used everywhere: first 3 and last 4 kept.

    ``110105197609062469`` -> ``110***********2469``; 7 characters or fewer become all ``*``.
    """
    s = _clean(number)
    if len(s) <= 7:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 7) + s[-4:]


def person_key(id_type: IdType, number: str) -> bytes:
    """Return ``b"<id_type>:<normalised number>"``, the message HMACed for restrictions.

    Raises InvalidFieldError if the number fails its format (birth date and sex are not
    compared).
    """
    return f"{id_type.value}:{normalise_id(id_type, number)}".encode()
