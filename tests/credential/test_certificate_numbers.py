"""Certificate numbers (credential._certnumber): 17 digits, each part in range, built and
read back, every defect with its own code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credential._certnumber import CertificateNumber
from credential._kinds import QualificationType, Sex
from tests.factory import field_error

# --------------------------------------------------------------------------------------
# Certificate numbers
# --------------------------------------------------------------------------------------


@given(
    year=st.integers(1900, 2999),
    province=st.integers(11, 99).map(str),
    office=st.integers(0, 999).map(lambda n: f"{n:03d}"),
    qt=st.sampled_from(QualificationType),
    sex=st.sampled_from(Sex),
    serial=st.integers(1, 999_999),
)
def test_certificate_number_round_trip(
    year: int, province: str, office: str, qt: QualificationType, sex: Sex, serial: int
) -> None:
    cn = CertificateNumber.build(
        year=year, province=province, office=office, qualification_type=qt, sex=sex, serial=serial
    )
    text = str(cn)
    assert len(text) == 17 and text.isdigit()
    assert text == f"{year}{province}{office}{int(qt)}{sex.code}{serial:06d}"
    back = CertificateNumber.parse(text)
    assert back == cn
    assert back.sex is sex
    assert back.qualification_type is qt


def test_certificate_number_example() -> None:
    cn = CertificateNumber.build(
        year=2026,
        province="33",
        office="001",
        qualification_type="初级中学",
        sex=Sex.FEMALE,
        serial=42,
    )
    assert str(cn) == "20263300132000042"
    assert (cn.year, cn.province, cn.office, cn.sex_code, cn.serial) == (2026, "33", "001", 2, 42)


def test_old_certificate_number_with_sex_code_0_is_read() -> None:
    cn = CertificateNumber.parse(" 19983300170000001 ")
    assert cn.sex_code == 0 and cn.sex is None
    assert cn.qualification_type is QualificationType.HIGHER_EDUCATION
    assert str(cn) == "19983300170000001"


@pytest.mark.parametrize(
    ("text", "code", "en", "zh"),
    [
        ("2026330013200004", "length", "must be 17 digits, got 16", "实际为16位"),
        ("202633001320000421", "length", "got 18", "实际为18位"),
        ("2026330013200004A", "characters", "character 17 is 'A'", "第17位"),
        ("2026-3300132000042", "length", "got 18", "实际为18位"),
        ("2026 330013200004", "characters", "character 5 is U+0020", "第5位"),
        ("18993300132000042", "year_out_of_range", "1900-2999, got 1899", "1899"),
        ("20261000132000042", "province_out_of_range", "11-99, got 10", "10"),
        ("20263300102000042", "unknown_qualification_type", "1-7, got 0", "实际为0"),
        ("20263300182000042", "unknown_qualification_type", "1-7, got 8", "实际为8"),
        ("20263300133000042", "sex_code_out_of_range", "0, 1 or 2, got 3", "实际为3"),
        ("20263300132000000", "serial_out_of_range", "1-999999, got 0", "实际为0"),
    ],
)
def test_certificate_number_parse_defects(text: str, code: str, en: str, zh: str) -> None:
    err = field_error(CertificateNumber.parse, text)
    assert (err.code, err.field) == (code, "certificate_number")
    assert en in err.message, err.message
    assert zh in err.message_zh, err.message_zh


BUILD_OK: dict[str, object] = {
    "year": 2026,
    "province": "33",
    "office": "001",
    "qualification_type": QualificationType.PRIMARY,
    "sex": Sex.MALE,
    "serial": 1,
}


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"year": 1899}, "year", "year_out_of_range"),
        ({"year": 3000}, "year", "year_out_of_range"),
        ({"province": "3"}, "province", "province_format"),
        ({"province": "3A"}, "province", "province_format"),
        ({"province": "10"}, "province", "province_out_of_range"),
        ({"office": "01"}, "office", "office_format"),
        ({"office": "0A1"}, "office", "office_format"),
        ({"serial": 0}, "serial", "serial_out_of_range"),
        ({"serial": 1_000_000}, "serial", "serial_out_of_range"),
        ({"qualification_type": 8}, "qualification_type", "unknown_qualification_type"),
        ({"sex": "unknown"}, "sex", "unknown_sex"),
    ],
)
def test_certificate_number_build_defects(change: dict[str, object], field: str, code: str) -> None:
    err = field_error(CertificateNumber.build, **{**BUILD_OK, **change})
    assert (err.code, err.field) == (code, field)


def test_certificate_number_constructor_validates() -> None:
    err = field_error(
        CertificateNumber,
        year=2026,
        province="33",
        office="001",
        qualification_type=QualificationType.PRIMARY,
        sex_code=5,
        serial=1,
    )
    assert (err.code, err.field) == ("sex_code_out_of_range", "sex_code")
