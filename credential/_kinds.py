"""The enumerations of contract section 2: qualification types (资格种类) and sexes, each
read from any of the spellings applicants and offices use."""

from __future__ import annotations

import enum

from ._errors import InvalidFieldError
from ._fieldtext import clean, is_int, show

__all__ = ["QualificationType", "Sex"]


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

    @property
    def name_en(self) -> str:
        """Return the full English name, e.g. ``Junior middle school teacher qualification``."""
        return _QT_NAME_EN[self]

    def name_in(self, lang: str) -> str:
        """Return the full name in ``lang`` (``zh``, else English): what a page shows,
        never the code ``slug``."""
        return self.name_zh if lang == "zh" else self.name_en

    @classmethod
    def parse(cls, value: str | int, field: str = "qualification_type") -> QualificationType:
        """Return the type named by ``value``: slug, digit (int or text), or Chinese name.

        Raises InvalidFieldError (code ``unknown_qualification_type``) for anything else.
        """
        if isinstance(value, QualificationType):
            return value
        if is_int(value):
            if 1 <= value <= 7:
                return cls(value)
        elif isinstance(value, str):
            found = _QT_LOOKUP.get(clean(value))
            if found is not None:
                return found
        raise InvalidFieldError(
            field,
            "unknown_qualification_type",
            f"unknown qualification type '{show(value)}'; expected 1-7, a code such as "
            "junior_middle, or a Chinese name such as 初级中学",
            f"未知的资格种类“{show(value)}”；应为1至7、英文代码（如 junior_middle）"
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

# The names pages and messages show in English (the codes themselves never reach a page).
_QT_NAME_EN: dict[QualificationType, str] = {
    QualificationType.KINDERGARTEN: "Kindergarten teacher qualification",
    QualificationType.PRIMARY: "Primary school teacher qualification",
    QualificationType.JUNIOR_MIDDLE: "Junior middle school teacher qualification",
    QualificationType.SENIOR_MIDDLE: "Senior middle school teacher qualification",
    QualificationType.SECONDARY_VOCATIONAL: "Secondary vocational school teacher qualification",
    QualificationType.VOCATIONAL_PRACTICE: "Secondary vocational practical instructor "
    "qualification",
    QualificationType.HIGHER_EDUCATION: "Higher education teacher qualification",
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
        _QT_LOOKUP[clean(_spelling)] = _qt
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
        if is_int(value):
            key = str(value)
        elif isinstance(value, str):
            key = clean(value)
        found = _SEX_LOOKUP.get(key) if key is not None else None
        if found is None:
            raise InvalidFieldError(
                field,
                "unknown_sex",
                f"unknown sex '{show(value)}'; expected male, female, 男, 女, 1 or 2",
                f"无法识别的性别“{show(value)}”；应为 男、女、male、female、1 或 2",
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
