"""A batch file's data rows judged by the shared field rules (``issuer.fields``), every
defect of a row reported, not only the first.

What only a file needs is done here before a rule judges the value: a formula or error
cell of XLSX is reported as such, a number cell becomes its text (or the number a code
parser takes), a date spelled as Excel writes it or given as a serial becomes a day, an
identity number that Excel turned into a number is refused. Then the value goes through
the same rule as a single application's (same verdict, same code), and the row through
the same cross-field rules (identity number against birth date and sex; the
certification date against the birth date and the office's policy). A row is a
duplicate of an earlier one with the same document and qualification type, or the same
request id.

Identity numbers never leave this module whole in an error: previews are masked.
"""

from __future__ import annotations

import datetime
import functools
import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple, TypeVar

from credential import IdType, InvalidFieldError, QualificationType, Sex, mask_id
from issuer.batches.cells import (
    CellError,
    Formula,
    date_spelling_error,
    excel_int,
    looks_like_number,
    preview,
    raw_text,
    visible,
    written_date,
)
from issuer.batches.files import count_guard, is_blank
from issuer.batches.headers import EN_NAME, FIELD_ORDER, ZH_NAME, Columns
from issuer.fields import codes, dates, texts
from issuer.fields.dates import EARLIEST_DATE, CertificationPolicy
from issuer.fields.identity import identity_number

__all__ = ["REQUEST_ID_MAX", "ApplicantRow", "FirstRows", "RowError", "validate_rows"]

T = TypeVar("T")

REQUEST_ID_MAX = 64
_EXCEL_MAX_SERIAL = 2_958_465  # 9999-12-31


class ApplicantRow(NamedTuple):
    """One valid data row. ``row_number`` is the row as Excel shows it (header = row 1).

    A NamedTuple (immutable, compared by value): made once per valid row on the batch's
    single-core validation phase, where it costs far less than a frozen dataclass."""

    row_number: int
    request_id: str | None
    name: str
    sex: Sex
    birth_date: datetime.date
    id_type: IdType
    id_number: str
    qualification_type: QualificationType
    subject: str
    certified_on: datetime.date
    ethnicity: str | None
    # the ``digestSRI`` of the row's photo (a batch with a zip of photos: issuer.batches.photos)
    photo_digest: str | None = None


FirstRows = tuple[int, Callable[[tuple[ApplicantRow, ...]], None]]
"""``read_batch``'s ``on_first_rows``: (n, called once with the first n valid rows)."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One defect of one cell, for the clerk: a field error (field, code, Chinese and
    English message) with where it is.

    ``column`` is the header as written in the file, ``field`` the canonical field name,
    ``value_preview`` the cell value cut to 40 characters with identity numbers masked;
    ``request_id`` (the application number) and ``name`` are the row's cells as written
    (cut the same way, empty when the file has none), so the clerk finds the applicant.
    """

    row_number: int
    column: str
    field: str
    code: str
    message_zh: str
    message_en: str
    value_preview: str
    request_id: str = ""
    name: str = ""


# The code rules, cached for a file's rows (pure; a refusal raises and is not cached).
_sex = functools.lru_cache(maxsize=256)(codes.sex)
_id_type = functools.lru_cache(maxsize=256)(codes.id_type)
_qualification_type = functools.lru_cache(maxsize=256)(codes.qualification_type)


def _request_id(value: str) -> str | None:
    return texts.text("request_id", value, max_len=REQUEST_ID_MAX, required=False) or None


