"""Batch files of a certification round: read what a clerk uploads (contract sections 2
and 10).

Pure: bytes in, values out. No database, no web framework. :func:`read_batch` reads CSV
(UTF-8, UTF-8 with BOM or GB18030) or XLSX with English or Chinese headers
(``issuer.batches.files``, ``issuer.batches.headers``), judges every row by the shared
field rules (``issuer.batches.rows``) and returns the valid rows and the errors together
in a :class:`ParsedBatch`. Problems with the file as a whole (not a table, missing
columns, too many rows) raise :class:`BatchFileError`. ``issuer.batches.report`` writes
the errors back for the clerk.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from credential import beijing_date
from issuer.batches.files import (
    OLE2_MAGIC,
    ZIP_MAGIC,
    BatchFileError,
    Encoding,
    count_guard,
    csv_records,
    decode,
    is_blank,
    xlsx_rows,
)
from issuer.batches.headers import Language, map_header
from issuer.batches.rows import ApplicantRow, FirstRows, RowError, validate_rows
from issuer.fields.dates import CertificationPolicy
from issuer.settings import IssuerSettings

__all__ = [
    "DEFAULT_MAX_ROWS",
    "ApplicantRow",
    "BatchFileError",
    "FirstRows",
    "ParsedBatch",
    "RowError",
    "read_batch",
]

DEFAULT_MAX_ROWS = 200_000
"""Contract section 10: a batch holds at most 200,000 rows (configurable per call)."""


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
    settings: IssuerSettings | None = None,
    on_first_rows: FirstRows | None = None,
) -> ParsedBatch:
    """Return the valid rows and every row error of an uploaded batch file.

    XLSX is recognised by its ZIP signature (first sheet read, formula cells not
    evaluated); anything else is CSV in UTF-8 with BOM, UTF-8 or GB18030, tried in that
    order. ``filename`` only sharpens the message when a file named ``.xlsx`` is not one.
    ``today`` (default: today's date in Beijing, as the office writes its dates)
    bounds birth and issue dates; ``settings`` gives the office's certification policy
    (minimum age, earliest date; the defaults when None). ``on_first_rows=(n, fn)``
    calls ``fn`` once with the first ``n`` valid rows as soon as they are validated,
    while the rest still are (a row valid then stays valid: a duplicate is the later
    row's error); the file may still be refused as a whole afterwards (an XLSX over
    ``max_rows``).

    Raises BatchFileError when the file is empty, not a table, lacks required columns,
    repeats a column, has no data rows, or has more than ``max_rows`` data rows.
    """
    today = today or beijing_date(datetime.datetime.now(datetime.UTC))
    policy = CertificationPolicy.of(settings)
    if not data or not data.strip():
        raise BatchFileError("empty", "the file is empty", "文件为空")
    if data.startswith(OLE2_MAGIC):
        raise BatchFileError(
            "xls",
            "this is an old .xls workbook or a password-protected one; save it as .xlsx "
            "without a password, or as CSV",
            "这是旧版.xls工作簿或设有密码的工作簿；请另存为无密码的.xlsx或CSV文件",
        )

    if data.startswith(ZIP_MAGIC):
        sheet_rows, wb = xlsx_rows(data, max_rows)
        try:
            header = next(sheet_rows, None)
            if header is None or is_blank(header):
                raise BatchFileError(
                    "empty",
                    "the first sheet is empty (the header must be in row 1)",
                    "第一个工作表为空（表头应在第1行）",
                )
            columns = map_header(header)
            rows, errors, count = validate_rows(
                sheet_rows,
                columns,
                today=today,
                policy=policy,
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
        text, encoding = decode(data)
        records = csv_records(text)
        header_record = next(records, None)
        if header_record is None or is_blank(header_record):
            raise BatchFileError(
                "empty",
                "the file has no header in line 1",
                "文件第1行没有表头",
            )
        columns = map_header(header_record)
        # A cheap first pass refuses an oversized file before any row is validated; it
        # keeps the records (the CSV is parsed once).
        count = 0
        kept: list[list[str]] = []
        for record in records:
            kept.append(record)
            if not is_blank(record):
                count += 1
                count_guard(count, max_rows)
        rows, errors, count = validate_rows(
            iter(kept),
            columns,
            today=today,
            policy=policy,
            max_rows=max_rows,
            on_first_rows=on_first_rows,
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
