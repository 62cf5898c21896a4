"""issuer.batches.report: the error report written back to the clerk as CSV or XLSX, every
text cell guarded against formula injection and no identity number whole.
"""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest

from issuer.batches.reading import RowError
from issuer.batches.report import write_error_report
from tests.factory.batchfile import (
    BAD_CHECK_ID,
    BAD_CHECK_MASKED,
    GOOD_1,
    GOOD_2,
    GOOD_3,
    bad_rows_file,
    read,
)


def sample_errors() -> list[RowError]:
    data, _ = bad_rows_file()
    errors = list(read(data).errors)
    errors.append(
        RowError(
            row_number=99,
            column="-column",
            field="name",
            code="x",
            message_zh="+原因",
            message_en="@reason",
            value_preview="\tvalue",
            request_id="=req",
            name="-名",
        )
    )
    return errors


def test_csv_report_is_utf8_with_bom_chinese_headers_guarded_and_masked() -> None:
    errors = sample_errors()
    data = write_error_report(errors, fmt="csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["行号", "申请编号", "姓名", "列", "原因", "值"]
    assert len(rows) == len(errors) + 1
    by_code = {e.code: row for e, row in zip(errors, rows[1:], strict=True) if e.field != "subject"}
    assert by_code["formula_text"][5] == "'=1+1"
    assert by_code["formula_text"][1:3] == ["req-b7", "'=1+1"]
    assert by_code["check_digit"] == ["3", "req-b1", by_code["check_digit"][2], "id_number",
                                      by_code["check_digit"][4], BAD_CHECK_MASKED]  # fmt: skip
    assert "校验码" in by_code["check_digit"][4]
    assert by_code["x"] == ["99", "'=req", "'-名", "'-column", "'+原因", "'U+0009value"]
    subject_row = next(r for e, r in zip(errors, rows[1:]) if e.field == "subject")
    assert subject_row[5] == "'@SUM(A1)"
    for cell in (c for r in rows[1:] for c in r):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    text = data.decode("utf-8-sig")
    for good in (GOOD_1, GOOD_2, GOOD_3):
        assert good[5] not in text
    assert BAD_CHECK_ID not in text


def test_csv_report_in_english() -> None:
    data = write_error_report(sample_errors(), fmt="csv", lang="en")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Application number", "Name", "Column", "Reason", "Value"]
    assert any("check digit" in r[4] for r in rows[1:])
    assert rows[-1][4] == "'@reason"


def test_xlsx_report_cells_are_guarded_strings_and_masked() -> None:
    errors = sample_errors()
    data = write_error_report(errors, fmt="xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]] == ["行号", "申请编号", "姓名", "列", "原因", "值"]
    assert len(rows) == len(errors) + 1
    for row in rows[1:]:
        assert isinstance(row[0].value, int)
        for c in row[1:]:
            if c.value is None:  # an empty preview (an empty cell was the error)
                assert c.data_type == "inlineStr" and c in (row[2], row[5])
                continue
            assert c.data_type == "s"
            assert not str(c.value).startswith(("=", "+", "-", "@", "\t", "\r"))
    values = {(r[0].value, r[3].value): r[5].value for r in rows[1:]}
    assert values[(10, "name")] == "'=1+1"
    assert values[(11, "subject")] == "'@SUM(A1)"
    assert values[(3, "id_number")] == BAD_CHECK_MASKED
    assert [c.value for c in rows[-1]] == [
        99,
        "'=req",
        "'-名",
        "'-column",
        "'+原因",
        "'U+0009value",
    ]
    # nothing in the archive is a formula, and no full identity number is in it
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        blob = b"".join(z.read(n) for n in z.namelist())
    assert b"<f>" not in blob and b"<f " not in blob
    for good in (GOOD_1, GOOD_2, GOOD_3):
        assert good[5].encode() not in blob


def test_report_of_no_errors_has_only_the_header() -> None:
    data = write_error_report([], fmt="csv", lang="en")
    assert data.decode("utf-8-sig") == "Row,Application number,Name,Column,Reason,Value\r\n"


def test_report_names_each_error_rows_application_number_and_name_as_written() -> None:
    """The clerk finds the applicant by application number and name, also when the row's
    name cell is what was wrong (empty or too long: cut as a preview)."""
    data, expected = bad_rows_file()
    errors = read(data).errors
    rows = list(csv.reader(io.StringIO(write_error_report(errors, fmt="csv").decode("utf-8-sig"))))
    who = {int(r[0]): (r[1], r[2]) for r in rows[1:]}
    assert set(who) == set(expected)
    assert who[3] == ("req-b1", "林芳") and who[4] == ("req-b2", "林芳")
    assert who[6] == ("req-b4", "  ")
    assert who[7][0] == "req-b5" and who[7][1].endswith("…") and len(who[7][1]) == 41
    assert who[12] == ("req-0000001", "")


def test_report_rejects_unknown_format() -> None:
    with pytest.raises(ValueError):
        write_error_report([], fmt="pdf")  # type: ignore[arg-type]