class _RowCheck:
    """Judges one data row, collecting every error of it."""

    __slots__ = ("columns", "epoch", "errors", "policy", "row_number", "today")

    def __init__(
        self,
        columns: Columns,
        row_number: int,
        today: datetime.date,
        policy: CertificationPolicy,
        epoch: datetime.datetime | None,
    ) -> None:
        self.columns = columns
        self.row_number = row_number
        self.today = today
        self.policy = policy
        self.epoch = epoch  # the workbook's date system; None for CSV
        self.errors: list[RowError] = []

    def fail(self, field: str, code: str, en: str, zh: str, value: object) -> None:
        """Record one error of ``field`` with a masked, shortened preview of ``value``."""
        raw = raw_text(value)
        self.errors.append(
            RowError(
                row_number=self.row_number,
                column=self.columns.header[field],
                field=field,
                code=code,
                message_zh=zh,
                message_en=en,
                value_preview=preview(mask_id(raw) if field == "id_number" else raw),
            )
        )

    def refused(self, exc: InvalidFieldError, value: object) -> None:
        """Record a rule's refusal of ``value``."""
        self.fail(exc.field, exc.code, exc.message, exc.message_zh, value)

    def special(self, field: str, value: object) -> bool:
        """Record and return True when ``value`` is an XLSX formula or error cell."""
        if isinstance(value, Formula):
            self.fail(
                field,
                "formula_cell",
                f"{EN_NAME[field]} is a formula; copy the column and paste it back as values only",
                f"{ZH_NAME[field]}为公式；请复制该列后“选择性粘贴-数值”",
                value,
            )
            return True
        if isinstance(value, CellError):
            self.fail(
                field,
                "cell_error",
                f"{EN_NAME[field]} shows the Excel error {visible(value)}",
                f"{ZH_NAME[field]}显示Excel错误值{visible(value)}",
                value,
            )
            return True
        return False

    def judge(self, field: str, value: object, rule: Callable[[str], T]) -> T | None:
        """Return ``rule`` of the cell's text, or None after recording what is wrong."""
        if type(value) is str:  # (every CSV cell)
            cell = value
        elif self.special(field, value):
            return None
        else:
            cell = raw_text(value)
        try:
            return rule(cell)
        except InvalidFieldError as exc:
            self.refused(exc, value)
            return None

    def code(self, field: str, value: object, rule: Callable[[str | int], T]) -> T | None:
        """Return ``rule`` of the cell: its text, or the integer an XLSX number cell holds
        (a sex code 2, a qualification digit 4)."""
        cell: str | int
        if type(value) is str:  # (every CSV cell)
            cell = value
        elif self.special(field, value):
            return None
        else:
            number = excel_int(value)
            cell = number if number is not None else raw_text(value)
        try:
            return rule(cell)
        except InvalidFieldError as exc:
            self.refused(exc, value)
            return None

    # -- dates ----------------------------------------------------------------------

    def date(
        self, field: str, value: object, *, earliest: datetime.date = EARLIEST_DATE
    ) -> datetime.date | None:
        """Return the day of a date cell if the date rules take it, or None after an error."""
        try:
            if type(value) is str:  # (every CSV cell) a date written as text, usually
                found = written_date(field, value)
            elif self.special(field, value):
                return None
            elif isinstance(value, datetime.datetime):
                found = value.date()
            elif isinstance(value, datetime.date):
                found = value
            elif (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and self.epoch is not None
            ):
                found = _serial(field, value, self.epoch)
            else:
                found = written_date(field, raw_text(value))
            if earliest <= found <= self.today:
                return found
            return dates.date_in_range(field, found, today=self.today, earliest=earliest)
        except InvalidFieldError as exc:
            self.refused(exc, value)
            return None

    # -- identity number ------------------------------------------------------------

    def id_number(
        self,
        value: object,
        kind: IdType | None,
        birth_date: datetime.date | None,
        sex: Sex | None,
    ) -> str | None:
        """Return the normalised number, checked against birth date and sex when known."""
        field = "id_number"
        if type(value) is not str and self.special(field, value):
            return None
        text = raw_text(value)
        if looks_like_number(value, text):
            self.fail(
                field,
                "id_number_as_number",
                "the identity number was saved as a number, and Excel keeps only 15 "
                "significant digits, so its last digits are lost; format the column as "
                "Text, type the numbers again and upload again",
                "证件号码被保存为数字，Excel只保留15位有效数字，末几位已丢失；"
                "请将该列设置为“文本”格式，重新录入证件号码后再上传",
                value,
            )
            return None
        try:
            return identity_number(text, kind, birth_date=birth_date, sex=sex, today=self.today)
        except InvalidFieldError as exc:
            self.refused(exc, value)
            return None


def _serial(field: str, value: float, epoch: datetime.datetime) -> datetime.date:
    """Return the date of an Excel serial number in the workbook's date system."""
    if 1 <= value <= _EXCEL_MAX_SERIAL:
        from openpyxl.utils.datetime import from_excel  # type: ignore[import-untyped]

        converted = from_excel(value, epoch)
        if isinstance(converted, datetime.datetime):
            return converted.date()
    raise date_spelling_error(field)


