"""Batch files of a certification round: read what a clerk uploads, report what is wrong.

Pure: bytes in, values out. No database, no web framework. See contract sections 2 and 10
and issue 3, point 4.

- :func:`read_batch` reads CSV (UTF-8, UTF-8 with BOM or GB18030) or XLSX with English or
  Chinese headers, validates every row fully (all errors of a row, not only the first) and
  returns the valid rows and the errors together in a :class:`ParsedBatch`. Problems with
  the file as a whole (not a table, missing columns, too many rows) raise
  :class:`BatchFileError`.
- :func:`write_error_report` writes the errors back as CSV (UTF-8 with BOM) or XLSX for
  the clerk, with every text cell guarded against formula injection.

Identity numbers never leave this module whole in an error: previews are masked with
:func:`credential.mask_id`.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import operator
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from credential import (
    IdType,
    InvalidFieldError,
    QualificationType,
    Sex,
    mask_id,
    normalise_id,
    validate_resident_id,
)
from issuer.fields.application import (
    ETHNICITY_MAX,
    FORMULA_START,
    NAME_MAX,
    SUBJECT_MAX,
    too_wide_messages,
)
from issuer.pdf import too_wide, unprintable_character

__all__ = [
    "DEFAULT_MAX_ROWS",
    "ApplicantRow",
    "BatchFileError",
    "FirstRows",
    "ParsedBatch",
    "RowError",
    "read_batch",
    "write_error_report",
]

DEFAULT_MAX_ROWS = 200_000
"""Contract section 10: a batch holds at most 200,000 rows (configurable per call)."""

REQUEST_ID_MAX = 64
PREVIEW_MAX = 40

Encoding = Literal["utf-8", "utf-8-sig", "gb18030", "xlsx"]
Language = Literal["en", "zh"]


class BatchFileError(ValueError):
    """The file as a whole cannot be used; no row of it is read.

    ``code`` is stable (``empty``, ``no_data_rows``, ``too_many_rows``, ``not_text``,
    ``utf16``, ``xls``, ``not_xlsx``, ``bad_xlsx``, ``too_large``, ``bad_csv``,
    ``missing_columns``, ``duplicate_columns``); ``message`` is English, ``message_zh``
    Chinese. ``str()`` gives both.
    """

    def __init__(self, code: str, message: str, message_zh: str) -> None:
        super().__init__(f"{message_zh} / {message}")
        self.code = code
        self.message = message
        self.message_zh = message_zh


class ApplicantRow(NamedTuple):
    """One valid data row. ``row_number`` is the row as Excel shows it (header = row 1).

    A NamedTuple (immutable, compared by value, like the frozen dataclass it was): made
    once per valid row on the batch's single-core validation phase, where a frozen
    dataclass cost ~1.9 us a row and a tuple ~0.4."""

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


FirstRows = tuple[int, Callable[[tuple[ApplicantRow, ...]], None]]
"""``read_batch``'s ``on_first_rows``: (n, called once with the first n valid rows)."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One defect of one cell, for the clerk.

    ``column`` is the header as written in the file, ``field`` the canonical field name,
    ``value_preview`` the cell value cut to 40 characters with identity numbers masked.
    """

    row_number: int
    column: str
    field: str
    code: str
    message_zh: str
    message_en: str
    value_preview: str


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """What :func:`read_batch` found: valid rows, errors, and how the file was read.

    ``total_rows`` counts the non-blank data rows (valid or not).
    """

    rows: tuple[ApplicantRow, ...]
    errors: tuple[RowError, ...]
    total_rows: int
    encoding: Encoding
    header_language: Language


# --------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------

_REQUIRED = (
    "name",
    "sex",
    "birth_date",
    "id_type",
    "id_number",
    "qualification_type",
    "subject",
    "certified_on",
)
_OPTIONAL = ("request_id", "ethnicity")
_FIELD_ORDER = (
    "request_id",
    "name",
    "sex",
    "birth_date",
    "id_type",
    "id_number",
    "qualification_type",
    "subject",
    "certified_on",
    "ethnicity",
)

_EN_HEADERS: dict[str, str] = {
    "request_id": "request_id",
    "name": "name",
    "gender": "sex",
    "sex": "sex",
    "birth_date": "birth_date",
    "id_type": "id_type",
    "id_number": "id_number",
    "qualification_type": "qualification_type",
    "subject": "subject",
    "issue_date": "certified_on",
    "certified_on": "certified_on",
    "ethnicity": "ethnicity",
}
_ZH_HEADERS: dict[str, str] = {
    "申请编号": "request_id",
    "姓名": "name",
    "性别": "sex",
    "出生日期": "birth_date",
    "证件类型": "id_type",
    "证件号码": "id_number",
    "资格种类": "qualification_type",
    "任教学科": "subject",
    "认定日期": "certified_on",
    "民族": "ethnicity",
}
# How a field is named back to the clerk: English as in shared/data/applicants-1000.csv.
_EN_NAME: dict[str, str] = {
    "request_id": "request_id",
    "name": "name",
    "sex": "gender",
    "birth_date": "birth_date",
    "id_type": "id_type",
    "id_number": "id_number",
    "qualification_type": "qualification_type",
    "subject": "subject",
    "certified_on": "issue_date",
    "ethnicity": "ethnicity",
}
_ZH_NAME: dict[str, str] = {field: header for header, field in _ZH_HEADERS.items()}


@dataclass(frozen=True, slots=True)
class _Columns:
    """Where each canonical field sits (0-based) and how its header was written."""

    index: dict[str, int]
    header: dict[str, str]
    language: Language


def _map_header(cells: Sequence[object]) -> _Columns:
    """Return the column map of a header row; raises BatchFileError for missing or repeated."""
    index: dict[str, int] = {}
    header: dict[str, str] = {}
    en = zh = 0
    repeated: list[str] = []
    for i, cell in enumerate(cells):
        written = "" if cell is None else str(cell).strip()
        if not written:
            continue
        field = _ZH_HEADERS.get(written)
        if field is not None:
            zh += 1
        else:
            field = _EN_HEADERS.get(written.lower())
            if field is None:
                continue  # unknown extra columns are ignored
            en += 1
        if field in index:
            repeated.append(f"{header[field]} / {written}")
            continue
        index[field] = i
        header[field] = written
    if repeated:
        shown = "; ".join(_preview(r) for r in repeated)
        raise BatchFileError(
            "duplicate_columns",
            f"these columns name the same field, keep one of each: {shown}",
            f"以下各列表示同一项目，请每项只保留一列：{shown}",
        )
    missing = [f for f in _REQUIRED if f not in index]
    if missing:
        raise BatchFileError(
            "missing_columns",
            "missing required columns: "
            + ", ".join(_EN_NAME[f] for f in missing)
            + " (the header must be in row 1)",
            "缺少必需的列：" + "、".join(_ZH_NAME[f] for f in missing) + "（表头应在第1行）",
        )
    return _Columns(index=index, header=header, language="zh" if zh > en else "en")


# --------------------------------------------------------------------------------------
# Sources: raw rows of CSV or XLSX
# --------------------------------------------------------------------------------------

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UTF8_BOM = b"\xef\xbb\xbf"
# A legitimate row of XML in a sheet is far below this; it bounds decompression.
_XLSX_BYTES_PER_ROW = 2048
_XLSX_MIN_BUDGET = 16 * 1024 * 1024


class _Formula(str):
    """The text of a formula cell of an XLSX sheet (not its computed value)."""

    __slots__ = ()


class _CellError(str):
    """An Excel error value such as ``#N/A`` in an XLSX cell."""

    __slots__ = ()


