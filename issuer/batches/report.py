"""The error report of a batch: the row errors written back as CSV (UTF-8 with BOM) or XLSX
for the clerk, every text cell guarded against formula injection.

Identity numbers are already masked in the errors (``issuer.batches.rows``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Literal

from issuer.batches.cells import visible
from issuer.batches.headers import Language
from issuer.batches.rows import RowError

__all__ = ["write_error_report"]

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
        visible(_guard(error.request_id)),
        visible(_guard(error.name)),
        visible(_guard(error.column)),
        visible(_guard(reason)),
        visible(_guard(error.value_preview)),
    )


def write_error_report(
    errors: Sequence[RowError],
    *,
    fmt: Literal["csv", "xlsx"],
    lang: Language = "zh",
) -> bytes:
    """Return the errors as a downloadable report: row, application number, name, column,
    reason, value (masked).

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
        import openpyxl  # type: ignore[import-untyped]  # issuer extra; CSV needs only stdlib
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("错误" if lang == "zh" else "Errors")
        for letter, width in zip("ABCDEF", (8, 20, 16, 16, 80, 44), strict=True):
            ws.column_dimensions[letter].width = width

        def text_cell(value: str) -> WriteOnlyCell:
            c = WriteOnlyCell(ws, value=value)
            c.data_type = "s"  # a string, never a formula, whatever it starts with
            return c

        ws.append([text_cell(h) for h in headers])
        for error in errors:
            row_number, *texts = _report_cells(error, lang)
            ws.append([WriteOnlyCell(ws, value=row_number), *map(text_cell, texts)])
        out_b = io.BytesIO()
        wb.save(out_b)
        return out_b.getvalue()
    raise ValueError(f"fmt must be 'csv' or 'xlsx', not {fmt!r}")
