"""Validation of one application (a POST body now, a batch row later).

Every field is checked and every failure collected, each naming its field with an
English and a Chinese message; the identifier rules are the credential core's
(contract section 2). Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from credential import IdType, InvalidFieldError, QualificationType, Sex, normalise_id
from issuer.pdf import too_wide, unprintable_character

__all__ = ["FieldError", "ValidApplication", "ValidationFailed", "validate_application"]

NAME_MAX = 50
SUBJECT_MAX = 50
ETHNICITY_MAX = 20
# Text starting with these is run as a formula by spreadsheets (OWASP CSV injection); no
# name, subject or ethnicity does, so such a value is refused on every way in.
FORMULA_START = ("=", "+", "@")
_EARLIEST = dt.date(1900, 1, 1)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One rejected field: stable ``code``, English ``message``, Chinese ``message_zh``."""

    field: str
    code: str
    message: str
    message_zh: str

    @classmethod
    def of(cls, exc: InvalidFieldError) -> FieldError:
        return cls(exc.field, exc.code, exc.message, exc.message_zh)


class ValidationFailed(Exception):
    """An application with at least one bad field; ``errors`` lists them all."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.code}" for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class ValidApplication:
    """An application whose every field passed, in normalised form."""

    name: str
    sex: Sex
    birth_date: dt.date
    id_type: IdType
    id_number: str
    qualification_type: QualificationType
    subject: str
    certified_on: dt.date
    ethnicity: str | None = None


def _text(field: str, value: object, *, max_len: int, label_zh: str, required: bool = True) -> str:
    """Return ``value`` NFC-normalised and stripped; raise InvalidFieldError if unfit."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if not required:
            return ""
        raise InvalidFieldError(field, "required", "must not be empty", f"{label_zh}不能为空")
    if not isinstance(value, str):
        raise InvalidFieldError(field, "type", "must be text", f"{label_zh}应为文本")
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > max_len:
        raise InvalidFieldError(
            field,
            "too_long",
            f"must be at most {max_len} characters, got {len(text)}",
            f"{label_zh}最多{max_len}个字符，实际为{len(text)}个",
        )
    for i, ch in enumerate(text, start=1):
        if unicodedata.category(ch)[0] == "C":
            raise InvalidFieldError(
                field,
                "characters",
                f"character {i} is a control or invalid character (U+{ord(ch):04X})",
                f"第{i}个字符为控制字符或无效字符（U+{ord(ch):04X}）",
            )
    return text


def _printable(
    field: str, text: str, *, label_zh: str, fits: Callable[[str], bool] | None = None
) -> str:
    """Return ``text``; raise InvalidFieldError if the certificate could not print it (a
    certificate is issued only if it can be printed: never a blank box on the paper, nor
    a line too long for its place: ``fits(text)``, by default its line in the fields
    table) or if it starts as a spreadsheet formula does."""
    if text.startswith(FORMULA_START):
        raise InvalidFieldError(
            field,
            "formula_text",
            f"must not start with '{text[0]}', which spreadsheets run as a formula; a real "
            "value never does",
            f"{label_zh}以“{text[0]}”开头，电子表格会将其当作公式执行；请填写实际内容",
        )
    ch = unprintable_character(text)
    if ch is not None:
        raise InvalidFieldError(
            field,
            "unprintable",
            f"the character {ch!r} (U+{ord(ch):04X}) is in no certificate font, so it "
            "cannot be printed",
            f"{label_zh}中的字符“{ch}”（U+{ord(ch):04X}）在证书字体中不存在，无法打印",
        )
    if not (fits(text) if fits is not None else too_wide(field, text) is None):
        raise InvalidFieldError(field, "unprintable", *too_wide_messages(label_zh))
    return text


def too_wide_messages(label_zh: str) -> tuple[str, str]:
    """Return (English, Chinese) for a value too long to print on its certificate line."""
    return (
        "is too long to print on the certificate, even in the smallest type; shorten it",
        f"{label_zh}过长，以最小字号也无法印在证书上；请缩短",
    )