def _is_blank(cells: Sequence[object]) -> bool:
    """Return True when every cell is empty or whitespace."""
    for c in cells:
        if c is None:
            continue
        if isinstance(c, str):
            if c.strip():
                return False
        else:
            return False
    return True


def _decode(data: bytes) -> tuple[str, Encoding]:
    """Return the text and the encoding it was read with; raises BatchFileError."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BatchFileError(
            "utf16",
            "the file is UTF-16 text (Excel 'Unicode Text'); save it as "
            "'CSV UTF-8 (comma delimited)' or as an .xlsx workbook",
            "文件为UTF-16文本（Excel“Unicode文本”）；请另存为“CSV UTF-8（逗号分隔）”或.xlsx工作簿",
        )
    text: str | None = None
    encoding: Encoding
    if data.startswith(_UTF8_BOM):
        encoding = "utf-8-sig"
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, encoding = data.decode("gb18030"), "gb18030"
            except UnicodeDecodeError:
                text = None
    if text is None or "\x00" in text:
        raise BatchFileError(
            "not_text",
            "the file is neither an .xlsx workbook nor CSV text in UTF-8 or GB18030",
            "文件既不是.xlsx工作簿，也不是UTF-8或GB18030编码的CSV文本",
        )
    return text, encoding


def _csv_records(text: str) -> Iterator[list[str]]:
    """Yield the records of CSV text; raises BatchFileError for malformed CSV."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise BatchFileError(
                "bad_csv",
                f"the CSV cannot be read near line {reader.line_num}: {exc}",
                f"CSV文件在第{reader.line_num}行附近无法读取：{exc}",
            ) from None
        yield record


