"""Qualification types and sexes (credential._kinds): every spelling read, the contract's
values, and everything else refused."""

from __future__ import annotations

import pytest

from credential._kinds import QualificationType, Sex
from tests.factory import field_error

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
    err = field_error(QualificationType.parse, value, field="row.qualification_type")
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
    err = field_error(Sex.parse, value)
    assert (err.code, err.field) == ("unknown_sex", "sex")
    assert "unknown sex" in err.message and "性别" in err.message_zh
