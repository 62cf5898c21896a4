"""The identifiers of contract section 2 (credential._kinds, _certnumber, _elicence, _iddocs)."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from credential._certnumber import CertificateNumber
from credential._elicence import (
    ELICENCE_ROOT,
    ElicenceId,
    elicence_id,
    mod37_36_check,
    mod37_36_is_valid,
    parse_elicence_id,
)
from credential._errors import InvalidFieldError
from credential._iddocs import (
    IdType,
    mask_id,
    normalise_id,
    person_key,
    resident_id_birth_date,
    resident_id_sex,
    validate_resident_id,
)
from credential._kinds import QualificationType, Sex

APPLICANTS = Path(__file__).parents[3] / "shared/data/applicants-1000.csv"

# A known-good number from the contract (section 2) and the applicants file.
GOOD_ID = "110105197609062469"  # female, born 1976-09-06
GOOD_BIRTH = datetime.date(1976, 9, 6)

# The contract's e-licence example (section 2).
TYPE_CODE = "11100000000013338W009"
USCC = "11330105002500287C"
CONTRACT_EID = f"{ELICENCE_ROOT}.{TYPE_CODE}.{USCC}.2025052201.002.0"

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# --------------------------------------------------------------------------------------
# Independent reference implementations, written from the standards, not from the module
# --------------------------------------------------------------------------------------


def ref_gb11643_check(first17: str) -> str:
    """GB 11643 MOD 11-2: weights 2^(i-1) mod 11 for positions 18..2, map 10X98765432."""
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    assert weights == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


def with_check(first17: str) -> str:
    return first17 + ref_gb11643_check(first17)


def ref_mod37_36_state(s: str) -> int:
    """ISO/IEC 7064 hybrid system, M = 36: p starts at M; s = (p + v) mod M (0 -> M);
    p = 2s mod (M + 1). Returns the final p."""
    m = 36
    p = m
    for ch in s:
        t = (p + ALNUM.index(ch)) % m or m
        p = (t * 2) % (m + 1)
    return p


def ref_mod37_36_check(s: str) -> str:
    """The check c makes (p + c) mod M == 1."""
    return ALNUM[(1 - ref_mod37_36_state(s)) % 36]


def ref_mod37_36_valid(s: str) -> bool:
    """Run the hybrid system over every character including the check: the last s is 1."""
    p = ref_mod37_36_state(s[:-1])
    return (p + ALNUM.index(s[-1])) % 36 == 1


def raises(fn: object, *args: object, **kwargs: object) -> InvalidFieldError:
    assert callable(fn)
    with pytest.raises(InvalidFieldError) as info:
        fn(*args, **kwargs)
    err = info.value
    assert err.message and err.message_zh
    return err


# --------------------------------------------------------------------------------------
# Resident identity numbers (GB 11643)
# --------------------------------------------------------------------------------------


def load_applicants() -> list[dict[str, str]]:
    if not APPLICANTS.exists():
        pytest.skip(f"shared applicants file not found at {APPLICANTS}")
    with APPLICANTS.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_all_applicants_validate_with_their_birth_date_and_sex() -> None:
    rows = load_applicants()
    assert len(rows) == 1000
    for row in rows:
        birth = datetime.date.fromisoformat(row["birth_date"])
        sex = Sex.parse(row["gender"])
        id_type = IdType.parse(row["id_type"])
        number = row["id_number"]
        assert validate_resident_id(number, birth_date=birth, sex=sex) == number
        assert normalise_id(id_type, number, birth_date=birth, sex=sex) == number
        assert resident_id_birth_date(number) == birth
        assert resident_id_sex(number) is sex
        assert number[-1] == ref_gb11643_check(number[:17])


def test_applicants_with_lowercase_x_normalise_to_uppercase() -> None:
    rows = [r for r in load_applicants() if r["id_number"].endswith("X")]
    assert rows, "the applicants file has numbers ending in X"
    for row in rows:
        number = row["id_number"]
        typed = "  " + number[:17] + "x\t"
        assert validate_resident_id(typed) == number


def test_full_width_digits_are_normalised() -> None:
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in GOOD_ID)
    assert validate_resident_id(full_width) == GOOD_ID


@pytest.mark.parametrize("number", ["11010519760906246", "1101051976090624690", ""])
def test_resident_id_length(number: str) -> None:
    err = raises(validate_resident_id, number)
    assert (err.code, err.field) == ("length", "id_number")
    assert "18" in err.message and f"got {len(number)}" in err.message
    assert "18位" in err.message_zh and f"实际为{len(number)}位" in err.message_zh


def test_resident_id_characters_in_first_17() -> None:
    err = raises(validate_resident_id, "1101A5197609062469", field="applicant.id")
    assert (err.code, err.field) == ("characters", "applicant.id")
    assert "character 5 is 'A'" in err.message
    assert "第5位" in err.message_zh and "数字" in err.message_zh


def test_resident_id_characters_last_must_be_digit_or_x() -> None:
    err = raises(validate_resident_id, "11010519760906246Y")
    assert err.code == "characters"
    assert "character 18" in err.message and "digit or X" in err.message and "'Y'" in err.message
    assert "第18位应为数字或X" in err.message_zh


def test_resident_id_region() -> None:
    err = raises(validate_resident_id, with_check("19" + GOOD_ID[2:17]))
    assert err.code == "region"
    assert "19" in err.message and "province" in err.message
    assert "19" in err.message_zh and "省级代码" in err.message_zh


def test_region_is_checked_before_check_digit() -> None:
    bad_both = "19" + GOOD_ID[2:17] + "0"
    assert ref_gb11643_check(bad_both[:17]) != "0"
    assert raises(validate_resident_id, bad_both).code == "region"


@pytest.mark.parametrize(
    ("birth", "phrase", "phrase_zh"),
    [
        ("19761340", "not a real date", "不是有效日期"),
        ("19790229", "not a real date", "不是有效日期"),
        ("18991231", "before 1900", "早于1900"),
        ("20300101", "in the future", "晚于今天"),
    ],
)
def test_resident_id_birth_date_invalid(birth: str, phrase: str, phrase_zh: str) -> None:
    number = with_check(GOOD_ID[:6] + birth + GOOD_ID[14:17])
    err = raises(validate_resident_id, number, today=datetime.date(2026, 6, 1))
    assert err.code == "birth_date_invalid"
    assert phrase in err.message and phrase_zh in err.message_zh
    shown = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
    assert shown in err.message and shown in err.message_zh


def test_birth_on_today_is_accepted_birth_tomorrow_is_not() -> None:
    birth = datetime.date(2024, 2, 29)
    number = with_check(GOOD_ID[:6] + "20240229" + GOOD_ID[14:17])
    assert validate_resident_id(number, today=birth) == number
    the_day_before = birth - datetime.timedelta(days=1)
    err = raises(validate_resident_id, number, today=the_day_before)
    assert err.code == "birth_date_invalid"


def test_resident_id_check_digit() -> None:
    err = raises(validate_resident_id, GOOD_ID[:17] + "X")
    assert err.code == "check_digit"
    assert err.message == "check digit should be 9, got X"
    assert err.message_zh == "校验码应为9，实际为X"


def test_resident_id_birth_date_mismatch() -> None:
    err = raises(validate_resident_id, GOOD_ID, birth_date=datetime.date(1976, 9, 7))
    assert err.code == "birth_date_mismatch"
    assert "1976-09-06" in err.message and "1976-09-07" in err.message
    assert "1976-09-06" in err.message_zh and "不一致" in err.message_zh


def test_resident_id_sex_mismatch() -> None:
    err = raises(validate_resident_id, GOOD_ID, birth_date=GOOD_BIRTH, sex=Sex.MALE)
    assert err.code == "sex_mismatch"
    assert "even" in err.message and "female" in err.message and "male" in err.message
    assert "偶数" in err.message_zh and "女" in err.message_zh and "男" in err.message_zh


def test_check_digit_is_checked_before_mismatches() -> None:
    err = raises(validate_resident_id, GOOD_ID[:17] + "0", birth_date=datetime.date(2000, 1, 1))
    assert err.code == "check_digit"


def test_messages_never_contain_the_whole_number() -> None:
    for kwargs in ({"birth_date": datetime.date(1976, 9, 7)}, {"sex": Sex.MALE}):
        err = raises(validate_resident_id, GOOD_ID, **kwargs)
        assert GOOD_ID not in err.message and GOOD_ID not in err.message_zh
        assert GOOD_ID not in str(err)


provinces = st.sampled_from(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83 91".split()
)


@st.composite
def resident_ids(draw: st.DrawFn) -> tuple[str, datetime.date, Sex]:
    province = draw(provinces)
    area = draw(st.integers(0, 9999))
    birth = draw(st.dates(datetime.date(1900, 1, 1), datetime.date(2025, 12, 31)))
    seq = draw(st.integers(0, 999))
    first17 = f"{province}{area:04d}{birth:%Y%m%d}{seq:03d}"
    return with_check(first17), birth, Sex.MALE if seq % 2 else Sex.FEMALE


@given(resident_ids())
def test_generated_resident_ids_validate(case: tuple[str, datetime.date, Sex]) -> None:
    number, birth, sex = case
    assert validate_resident_id(number, birth_date=birth, sex=sex) == number
    assert resident_id_sex(number) is sex


@given(resident_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_substitution_in_a_resident_id_is_rejected(
    case: tuple[str, datetime.date, Sex], pos: int, new: str
) -> None:
    number = case[0]
    assume(number[pos] != new)
    bad = number[:pos] + new + number[pos + 1 :]
    with pytest.raises(InvalidFieldError):
        validate_resident_id(bad, today=datetime.date(2026, 1, 1))


# --------------------------------------------------------------------------------------
# Other identity documents, masking, person key
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("resident_id", IdType.RESIDENT_ID),
        ("RESIDENT_ID", IdType.RESIDENT_ID),
        ("居民身份证", IdType.RESIDENT_ID),
        ("passport", IdType.PASSPORT),
        ("护照", IdType.PASSPORT),
        ("hk_mo_pass", IdType.HK_MO_PASS),
        ("港澳居民来往内地通行证", IdType.HK_MO_PASS),
        ("港澳居民居住证", IdType.HK_MO_PASS),
        ("tw_pass", IdType.TW_PASS),
        ("台湾居民来往大陆通行证", IdType.TW_PASS),
        ("foreign_permanent_resident", IdType.FOREIGN_PERMANENT_RESIDENT),
        (" 外国人永久居留身份证 ", IdType.FOREIGN_PERMANENT_RESIDENT),
    ],
)
def test_id_type_parse(label: str, expected: IdType) -> None:
    assert IdType.parse(label) is expected
    assert IdType.parse(expected) is expected
    assert IdType.parse(expected.value) is expected


@pytest.mark.parametrize("label", ["", "驾驶证", "driving_licence"])
def test_id_type_unknown(label: str) -> None:
    err = raises(IdType.parse, label)
    assert (err.code, err.field) == ("unknown_id_type", "id_type")
    assert "identity document type" in err.message and "证件类型" in err.message_zh


@pytest.mark.parametrize(
    "id_type",
    [IdType.PASSPORT, IdType.HK_MO_PASS, IdType.TW_PASS, IdType.FOREIGN_PERMANENT_RESIDENT],
)
def test_other_documents_are_stripped_and_uppercased(id_type: IdType) -> None:
    assert normalise_id(id_type, "  e12345-678 ") == "E12345-678"
    assert normalise_id(id_type, "A" * 32) == "A" * 32


@pytest.mark.parametrize("number", ["", "   ", "A" * 33])
def test_other_document_length(number: str) -> None:
    err = raises(normalise_id, IdType.PASSPORT, number)
    assert err.code == "length"
    assert "1-32" in err.message and f"got {len(number.strip())}" in err.message
    assert "1至32位" in err.message_zh


@pytest.mark.parametrize(("number", "pos"), [("E 1234567", 2), ("E1234567/", 9), ("护照123", 1)])
def test_other_document_characters(number: str, pos: int) -> None:
    err = raises(normalise_id, IdType.PASSPORT, number)
    assert err.code == "characters"
    assert f"character {pos}" in err.message and f"第{pos}位" in err.message_zh


def test_normalise_resident_id_applies_gb11643() -> None:
    assert normalise_id(IdType.RESIDENT_ID, f" {GOOD_ID} ") == GOOD_ID
    err = raises(normalise_id, IdType.RESIDENT_ID, GOOD_ID, sex=Sex.MALE, field="x")
    assert (err.code, err.field) == ("sex_mismatch", "x")


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("110105197609062469", "110***********2469"),
        ("42011120010605148x", "420***********148X"),
        ("E12345678", "E12**5678"),
        ("E1234567", "E12*4567"),
        ("1234567", "*******"),
        ("AB", "**"),
        ("", ""),
    ],
)
def test_mask_id(number: str, masked: str) -> None:
    assert mask_id(number) == masked


@given(st.text(alphabet=ALNUM, max_size=40))
def test_mask_keeps_length_and_at_most_seven_characters(number: str) -> None:
    masked = mask_id(number)
    assert len(masked) == len(number)
    assert sum(ch != "*" for ch in masked) <= 7


def test_person_key() -> None:
    assert person_key(IdType.RESIDENT_ID, GOOD_ID) == b"resident_id:" + GOOD_ID.encode()
    assert person_key(IdType.RESIDENT_ID, "42011120010605148x ") == (
        b"resident_id:42011120010605148X"
    )
    assert person_key(IdType.PASSPORT, " e1234567") == b"passport:E1234567"
    assert person_key(IdType.PASSPORT, "E1234567") != person_key(IdType.TW_PASS, "E1234567")
    assert raises(person_key, IdType.RESIDENT_ID, GOOD_ID[:17] + "0").code == "check_digit"


# --------------------------------------------------------------------------------------
# Qualification types and sex
# --------------------------------------------------------------------------------------

QT_SPELLINGS = {
    QualificationType.KINDERGARTEN: ("kindergarten", "幼儿园", "幼儿园教师资格"),
    QualificationType.PRIMARY: ("primary", "小学", "小学教师资格"),
    QualificationType.JUNIOR_MIDDLE: ("junior_middle", "初级中学", "初级中学教师资格"),
    QualificationType.SENIOR_MIDDLE: ("senior_middle", "高级中学", "高级中学教师资格"),
    QualificationType.SECONDARY_VOCATIONAL: (
        "secondary_vocational",
        "中等职业学校",
        "中等职业学校教师资格",
    ),
    QualificationType.VOCATIONAL_PRACTICE: (
        "vocational_practice",
        "中等职业学校实习指导",
        "中等职业学校实习指导教师资格",
    ),
    QualificationType.HIGHER_EDUCATION: ("higher_education", "高等学校", "高等学校教师资格"),
}


@pytest.mark.parametrize(("qt", "spellings"), list(QT_SPELLINGS.items()))
def test_qualification_type_properties(qt: QualificationType, spellings: tuple[str, ...]) -> None:
    slug, short_zh, name_zh = spellings
    assert qt.slug == slug
    assert qt.short_zh == short_zh
    assert qt.name_zh == name_zh


@pytest.mark.parametrize(
    ("spelling", "qt"),
    [
        (spelling, qt)
        for qt, spellings in QT_SPELLINGS.items()
        for spelling in (
            *spellings,
            spellings[0].upper(),
            f" {spellings[1]} ",
            spellings[1] + "教师",
            str(qt.value),
            qt.value,
            qt,
        )
    ],
)
def test_qualification_type_parse_every_spelling(
    spelling: str | int, qt: QualificationType
) -> None:
    assert QualificationType.parse(spelling) is qt


def test_qualification_type_values_match_contract() -> None:
    assert [(int(q), q.slug) for q in QualificationType] == [
        (1, "kindergarten"),
        (2, "primary"),
        (3, "junior_middle"),
        (4, "senior_middle"),
        (5, "secondary_vocational"),
        (6, "vocational_practice"),
        (7, "higher_education"),
    ]


@pytest.mark.parametrize("value", [0, 8, "0", "8", "", "大学", "middle", True, "中学教师资格"])
def test_qualification_type_unknown(value: str | int) -> None:
    err = raises(QualificationType.parse, value, field="row.qualification_type")
    assert (err.code, err.field) == ("unknown_qualification_type", "row.qualification_type")
    assert "unknown qualification type" in err.message and "1-7" in err.message
    assert "未知的资格种类" in err.message_zh


@pytest.mark.parametrize(
    ("value", "sex"),
    [
        ("male", Sex.MALE),
        ("Male", Sex.MALE),
        ("m", Sex.MALE),
        ("M", Sex.MALE),
        ("男", Sex.MALE),
        ("1", Sex.MALE),
        (1, Sex.MALE),
        (Sex.MALE, Sex.MALE),
        ("female", Sex.FEMALE),
        ("F", Sex.FEMALE),
        ("f", Sex.FEMALE),
        (" 女 ", Sex.FEMALE),
        ("2", Sex.FEMALE),
        (2, Sex.FEMALE),
    ],
)
def test_sex_parse(value: str | int, sex: Sex) -> None:
    assert Sex.parse(value) is sex


def test_sex_properties() -> None:
    assert (Sex.MALE.value, Sex.MALE.code, Sex.MALE.name_zh) == ("male", 1, "男")
    assert (Sex.FEMALE.value, Sex.FEMALE.code, Sex.FEMALE.name_zh) == ("female", 2, "女")


@pytest.mark.parametrize("value", ["", "0", "x", "unknown", 3, True])
def test_sex_unknown(value: str | int) -> None:
    err = raises(Sex.parse, value)
    assert (err.code, err.field) == ("unknown_sex", "sex")
    assert "unknown sex" in err.message and "性别" in err.message_zh


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
    err = raises(CertificateNumber.parse, text)
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
    err = raises(CertificateNumber.build, **{**BUILD_OK, **change})
    assert (err.code, err.field) == (code, field)


def test_certificate_number_constructor_validates() -> None:
    err = raises(
        CertificateNumber,
        year=2026,
        province="33",
        office="001",
        qualification_type=QualificationType.PRIMARY,
        sex_code=5,
        serial=1,
    )
    assert (err.code, err.field) == ("sex_code_out_of_range", "sex_code")


# --------------------------------------------------------------------------------------
# ISO/IEC 7064 MOD 37,36 and the e-licence identifier
# --------------------------------------------------------------------------------------


def test_mod37_36_contract_known_answer() -> None:
    data = TYPE_CODE + USCC + "2025052201" + "002"
    assert len(TYPE_CODE) == 21 and len(USCC) == 18
    assert mod37_36_check(data) == "0"
    assert ref_mod37_36_check(data) == "0"


def test_mod37_36_known_answers_from_first_principles() -> None:
    # "A" (value 10), by hand: p = 36; s = (36 + 10) mod 36 = 10; p = 20 mod 37 = 20;
    # check c with (20 + c) mod 36 == 1: c = 17 = "H".
    assert mod37_36_check("A") == "H"
    # "0": s = 36 mod 36 = 0 -> 36; p = 72 mod 37 = 35; c = (1 - 35) mod 36 = 2.
    assert mod37_36_check("0") == "2"
    # The empty string: p = 36; c = (1 - 36) mod 36 = 1.
    assert mod37_36_check("") == "1"
    # The worked example of ISO/IEC 7064 (as also given by python-stdnum).
    assert mod37_36_check("A12425GABC1234002") == "M"
    assert mod37_36_is_valid("A12425GABC1234002M")


@given(st.text(alphabet=ALNUM, max_size=80))
def test_mod37_36_matches_reference_and_validates(s: str) -> None:
    check = mod37_36_check(s)
    assert check == ref_mod37_36_check(s)
    assert ref_mod37_36_valid(s + check)
    assert mod37_36_is_valid(s + check)


@given(st.text(alphabet=ALNUM, max_size=60), st.data())
def test_mod37_36_detects_every_single_substitution(s: str, data: st.DataObject) -> None:
    whole = s + mod37_36_check(s)
    pos = data.draw(st.integers(0, len(whole) - 1))
    new = data.draw(st.sampled_from(ALNUM).filter(lambda c: c != whole[pos]))
    assert not mod37_36_is_valid(whole[:pos] + new + whole[pos + 1 :])


def transposition_blind_spot(prefix: str, a: str, b: str) -> bool:
    """MOD 37,36 misses swapping adjacent a, b exactly when the running s after the first
    of them is 18 and the second is one higher (mod 36), or s is 19 and the second is one
    lower: one order gives p = 2 * 18 mod 37 = 36, the other p = 2 * 19 mod 37 = 1, and
    both reach the same next s."""
    va, vb = ALNUM.index(a), ALNUM.index(b)
    s1 = (ref_mod37_36_state(prefix) + va) % 36 or 36
    return (s1 == 18 and vb == (va + 1) % 36) or (s1 == 19 and vb == (va - 1) % 36)


@given(st.text(alphabet=ALNUM, min_size=1, max_size=60), st.data())
def test_mod37_36_detects_adjacent_transpositions_outside_its_blind_spot(
    s: str, data: st.DataObject
) -> None:
    whole = s + mod37_36_check(s)
    pos = data.draw(st.integers(0, len(whole) - 2))
    a, b = whole[pos], whole[pos + 1]
    assume(a != b)
    swapped = whole[:pos] + b + a + whole[pos + 2 :]
    assert mod37_36_is_valid(swapped) == transposition_blind_spot(whole[:pos], a, b)


def test_mod37_36_transposition_blind_spot_is_exactly_1_in_630() -> None:
    # Exhaustive over every running state and every ordered pair of distinct characters:
    # ISO/IEC 7064 hybrid systems miss a small fraction of adjacent transpositions.
    prefixes = {ref_mod37_36_state(ALNUM[k]): ALNUM[k] for k in range(36)}
    assert len(prefixes) == 36  # one prefix reaching each state p = 1..36
    missed = total = 0
    for prefix in prefixes.values():
        for a in ALNUM:
            for b in ALNUM:
                if a == b:
                    continue
                total += 1
                check = mod37_36_check(prefix + a + b)
                undetected = mod37_36_is_valid(prefix + b + a + check)
                assert undetected == transposition_blind_spot(prefix, a, b)
                missed += undetected
    assert (missed, total) == (72, 36 * 36 * 35)
    # The first one from the start state: "IJ" and "JI" share check character "0".
    assert mod37_36_check("IJ") == mod37_36_check("JI") == "0"


def test_mod37_36_rejects_characters_outside_the_alphabet() -> None:
    err = raises(mod37_36_check, "AB-C")
    assert err.code == "characters" and "character 3 is '-'" in err.message
    assert not mod37_36_is_valid("ab")
    assert not mod37_36_is_valid("")


def test_elicence_id_contract_example() -> None:
    built = elicence_id(type_code=TYPE_CODE, issuer_uscc=USCC, serial="2025052201", version=2)
    assert built == CONTRACT_EID
    parsed = parse_elicence_id(CONTRACT_EID)
    assert parsed == ElicenceId(
        type_code=TYPE_CODE, issuer_uscc=USCC, serial="2025052201", version=2, check="0"
    )
    assert str(parsed) == CONTRACT_EID
    assert parse_elicence_id(CONTRACT_EID.lower()) == parsed


@given(serial=st.text(alphabet=ALNUM, min_size=1, max_size=32), version=st.integers(1, 999))
def test_elicence_id_round_trip(serial: str, version: int) -> None:
    text = elicence_id(type_code=TYPE_CODE, issuer_uscc=USCC, serial=serial, version=version)
    parsed = parse_elicence_id(text)
    assert (parsed.serial, parsed.version) == (serial, version)
    assert str(parsed) == text


def test_elicence_id_from_certificate_number() -> None:
    cn = CertificateNumber.parse("20263300132000042")
    text = elicence_id(type_code=TYPE_CODE, issuer_uscc=USCC, serial=cn, version=1)
    assert parse_elicence_id(text).serial == "20263300132000042"
    assert text.split(".")[-2] == "001"


def _eid(tc: str = TYPE_CODE, uscc: str = USCC, sn: str = "2025052201", ver: str = "002") -> str:
    body = tc + uscc + sn + ver
    check = ref_mod37_36_check(body) if all(c in ALNUM for c in body) else "0"
    return f"{ELICENCE_ROOT}.{tc}.{uscc}.{sn}.{ver}.{check}"


@pytest.mark.parametrize(
    ("text", "code", "en", "zh"),
    [
        (CONTRACT_EID.replace("3005", "3006"), "root", "must start with 1.2.156.3005.2", "开头"),
        (CONTRACT_EID[:-2], "parts", "5 dot-separated parts", "应有5段"),
        (CONTRACT_EID + ".0", "parts", "got 6", "实际为6段"),
        (_eid(tc=TYPE_CODE[:-1]), "type_code_length", "21 characters, got 20", "实际为20位"),
        (_eid(tc=TYPE_CODE[:-1] + "_"), "type_code_characters", "character 21 is '_'", "第21位"),
        (_eid(uscc=USCC + "0"), "issuer_uscc_length", "18 characters, got 19", "实际为19位"),
        (_eid(uscc=USCC[:-1] + "I"), "issuer_uscc_characters", "character 18 is 'I'", "第18位"),
        (_eid(uscc=USCC[:-1] + "D"), "issuer_uscc_check_digit", "should be C, got D", "应为C"),
        (_eid(sn=""), "serial_length", "1-32 characters, got 0", "实际为0位"),
        (_eid(sn="A" * 33), "serial_length", "got 33", "实际为33位"),
        (_eid(sn="2025-01"), "serial_characters", "character 5 is '-'", "第5位"),
        (_eid(ver="02"), "version_format", "3 digits", "3位数字"),
        (_eid(ver="00A"), "version_format", "3 digits", "3位数字"),
        (_eid(ver="000"), "version_out_of_range", "1-999, got 0", "实际为0"),
        (CONTRACT_EID[:-1] + "1", "check_character", "should be 0, got 1", "校验位应为0，实际为1"),
        (CONTRACT_EID + "0", "check_character", "should be 0, got 00", "实际为00"),
    ],
)
def test_parse_elicence_id_defects(text: str, code: str, en: str, zh: str) -> None:
    err = raises(parse_elicence_id, text)
    assert (err.code, err.field) == (code, "elicence_id")
    assert en in err.message, err.message
    assert zh in err.message_zh, err.message_zh


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"type_code": "1" * 20}, "type_code", "type_code_length"),
        ({"issuer_uscc": USCC[:-1] + "0"}, "issuer_uscc", "issuer_uscc_check_digit"),
        ({"serial": ""}, "serial", "serial_length"),
        ({"version": 0}, "version", "version_out_of_range"),
        ({"version": 1000}, "version", "version_out_of_range"),
    ],
)
def test_elicence_id_build_defects(change: dict[str, object], field: str, code: str) -> None:
    kwargs: dict[str, object] = {
        "type_code": TYPE_CODE,
        "issuer_uscc": USCC,
        "serial": "1",
        "version": 1,
        **change,
    }
    err = raises(elicence_id, **kwargs)
    assert (err.code, err.field) == (code, field)