def _count_guard(count: int, max_rows: int) -> None:
    """Raise BatchFileError once ``count`` data rows exceed ``max_rows``."""
    if count > max_rows:
        raise BatchFileError(
            "too_many_rows",
            f"the file has more than {max_rows:,} data rows; split it into smaller files",
            f"文件的数据行超过{max_rows}行；请拆分为多个文件",
        )


def _bad_xlsx(detail: str) -> BatchFileError:
    return BatchFileError(
        "bad_xlsx",
        f"the .xlsx workbook cannot be read ({detail}); open it in Excel and save it again",
        f"无法读取该.xlsx工作簿（{detail}）；请用Excel打开后重新保存",
    )


def _xlsx_rows(data: bytes, max_rows: int) -> tuple[Iterator[tuple[object, ...]], Any]:
    """Return (rows of the first sheet as cell values, the open workbook to close).

    Formula cells come as :class:`_Formula`, error cells as :class:`_CellError`, dates as
    ``datetime``. Raises BatchFileError for a damaged or oversized workbook.
    """
    import openpyxl  # type: ignore[import-untyped]  # issuer extra; CSV needs only stdlib

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _bad_xlsx(type(exc).__name__) from None
    budget = max(_XLSX_MIN_BUDGET, max_rows * _XLSX_BYTES_PER_ROW)
    if declared > budget:
        raise BatchFileError(
            "too_large",
            f"the workbook unpacks to {declared:,} bytes, more than {budget:,}; "
            "save only the applicants' sheet, without pictures or formatting",
            f"工作簿解压后为{declared}字节，超过{budget}字节上限；请只保存申请人名单，去掉图片和格式",
        )
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        if not wb.worksheets:
            raise _bad_xlsx("no worksheet")
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # declared dimensions can be wrong; read what is there
    except BatchFileError:
        raise
    except Exception as exc:  # damaged archives raise anything from KeyError to XML errors
        raise _bad_xlsx(type(exc).__name__) from None

    def rows() -> Iterator[tuple[object, ...]]:
        cells_iter = ws.iter_rows()
        while True:
            try:
                cells = next(cells_iter)
            except StopIteration:
                return
            except Exception as exc:  # malformed sheet XML
                raise _bad_xlsx(type(exc).__name__) from None
            values: list[object] = []
            for cell in cells:
                value = getattr(cell, "value", None)
                kind = getattr(cell, "data_type", None)
                if kind == "f":
                    value = _Formula(value if isinstance(value, str) else "=")
                elif kind == "e":
                    value = _CellError(value if isinstance(value, str) else "#VALUE!")
                values.append(value)
            yield tuple(values)

    return rows(), wb


# --------------------------------------------------------------------------------------
# Cell values
# --------------------------------------------------------------------------------------

_ID_RUN = re.compile(r"\d{14,17}[\dXx]")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d+)?[eE][+-]?\d+")
_DATE_SEP = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_DATE_ZH = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_EARLIEST = datetime.date(1900, 1, 1)
_EXCEL_MAX_SERIAL = 2_958_465  # 9999-12-31
# China Standard Time: a certification dated today is valid from 00:00 Beijing time.
_CHINA_TZ = datetime.timezone(datetime.timedelta(hours=8), "CST")


