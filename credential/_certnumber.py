"""Certificate numbers (证书号码, contract section 2): ``YYYY PP AAA T S NNNNNN``, 17
digits, no check digit."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ._errors import InvalidFieldError
from ._fieldtext import all_digits, clean, is_int, show, show_char
from ._kinds import QualificationType, Sex

__all__ = ["CERTIFICATE_NUMBER_LENGTH", "CertificateNumber"]

CERTIFICATE_NUMBER_LENGTH = 17


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
    if not (is_int(year) and 1900 <= year <= 2999):
        raise InvalidFieldError(
            field or "year",
            "year_out_of_range",
            f"certification year must be 1900-2999, got {show(year)}",
            f"认定年份应在1900至2999之间，实际为{show(year)}",
        )
    if not (isinstance(province, str) and len(province) == 2 and all_digits(province)):
        raise InvalidFieldError(
            field or "province",
            "province_format",
            f"province code must be 2 digits, got '{show(province)}'",
            f"省级代码应为2位数字，实际为“{show(province)}”",
        )
    if int(province) < 11:
        raise InvalidFieldError(
            field or "province",
            "province_out_of_range",
            f"province code must be 11-99, got {province}",
            f"省级代码应在11至99之间，实际为{province}",
        )
    if not (isinstance(office, str) and len(office) == 3 and all_digits(office)):
        raise InvalidFieldError(
            field or "office",
            "office_format",
            f"office code must be 3 digits, got '{show(office)}'",
            f"认定机构代码应为3位数字，实际为“{show(office)}”",
        )
    if not (is_int(qualification_type) and 1 <= qualification_type <= 7):
        raise InvalidFieldError(
            field or "qualification_type",
            "unknown_qualification_type",
            f"qualification type digit must be 1-7, got {show(qualification_type)}",
            f"资格种类代码应为1至7，实际为{show(qualification_type)}",
        )
    if not (is_int(sex_code) and 0 <= sex_code <= 2):
        raise InvalidFieldError(
            field or "sex_code",
            "sex_code_out_of_range",
            f"sex code must be 0, 1 or 2, got {show(sex_code)}",
            f"性别代码应为0、1或2，实际为{show(sex_code)}",
        )
    if not (is_int(serial) and 1 <= serial <= 999_999):
        raise InvalidFieldError(
            field or "serial",
            "serial_out_of_range",
            f"serial must be 1-999999, got {show(serial)}",
            f"流水号应在1至999999之间，实际为{show(serial)}",
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
        s = clean(text)
        if len(s) != CERTIFICATE_NUMBER_LENGTH:
            raise InvalidFieldError(
                field,
                "length",
                f"certificate number must be {CERTIFICATE_NUMBER_LENGTH} digits, "
                f"got {len(s)} characters",
                f"证书号码应为{CERTIFICATE_NUMBER_LENGTH}位数字，实际为{len(s)}位",
            )
        for i, ch in enumerate(s, start=1):
            if not ("0" <= ch <= "9"):
                raise InvalidFieldError(
                    field,
                    "characters",
                    f"certificate number must be digits only; character {i} is {show_char(ch)}",
                    f"证书号码只能由数字组成；第{i}位为{show_char(ch)}",
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