def _date(field: str, value: object, *, label_zh: str, today: dt.date) -> dt.date:
    """Return the YYYY-MM-DD date in ``value`` (1900-01-01 to ``today``)."""
    text = _text(field, value, max_len=10, label_zh=label_zh)
    try:
        if len(text) != 10:
            raise ValueError(text)
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidFieldError(
            field,
            "date_format",
            "must be a real date written YYYY-MM-DD",
            f"{label_zh}应为有效日期，格式为YYYY-MM-DD",
        ) from None
    if not _EARLIEST <= day <= today:
        raise InvalidFieldError(
            field,
            "date_out_of_range",
            f"must be between {_EARLIEST.isoformat()} and today",
            f"{label_zh}应在{_EARLIEST.isoformat()}至今天之间",
        )
    return day


def validate_application(data: Mapping[str, object], *, today: dt.date) -> ValidApplication:
    """Return the normalised application, or raise ValidationFailed naming every bad field.

    ``data`` holds name, sex, birth_date, id_type, id_number, qualification_type, subject,
    certified_on and optionally ethnicity, as text.
    """
    errors: list[FieldError] = []
    out: dict[str, object] = {}

    def check(field: str, fn: object) -> None:
        try:
            out[field] = fn() if callable(fn) else fn
        except InvalidFieldError as exc:
            errors.append(FieldError.of(exc))

    check(
        "name",
        lambda: _printable(
            "name",
            _text("name", data.get("name"), max_len=NAME_MAX, label_zh="姓名"),
            label_zh="姓名",
        ),
    )
    check("sex", lambda: Sex.parse(_text("sex", data.get("sex"), max_len=10, label_zh="性别")))
    check(
        "birth_date",
        lambda: _date("birth_date", data.get("birth_date"), label_zh="出生日期", today=today),
    )
    check(
        "id_type",
        lambda: IdType.parse(
            _text("id_type", data.get("id_type"), max_len=40, label_zh="证件类型")
        ),
    )
    check(
        "qualification_type",
        lambda: QualificationType.parse(
            _text(
                "qualification_type",
                data.get("qualification_type"),
                max_len=40,
                label_zh="资格种类",
            )
        ),
    )
    check(
        "subject",
        lambda: _printable(
            "subject",
            _text("subject", data.get("subject"), max_len=SUBJECT_MAX, label_zh="任教学科"),
            label_zh="任教学科",
        ),
    )
    check(
        "certified_on",
        lambda: _date("certified_on", data.get("certified_on"), label_zh="认定日期", today=today),
    )
    check(
        "ethnicity",
        lambda: (
            _printable(
                "ethnicity",
                _text(
                    "ethnicity",
                    data.get("ethnicity"),
                    max_len=ETHNICITY_MAX,
                    label_zh="民族",
                    required=False,
                ),
                label_zh="民族",
            )
            or None
        ),
    )
    if "id_type" in out:
        # Birth date and sex are compared with the number only when they parsed themselves.
        check(
            "id_number",
            lambda: normalise_id(
                out["id_type"],  # type: ignore[arg-type]
                _text("id_number", data.get("id_number"), max_len=40, label_zh="证件号码"),
                birth_date=out.get("birth_date"),  # type: ignore[arg-type]
                sex=out.get("sex"),  # type: ignore[arg-type]
            ),
        )
    else:
        check(
            "id_number",
            lambda: _text("id_number", data.get("id_number"), max_len=40, label_zh="证件号码"),
        )
    birth, certified = out.get("birth_date"), out.get("certified_on")
    if isinstance(birth, dt.date) and isinstance(certified, dt.date) and certified <= birth:
        errors.append(
            FieldError(
                "certified_on",
                "before_birth",
                "certification date must be after the birth date",
                "认定日期应晚于出生日期",
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return ValidApplication(**out)  # type: ignore[arg-type]