def _printable(text: str) -> str:
    """Return ``text`` with non-printable characters shown as U+XXXX."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else f"U+{ord(ch):04X}" for ch in text)


def _preview(text: str) -> str:
    """Return ``text`` cut to PREVIEW_MAX characters, printable, identity numbers masked."""
    text = _ID_RUN.sub(lambda m: mask_id(m.group()), text)
    if len(text) > PREVIEW_MAX:
        text = text[:PREVIEW_MAX] + "…"
    return _printable(text)


def _number_text(value: float | int) -> str:
    """Return a number as plain digits when integral (1.1e17 -> '110000000000000000')."""
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)


def _raw_text(value: object) -> str:
    """Return a cell value as the clerk would see it (for previews), unstripped."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _control_char(text: str) -> tuple[int, str] | None:
    """Return (1-based position, character) of the first control/format character."""
    if text.isprintable():
        return None
    for i, ch in enumerate(text, start=1):
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return i, ch
    return None


def _excel_int(value: object) -> int | None:
    """Return an integral XLSX number as int, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


# The enum parsers, cached (pure; a refusal raises and is not cached).
@functools.lru_cache(maxsize=256)
def _sex(value: str | int) -> Sex:
    return Sex.parse(value, field="sex")


@functools.lru_cache(maxsize=256)
def _id_type(value: str) -> IdType:
    return IdType.parse(value, field="id_type")


@functools.lru_cache(maxsize=256)
def _qualification_type(value: str | int) -> QualificationType:
    return QualificationType.parse(value, field="qualification_type")


@functools.lru_cache(maxsize=4096)
def _date_of_text(raw: str) -> datetime.date | str | None:
    """Return the date written in ``raw``; else None when it is blank, ``""`` when it is
    not written as a date, or the (printable) text when it names no real day.

    Pure, so cached: a round's rows repeat their certification date and many birth dates.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return None
    m = _DATE_SEP.fullmatch(text)
    if m is not None:
        parts = (m.group(1), m.group(3), m.group(4))
    else:
        m = _DATE_ZH.fullmatch(text)
        if m is None:
            return ""
        parts = (m.group(1), m.group(2), m.group(3))
    try:
        return datetime.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return _printable(text)