def validate_rows(
    records: Iterator[Sequence[object]],
    columns: Columns,
    *,
    today: datetime.date,
    policy: CertificationPolicy,
    max_rows: int,
    epoch: datetime.datetime | None = None,
    on_first_rows: FirstRows | None = None,
) -> tuple[list[ApplicantRow], list[RowError], int]:
    """Return (valid rows, errors, non-blank data rows) of the records after the header."""
    first_n, first_fn = on_first_rows if on_first_rows is not None else (0, None)
    # Every field gets a position; absent optional columns read the padding None at the end.
    absent = max(columns.index.values()) + 1
    pick = operator.itemgetter(*(columns.index.get(f, absent) for f in FIELD_ORDER))
    has_request_id = "request_id" in columns.index
    has_ethnicity = "ethnicity" in columns.index
    padding: tuple[object, ...] = (None,) * (absent + 1)
    rows: list[ApplicantRow] = []
    errors: list[RowError] = []
    first_of_key: dict[tuple[IdType, str, QualificationType], int] = {}
    first_of_request: dict[str, int] = {}
    count = 0

    for row_number, cells in enumerate(records, start=2):
        if is_blank(cells):
            continue
        count += 1
        count_guard(count, max_rows)
        (
            v_request_id,
            v_name,
            v_sex,
            v_birth_date,
            v_id_type,
            v_id_number,
            v_qt,
            v_subject,
            v_certified_on,
            v_ethnicity,
        ) = pick((*cells[:absent], *padding))  # cells beyond the last known column ignored

        check = _RowCheck(columns, row_number, today, policy, epoch)
        request_id = (
            check.judge("request_id", v_request_id, _request_id) if has_request_id else None
        )
        name = check.judge("name", v_name, texts.name)
        sex = check.code("sex", v_sex, _sex)
        birth_date = check.date("birth_date", v_birth_date)
        id_type = check.judge("id_type", v_id_type, _id_type)
        id_number = check.id_number(v_id_number, id_type, birth_date, sex)
        qt = check.code("qualification_type", v_qt, _qualification_type)
        subject = check.judge("subject", v_subject, texts.subject)
        certified_on = check.date("certified_on", v_certified_on, earliest=policy.earliest)
        ethnicity = (
            check.judge("ethnicity", v_ethnicity, texts.ethnicity) if has_ethnicity else None
        )
        if birth_date is not None and certified_on is not None:
            try:
                dates.certification_age(certified_on, birth_date, policy)
            except InvalidFieldError as exc:
                check.refused(exc, v_certified_on)

        if id_type is not None and id_number is not None and qt is not None:
            key = (id_type, id_number, qt)
            first = first_of_key.setdefault(key, row_number)
            if first != row_number:
                check.fail(
                    "id_number",
                    "duplicate_row",
                    f"same identity document and qualification type as row {first}",
                    f"与第{first}行的证件号码和资格种类重复",
                    v_id_number,
                )
        if request_id is not None:
            first = first_of_request.setdefault(request_id, row_number)
            if first != row_number:
                check.fail(
                    "request_id",
                    "duplicate_request_id",
                    f"request_id is the same as in row {first}",
                    f"申请编号与第{first}行重复",
                    v_request_id,
                )

        if check.errors:
            # who the row is, as written: the clerk looks the applicant up by these
            rid = preview(raw_text(v_request_id)) if has_request_id else ""
            written = preview(raw_text(v_name))
            errors.extend(replace(e, request_id=rid, name=written) for e in check.errors)
            continue
        assert sex is not None and birth_date is not None and id_type is not None
        assert id_number is not None and qt is not None and certified_on is not None
        assert name is not None and subject is not None
        rows.append(
            ApplicantRow(
                row_number=row_number,
                request_id=request_id,
                name=name,
                sex=sex,
                birth_date=birth_date,
                id_type=id_type,
                id_number=id_number,
                qualification_type=qt,
                subject=subject,
                certified_on=certified_on,
                ethnicity=ethnicity,
            )
        )
        if len(rows) == first_n and first_fn is not None:
            first_fn(tuple(rows))
    return rows, errors, count
