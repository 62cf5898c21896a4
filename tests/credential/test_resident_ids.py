"""Identity documents (credential._iddocs): GB 11643 resident identity numbers against an
independent MOD 11-2 written from the standard, the other documents' numbers, document
types, the one masking rule and the person key."""

from __future__ import annotations

import csv
import datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

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
from credential._kinds import Sex
from tests.factory import APPLICANTS_CSV, field_error

# A known-good number from the contract (section 2) and the applicants file.
GOOD_ID = "110105197609062469"  # female, born 1976-09-06
GOOD_BIRTH = datetime.date(1976, 9, 6)

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


# --------------------------------------------------------------------------------------
# Resident identity numbers (GB 11643)
# --------------------------------------------------------------------------------------


def load_applicants() -> list[dict[str, str]]:
    if not APPLICANTS_CSV.exists():
        pytest.skip(f"shared applicants file not found at {APPLICANTS_CSV}")
    with APPLICANTS_CSV.open(encoding="utf-8", newline="") as fh:
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
    err = field_error(validate_resident_id, number)
    assert (err.code, err.field) == ("length", "id_number")
    assert "18" in err.message and f"got {len(number)}" in err.message
    assert "18位" in err.message_zh and f"实际为{len(number)}位" in err.message_zh


def test_resident_id_characters_in_first_17() -> None:
    err = field_error(validate_resident_id, "1101A5197609062469", field="applicant.id")
    assert (err.code, err.field) == ("characters", "applicant.id")
    assert "character 5 is 'A'" in err.message
    assert "第5位" in err.message_zh and "数字" in err.message_zh


def test_resident_id_characters_last_must_be_digit_or_x() -> None:
    err = field_error(validate_resident_id, "11010519760906246Y")
    assert err.code == "characters"
    assert "character 18" in err.message and "digit or X" in err.message and "'Y'" in err.message
    assert "第18位应为数字或X" in err.message_zh


def test_resident_id_region() -> None:
    err = field_error(validate_resident_id, with_check("19" + GOOD_ID[2:17]))
    assert err.code == "region"
    assert "19" in err.message and "province" in err.message
    assert "19" in err.message_zh and "省级代码" in err.message_zh


def test_region_is_checked_before_check_digit() -> None:
    bad_both = "19" + GOOD_ID[2:17] + "0"
    assert ref_gb11643_check(bad_both[:17]) != "0"
    assert field_error(validate_resident_id, bad_both).code == "region"


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
    err = field_error(validate_resident_id, number, today=datetime.date(2026, 6, 1))
    assert err.code == "birth_date_invalid"
    assert phrase in err.message and phrase_zh in err.message_zh
    shown = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
    assert shown in err.message and shown in err.message_zh


def test_birth_on_today_is_accepted_birth_tomorrow_is_not() -> None:
    birth = datetime.date(2024, 2, 29)
    number = with_check(GOOD_ID[:6] + "20240229" + GOOD_ID[14:17])
    assert validate_resident_id(number, today=birth) == number
    the_day_before = birth - datetime.timedelta(days=1)
    err = field_error(validate_resident_id, number, today=the_day_before)
    assert err.code == "birth_date_invalid"


def test_resident_id_check_digit() -> None:
    err = field_error(validate_resident_id, GOOD_ID[:17] + "X")
    assert err.code == "check_digit"
    assert err.message == "check digit should be 9, got X"
    assert err.message_zh == "校验码应为9，实际为X"


def test_resident_id_birth_date_mismatch() -> None:
    err = field_error(validate_resident_id, GOOD_ID, birth_date=datetime.date(1976, 9, 7))
    assert err.code == "birth_date_mismatch"
    assert "1976-09-06" in err.message and "1976-09-07" in err.message
    assert "1976-09-06" in err.message_zh and "不一致" in err.message_zh


def test_resident_id_sex_mismatch() -> None:
    err = field_error(validate_resident_id, GOOD_ID, birth_date=GOOD_BIRTH, sex=Sex.MALE)
    assert err.code == "sex_mismatch"
    assert "even" in err.message and "female" in err.message and "male" in err.message
    assert "偶数" in err.message_zh and "女" in err.message_zh and "男" in err.message_zh


def test_check_digit_is_checked_before_mismatches() -> None:
    err = field_error(
        validate_resident_id, GOOD_ID[:17] + "0", birth_date=datetime.date(2000, 1, 1)
    )
    assert err.code == "check_digit"


def test_messages_never_contain_the_whole_number() -> None:
    for kwargs in ({"birth_date": datetime.date(1976, 9, 7)}, {"sex": Sex.MALE}):
        err = field_error(validate_resident_id, GOOD_ID, **kwargs)
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
    err = field_error(IdType.parse, label)
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
    err = field_error(normalise_id, IdType.PASSPORT, number)
    assert err.code == "length"
    assert "1-32" in err.message and f"got {len(number.strip())}" in err.message
    assert "1至32位" in err.message_zh


@pytest.mark.parametrize(("number", "pos"), [("E 1234567", 2), ("E1234567/", 9), ("护照123", 1)])
def test_other_document_characters(number: str, pos: int) -> None:
    err = field_error(normalise_id, IdType.PASSPORT, number)
    assert err.code == "characters"
    assert f"character {pos}" in err.message and f"第{pos}位" in err.message_zh


def test_normalise_resident_id_applies_gb11643() -> None:
    assert normalise_id(IdType.RESIDENT_ID, f" {GOOD_ID} ") == GOOD_ID
    err = field_error(normalise_id, IdType.RESIDENT_ID, GOOD_ID, sex=Sex.MALE, field="x")
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
    assert field_error(person_key, IdType.RESIDENT_ID, GOOD_ID[:17] + "0").code == "check_digit"