class _RowCheck:
    """Validates one data row, collecting every error of it."""

    __slots__ = ("columns", "epoch", "errors", "row_number", "today")

    def __init__(
        self,
        columns: _Columns,
        row_number: int,
        today: datetime.date,
        epoch: datetime.datetime | None,
    ) -> None:
        self.columns = columns
        self.row_number = row_number
        self.today = today
        self.epoch = epoch  # the workbook's date system; None for CSV
        self.errors: list[RowError] = []

    def fail(self, field: str, code: str, en: str, zh: str, value: object) -> None:
        """Record one error of ``field`` with a masked, shortened preview of ``value``."""
        raw = _raw_text(value)
        preview = _preview(mask_id(raw) if field == "id_number" else raw)
        self.errors.append(
            RowError(
                row_number=self.row_number,
                column=self.columns.header[field],
                field=field,
                code=code,
                message_zh=zh,
                message_en=en,
                value_preview=preview,
            )
        )

    def fail_with(self, exc: InvalidFieldError, field: str, value: object) -> None:
        """Record a credential validator's rejection."""
        self.fail(field, exc.code, exc.message, exc.message_zh, value)

    def special(self, field: str, value: object) -> bool:
        """Record and return True when ``value`` is an XLSX formula or error cell."""
        if type(value) is str or value is None:
            return False
        if isinstance(value, _Formula):
            self.fail(
                field,
                "formula_cell",
                f"{_EN_NAME[field]} is a formula; copy the column and paste it back as values only",
                f"{_ZH_NAME[field]}为公式；请复制该列后“选择性粘贴-数值”",
                value,
            )
            return True
        if isinstance(value, _CellError):
            self.fail(
                field,
                "cell_error",
                f"{_EN_NAME[field]} shows the Excel error {_printable(value)}",
                f"{_ZH_NAME[field]}显示Excel错误值{_printable(value)}",
                value,
            )
            return True
        return False

    def required(self, field: str, value: object) -> None:
        """Record that a required cell is empty."""
        self.fail(
            field,
            "required",
            f"{_EN_NAME[field]} is required",
            f"{_ZH_NAME[field]}不能为空",
            value,
        )

    # -- text -----------------------------------------------------------------------

    def text(
        self,
        field: str,
        value: object,
        *,
        limit: int,
        required: bool,
        formula: bool,
        printable: bool = False,
    ) -> str | None:
        """Return the trimmed text, or None after recording an error (or when optional
        and empty). ``printable``: the text goes on the certificate, so every character
        must be in its fonts."""
        if type(value) is str:  # (every CSV cell: not special, its own raw text)
            text = value.strip()
        elif self.special(field, value):
            return None
        else:
            text = _raw_text(value).strip()
        if not unicodedata.is_normalized("NFC", text):  # as a single issuance stores it
            text = unicodedata.normalize("NFC", text).strip()
        if not text:
            if required:
                self.required(field, value)
            return None
        if formula and text.startswith(FORMULA_START):
            self.fail(
                field,
                "formula_text",
                f"{_EN_NAME[field]} starts with '{text[0]}', which spreadsheets run as a "
                "formula; a real value never does",
                f"{_ZH_NAME[field]}以“{text[0]}”开头，电子表格会将其当作公式执行；请填写实际内容",
                value,
            )
            return None
        bad = _control_char(text)
        if bad is not None:
            pos, ch = bad
            self.fail(
                field,
                "control_characters",
                f"{_EN_NAME[field]} contains the invisible character U+{ord(ch):04X} at "
                f"position {pos}",
                f"{_ZH_NAME[field]}第{pos}个字符为不可见字符U+{ord(ch):04X}",
                value,
            )
            return None
        if len(text) > limit:
            self.fail(
                field,
                "too_long",
                f"{_EN_NAME[field]} has {len(text)} characters; at most {limit} are allowed",
                f"{_ZH_NAME[field]}为{len(text)}个字符，最多允许{limit}个",
                value,
            )
            return None
        bad_char = unprintable_character(text) if printable else None
        if bad_char is not None:
            code = f"U+{ord(bad_char):04X}"
            self.fail(
                field,
                "unprintable",
                f"{_EN_NAME[field]} has the character {bad_char!r} ({code}), which is in no "
                "certificate font and cannot be printed",
                f"{_ZH_NAME[field]}中的字符“{bad_char}”（{code}）在证书字体中不存在，无法打印",
                value,
            )
            return None
        if printable and too_wide(field, text) is not None:
            en, zh = too_wide_messages(_ZH_NAME[field])
            self.fail(field, "unprintable", f"{_EN_NAME[field]} {en}", zh, value)
            return None
        return text

    # -- enumerations ---------------------------------------------------------------

    def code_value(self, field: str, value: object) -> str | int | None:
        """Return the value to give an enum parser (int for integral numbers), or None."""
        if type(value) is str:  # (every CSV cell: not special, not a number)
            text = value.strip()
        elif self.special(field, value):
            return None
        else:
            number = _excel_int(value)
            if number is not None:
                return number
            text = _raw_text(value).strip()
        if not text:
            self.required(field, value)
            return None
        return text

    def sex(self, value: object) -> Sex | None:
        v = self.code_value("sex", value)
        if v is None:
            return None
        try:
            return _sex(v)
        except InvalidFieldError as exc:
            self.fail_with(exc, "sex", value)
            return None

    def id_type(self, value: object) -> IdType | None:
        v = self.code_value("id_type", value)
        if v is None:
            return None
        try:
            return _id_type(str(v))
        except InvalidFieldError as exc:
            self.fail_with(exc, "id_type", value)
            return None

    def qualification_type(self, value: object) -> QualificationType | None:
        v = self.code_value("qualification_type", value)
        if v is None:
            return None
        try:
            return _qualification_type(v)
        except InvalidFieldError as exc:
            self.fail_with(exc, "qualification_type", value)
            return None

    # -- dates ----------------------------------------------------------------------

    def date(self, field: str, value: object) -> datetime.date | None:
        """Return a date not before 1900 and not after today, or None after an error."""
        found: datetime.date | None
        if type(value) is str:  # (every CSV cell) a date written as text, usually
            got = _date_of_text(value)
            if type(got) is datetime.date:
                found = got
            else:
                found = self._date_text(field, value)  # records what is wrong
                if found is None:
                    return None
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
            found = self._serial(field, value, self.epoch)
            if found is None:
                return None
        else:
            found = self._date_text(field, value)
            if found is None:
                return None
        if found < _EARLIEST:
            self.fail(
                field,
                "date_out_of_range",
                f"{_EN_NAME[field]} {found.isoformat()} is before 1900-01-01",
                f"{_ZH_NAME[field]}{found.isoformat()}早于1900-01-01",
                value,
            )
            return None
        if found > self.today:
            self.fail(
                field,
                "date_in_future",
                f"{_EN_NAME[field]} {found.isoformat()} is after today ({self.today.isoformat()})",
                f"{_ZH_NAME[field]}{found.isoformat()}晚于今天（{self.today.isoformat()}）",
                value,
            )
            return None
        return found

    def _date_format_error(self, field: str, value: object) -> None:
        self.fail(
            field,
            "date_format",
            f"{_EN_NAME[field]} is not a date; write it as YYYY-MM-DD, YYYY/MM/DD, "
            "YYYY.MM.DD or YYYY年M月D日",
            f"{_ZH_NAME[field]}不是日期；请写作 YYYY-MM-DD、YYYY/MM/DD、YYYY.MM.DD 或 YYYY年M月D日",
            value,
        )

    def _serial(self, field: str, value: float, epoch: datetime.datetime) -> datetime.date | None:
        """Return the date of an Excel serial number in the workbook's date system."""
        if not 1 <= value <= _EXCEL_MAX_SERIAL:
            self._date_format_error(field, value)
            return None
        from openpyxl.utils.datetime import from_excel  # type: ignore[import-untyped]

        converted = from_excel(value, epoch)
        if not isinstance(converted, datetime.datetime):
            self._date_format_error(field, value)
            return None
        return converted.date()

    def _date_text(self, field: str, value: object) -> datetime.date | None:
        found = _date_of_text(_raw_text(value))
        if type(found) is datetime.date:
            return found
        if found is None:
            self.required(field, value)
        elif found == "":
            self._date_format_error(field, value)
        else:
            self.fail(
                field,
                "date_invalid",
                f"{_EN_NAME[field]} {found} is not a real date",
                f"{_ZH_NAME[field]}{found}不是有效日期",
                value,
            )
        return None

    # -- identity number ------------------------------------------------------------

    def id_number(
        self,
        value: object,
        id_type: IdType | None,
        birth_date: datetime.date | None,
        sex: Sex | None,
    ) -> str | None:
        """Return the normalised number, checked against birth date and sex when known."""
        field = "id_number"
        if self.special(field, value):
            return None
        text = _raw_text(value).strip()
        as_number = (isinstance(value, int | float) and not isinstance(value, bool)) or (
            _SCIENTIFIC.fullmatch(text) is not None
        )
        if as_number:
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
        if not text:
            self.required(field, value)
            return None
        if id_type is None:
            return None  # the type is unknown, already reported; the number cannot be checked
        try:
            if id_type is IdType.RESIDENT_ID:
                return validate_resident_id(
                    text, birth_date=birth_date, sex=sex, field=field, today=self.today
                )
            return normalise_id(id_type, text, field=field)
        except InvalidFieldError as exc:
            self.fail_with(exc, field, value)
            return None


