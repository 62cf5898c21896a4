"""The error report of a batch: the row errors written back as CSV (UTF-8 with BOM) or XLSX
for the clerk, every text cell guarded against formula injection (``write_table``, which
the batch's manifest uses too).

Identity numbers are already masked in the errors (``issuer.batches.rows``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Literal

from issuer.batches.cells import visible
from issuer.batches.headers import Language
from issuer.batches.rows import RowError

__all__ = ["write_error_report", "write_table"]

# row, application number, name, column, reason (issue 13), then the value as found
_REPORT_HEADERS: dict[str, tuple[str, ...]] = {
    "zh": ("行号", "申请编号", "姓名", "列", "原因", "值"),
    "en": ("Row", "Application number", "Name", "Column", "Reason", "Value"),
}
# OWASP CSV injection: cells starting with these are run as formulas by spreadsheets.
_INJECTION_START = ("=", "+", "-", "@", "\t", "\r")


def _guard(text: str) -> str:
    """Return ``text`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(_INJECTION_START) else text


def _report_cells(error: RowError, lang: Language) -> tuple[int, str, str, str, str, str]:
    reason = error.message_zh if lang == "zh" else error.message_en
    return (
        error.row_number,
        error.request_id,
        error.name,
        error.column,
        reason,
        error.value_preview,
    )


def write_error_report(
    errors: Sequence[RowError],
    *,
    fmt: Literal["csv", "xlsx"],
    lang: Language = "zh",
) -> bytes:
    """Return the errors as a downloadable report: row, application number, name, column,
    reason, value (masked), written by :func:`write_table`. Raises ValueError for an
    unknown ``fmt`` or ``lang``.
    """
    if lang not in _REPORT_HEADERS:
        raise ValueError(f"lang must be 'zh' or 'en', not {lang!r}")
    return write_table(
        _REPORT_HEADERS[lang],
        (_report_cells(e, lang) for e in errors),
        fmt=fmt,
        sheet="错误" if lang == "zh" else "Errors",
        widths=(8, 20, 16, 16, 80, 44),
    )


def write_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[int | str]],
    *,
    fmt: Literal["csv", "xlsx"],
    sheet: str,
    widths: Sequence[int] = (),
) -> bytes:
    """Return ``rows`` under ``headers`` as a file for the clerk: CSV in UTF-8 with BOM
    (opens correctly in Excel in China) or XLSX with one sheet named ``sheet`` whose text
    cells are all strings (never formulas). Every text cell that a spreadsheet would run
    as a formula (starting with = + - @ tab or CR) gets a leading ``'``; integers stay
    numbers. ``widths``: XLSX column widths, in order. Raises ValueError for an unknown
    ``fmt``.
    """

    def cells(row: Sequence[int | str]) -> list[int | str]:
        return [c if isinstance(c, int) else visible(_guard(c)) for c in row]

    if fmt == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(cells(headers))
        for row in rows:
            writer.writerow(cells(row))
        return out.getvalue().encode("utf-8-sig")
    if fmt == "xlsx":
        import openpyxl  # type: ignore[import-untyped]  # issuer extra; CSV needs only stdlib
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
        from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet(sheet)
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width

        def cell(value: int | str) -> WriteOnlyCell:
            c = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                c.data_type = "s"  # a string, never a formula, whatever it starts with
            return c

        ws.append([cell(h) for h in cells(headers)])
        for row in rows:
            ws.append([cell(v) for v in cells(row)])
        out_b = io.BytesIO()
        wb.save(out_b)
        return out_b.getvalue()
    raise ValueError(f"fmt must be 'csv' or 'xlsx', not {fmt!r}")
