"""A batch file's bytes as rows of cells: CSV (UTF-8, UTF-8 with BOM or GB18030) or XLSX
(its first sheet), and the refusals of a file as a whole (:class:`BatchFileError`).

Pure: bytes in, cells out. A damaged or oversized workbook is refused before it is
unpacked further than its size allows.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from issuer.batches.cells import CellError, Formula

__all__ = [
    "OLE2_MAGIC",
    "ZIP_MAGIC",
    "BatchFileError",
    "Encoding",
    "count_guard",
    "csv_records",
    "decode",
    "is_blank",
    "xlsx_rows",
]

Encoding = Literal["utf-8", "utf-8-sig", "gb18030", "xlsx"]


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


ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UTF8_BOM = b"\xef\xbb\xbf"
# A legitimate row of XML in a sheet is far below this; it bounds decompression.
_XLSX_BYTES_PER_ROW = 2048
_XLSX_MIN_BUDGET = 16 * 1024 * 1024


def is_blank(cells: Sequence[object]) -> bool:
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


def decode(data: bytes) -> tuple[str, Encoding]:
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


def csv_records(text: str) -> Iterator[list[str]]:
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


def count_guard(count: int, max_rows: int) -> None:
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


def xlsx_rows(data: bytes, max_rows: int) -> tuple[Iterator[tuple[object, ...]], Any]:
    """Return (rows of the first sheet as cell values, the open workbook to close).

    Formula cells come as :class:`Formula`, error cells as :class:`CellError`, dates as
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
                    value = Formula(value if isinstance(value, str) else "=")
                elif kind == "e":
                    value = CellError(value if isinstance(value, str) else "#VALUE!")
                values.append(value)
            yield tuple(values)

    return rows(), wb