# --------------------------------------------------------------------------------------
# read_batch
# --------------------------------------------------------------------------------------


def _validate_rows(
    records: Iterator[Sequence[object]],
    columns: _Columns,
    *,
    today: datetime.date,
    max_rows: int,
    epoch: datetime.datetime | None = None,
    on_first_rows: FirstRows | None = None,
) -> tuple[list[ApplicantRow], list[RowError], int]:
    """Return (valid rows, errors, non-blank data rows) of the records after the header."""
    first_n, first_fn = on_first_rows if on_first_rows is not None else (0, None)
    # Every field gets a position; absent optional columns read the padding None at the end.
    absent = max(columns.index.values()) + 1
    pick = operator.itemgetter(*(columns.index.get(f, absent) for f in _FIELD_ORDER))
    has_request_id = "request_id" in columns.index
    has_ethnicity = "ethnicity" in columns.index
    padding: tuple[object, ...] = (None,) * (absent + 1)
    rows: list[ApplicantRow] = []
    errors: list[RowError] = []
    first_of_key: dict[tuple[IdType, str, QualificationType], int] = {}
    first_of_request: dict[str, int] = {}
    count = 0

    for row_number, cells in enumerate(records, start=2):
        if _is_blank(cells):
            continue
        count += 1
        _count_guard(count, max_rows)
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

        check = _RowCheck(columns, row_number, today, epoch)
        request_id = (
            check.text(
                "request_id", v_request_id, limit=REQUEST_ID_MAX, required=False, formula=False
            )
            if has_request_id
            else None
        )
        name = check.text(
            "name", v_name, limit=NAME_MAX, required=True, formula=True, printable=True
        )
        sex = check.sex(v_sex)
        birth_date = check.date("birth_date", v_birth_date)
        id_type = check.id_type(v_id_type)
        id_number = check.id_number(v_id_number, id_type, birth_date, sex)
        qt = check.qualification_type(v_qt)
        subject = check.text(
            "subject", v_subject, limit=SUBJECT_MAX, required=True, formula=True, printable=True
        )
        certified_on = check.date("certified_on", v_certified_on)
        ethnicity = (
            check.text(
                "ethnicity",
                v_ethnicity,
                limit=ETHNICITY_MAX,
                required=False,
                formula=True,
                printable=True,
            )
            if has_ethnicity
            else None
        )

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
            errors.extend(check.errors)
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


