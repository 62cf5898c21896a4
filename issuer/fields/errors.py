"""The one shape of a refused field, on every way in.

A rule refuses a value by raising :class:`credential.InvalidFieldError` (field, code,
English and Chinese message: the credential core's identifier rules raise it too); a
caller that judges a whole body collects them as :class:`FieldError` values and raises
:class:`ValidationFailed` naming every bad field. ``code`` is stable and means one defect
wherever it appears (docs/operations.md lists them); the messages may differ in wording.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from credential import InvalidFieldError

__all__ = ["LABELS_ZH", "Collector", "FieldError", "ValidationFailed", "zh_label"]

T = TypeVar("T")

# How a field is named in Chinese messages (each field name means one thing on every way in).
LABELS_ZH: dict[str, str] = {
    "request_id": "申请编号",
    "name": "姓名",
    "sex": "性别",
    "birth_date": "出生日期",
    "id_type": "证件类型",
    "id_number": "证件号码",
    "qualification_type": "资格种类",
    "subject": "任教学科",
    "certified_on": "认定日期",
    "ethnicity": "民族",
    "reason_code": "原因代码",
    "decision_date": "决定日期",
    "legal_basis": "法律依据",
    "category": "类别",
    "deciding_office": "作出决定的机构",
    "reason": "撤除理由",
    "purpose": "用途",
}


def zh_label(field: str) -> str:
    """Return the Chinese name of ``field`` (the field name itself when it has none)."""
    return LABELS_ZH.get(field, field)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One refused field: stable ``code``, English ``message``, Chinese ``message_zh``."""

    field: str
    code: str
    message: str
    message_zh: str

    @property
    def message_en(self) -> str:
        """The English message (as a batch row error names it)."""
        return self.message

    @classmethod
    def of(cls, exc: InvalidFieldError) -> FieldError:
        return cls(exc.field, exc.code, exc.message, exc.message_zh)


class ValidationFailed(Exception):
    """A body with at least one bad field; ``errors`` lists them all."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.code}" for e in errors))
        self.errors = errors


class Collector:
    """Every refusal of one body, gathered field by field."""

    __slots__ = ("errors",)

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def take(self, rule: Callable[[], T]) -> T | None:
        """Return what ``rule`` returns, or None after noting the field it refused."""
        try:
            return rule()
        except InvalidFieldError as exc:
            self.errors.append(FieldError.of(exc))
            return None

    def done(self) -> None:
        """Raise ValidationFailed if any field was refused."""
        if self.errors:
            raise ValidationFailed(self.errors)