def _no_rows() -> BatchFileError:
    return BatchFileError(
        "no_data_rows",
        "the file has a header but no data rows",
        "文件只有表头，没有数据行",
    )


def read_batch(
    data: bytes,
    *,
    filename: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    today: datetime.date | None = None,
    on_first_rows: FirstRows | None = None,
) -> ParsedBatch:
    """Return the valid rows and every row error of an uploaded batch file.

    XLSX is recognised by its ZIP signature (first sheet read, formula cells not
    evaluated); anything else is CSV in UTF-8 with BOM, UTF-8 or GB18030, tried in that
    order. ``filename`` only sharpens the message when a file named ``.xlsx`` is not one.
    ``today`` (default: today's date in China, UTC+8, as the office writes its dates)
    bounds birth and issue dates. ``on_first_rows=(n, fn)`` calls ``fn`` once with the
    first ``n`` valid rows as soon as they are validated, while the rest still are (a row
    valid then stays valid: a duplicate is the later row's error); the file may still be
    refused as a whole afterwards (an XLSX over ``max_rows``).

    Raises BatchFileError when the file is empty, not a table, lacks required columns,
    repeats a column, has no data rows, or has more than ``max_rows`` data rows.
    """
    today = today or datetime.datetime.now(_CHINA_TZ).date()
    if not data or not data.strip():
        raise BatchFileError("empty", "the file is empty", "文件为空")
    if data.startswith(_OLE2_MAGIC):
        raise BatchFileError(
            "xls",
            "this is an old .xls workbook or a password-protected one; save it as .xlsx "
            "without a password, or as CSV",
            "这是旧版.xls工作簿或设有密码的工作簿；请另存为无密码的.xlsx或CSV文件",
        )

    if data.startswith(_ZIP_MAGIC):
        sheet_rows, wb = _xlsx_rows(data, max_rows)
        try:
            header = next(sheet_rows, None)
            if header is None or _is_blank(header):
                raise BatchFileError(
                    "empty",
                    "the first sheet is empty (the header must be in row 1)",
                    "第一个工作表为空（表头应在第1行）",
                )
            columns = _map_header(header)
            rows, errors, count = _validate_rows(
                sheet_rows,
                columns,
                today=today,
                max_rows=max_rows,
                epoch=wb.epoch,
                on_first_rows=on_first_rows,
            )
        finally:
            wb.close()
        encoding: Encoding = "xlsx"
    else:
        if filename is not None and filename.lower().endswith((".xlsx", ".xlsm")):
            raise BatchFileError(
                "not_xlsx",
                "the file is named .xlsx but is not an Excel workbook",
                "文件扩展名为.xlsx，但内容不是Excel工作簿",
            )
        text, encoding = _decode(data)
        records = _csv_records(text)
        header_record = next(records, None)
        if header_record is None or _is_blank(header_record):
            raise BatchFileError(
                "empty",
                "the file has no header in line 1",
                "文件第1行没有表头",
            )
        columns = _map_header(header_record)
        # A cheap first pass refuses an oversized file before any row is validated; it
        # keeps the records (no second CSV parse: ~7 ms of a 10,000-row file).
        count = 0
        kept: list[list[str]] = []
        for record in records:
            kept.append(record)
            if not _is_blank(record):
                count += 1
                _count_guard(count, max_rows)
        rows, errors, count = _validate_rows(
            iter(kept), columns, today=today, max_rows=max_rows, on_first_rows=on_first_rows
        )

    if count == 0:
        raise _no_rows()
    return ParsedBatch(
        rows=tuple(rows),
        errors=tuple(errors),
        total_rows=count,
        encoding=encoding,
        header_language=columns.language,
    )


# --------------------------------------------------------------------------------------
# Error report
# --------------------------------------------------------------------------------------

_REPORT_HEADERS: dict[str, tuple[str, str, str, str]] = {
    "zh": ("行号", "列", "原因", "值"),
    "en": ("Row", "Column", "Reason", "Value"),
}
# OWASP CSV injection: cells starting with these are run as formulas by spreadsheets.
_INJECTION_START = ("=", "+", "-", "@", "\t", "\r")


def _guard(text: str) -> str:
    """Return ``text`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(_INJECTION_START) else text


def _report_cells(error: RowError, lang: Language) -> tuple[int, str, str, str]:
    reason = error.message_zh if lang == "zh" else error.message_en
    return (
        error.row_number,
        _printable(_guard(error.column)),
        _printable(_guard(reason)),
        _printable(_guard(error.value_preview)),
    )


def write_error_report(
    errors: Sequence[RowError],
    *,
    fmt: Literal["csv", "xlsx"],
    lang: Language = "zh",
) -> bytes:
    """Return the errors as a downloadable report: row, column, reason, value (masked).

    CSV is UTF-8 with BOM (opens correctly in Excel in China); XLSX has one sheet whose
    text cells are all strings. Every text cell that a spreadsheet would run as a formula
    (starting with = + - @ tab or CR) gets a leading ``'``. Raises ValueError for an
    unknown ``fmt`` or ``lang``.
    """
    if lang not in _REPORT_HEADERS:
        raise ValueError(f"lang must be 'zh' or 'en', not {lang!r}")
    headers = _REPORT_HEADERS[lang]
    if fmt == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(headers)
        for error in errors:
            writer.writerow(_report_cells(error, lang))
        return out.getvalue().encode("utf-8-sig")
    if fmt == "xlsx":
        import openpyxl
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("错误" if lang == "zh" else "Errors")
        ws.column_dimensions["A"].width = 8
        ws.column_dimensions["B"].width = 16
        ws.column_dimensions["C"].width = 80
        ws.column_dimensions["D"].width = 44

        def text_cell(value: str) -> WriteOnlyCell:
            c = WriteOnlyCell(ws, value=value)
            c.data_type = "s"  # a string, never a formula, whatever it starts with
            return c

        ws.append([text_cell(h) for h in headers])
        for error in errors:
            row_number, column, reason, value = _report_cells(error, lang)
            ws.append(
                [
                    WriteOnlyCell(ws, value=row_number),
                    text_cell(column),
                    text_cell(reason),
                    text_cell(value),
                ]
            )
        out_b = io.BytesIO()
        wb.save(out_b)
        return out_b.getvalue()
    raise ValueError(f"fmt must be 'csv' or 'xlsx', not {fmt!r}")
