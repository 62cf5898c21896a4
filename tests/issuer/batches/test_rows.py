"""issuer.batches.rows: a batch file's rows judged by the shared field rules, every defect
of a row reported with its row, column and a masked preview of the value.
"""

from __future__ import annotations

import csv
import datetime
import io

import pytest

from credential import IdType, mask_id
from issuer.batches.reading import ApplicantRow, read_batch
from tests.factory.batchfile import (
    BAD_CHECK_ID,
    BAD_CHECK_MASKED,
    EN_HEADER,
    GOOD_1,
    GOOD_2,
    GOOD_3,
    TODAY,
    ZH_HEADER,
    bad_rows_file,
    csv_bytes,
    errors_by_row,
    read,
    with_check,
    xlsx_bytes,
)


def test_bad_rows_get_the_right_code_row_and_column_and_good_rows_parse() -> None:
    data, expected = bad_rows_file()
    batch = read(data)
    assert errors_by_row(batch) == expected
    assert [r.row_number for r in batch.rows] == [2, 8]
    assert [r.request_id for r in batch.rows] == ["req-0000001", "req-0000003"]
    assert batch.total_rows == 11
    by_code = {e.code: e for e in batch.errors}
    assert "row 2" in by_code["duplicate_row"].message_en
    assert "第2行" in by_code["duplicate_row"].message_zh
    assert "row 2" in by_code["duplicate_request_id"].message_en
    assert "校验码" in by_code["check_digit"].message_zh
    # every message exists in both languages
    assert all(e.message_en and e.message_zh for e in batch.errors)


@pytest.mark.parametrize("form", ["csv", "xlsx"])
def test_on_first_rows_gets_the_first_valid_rows_once_as_they_stay(form: str) -> None:
    """The batch's head start is handed the first n valid rows while the file is still
    being read: rows that the later rows (a duplicate of row 2) leave valid, once."""
    data, _ = bad_rows_file()
    if form == "xlsx":
        header, *rows = csv.reader(io.StringIO(data.decode("utf-8-sig")))
        data = xlsx_bytes(header, rows)
    calls: list[tuple[ApplicantRow, ...]] = []
    batch = read_batch(data, today=TODAY, on_first_rows=(2, calls.append), filename=f"f.{form}")
    assert calls == [batch.rows[:2]] and [r.row_number for r in calls[0]] == [2, 8]
    more: list[tuple[ApplicantRow, ...]] = []
    read_batch(data, today=TODAY, on_first_rows=(3, more.append), filename=f"f.{form}")
    assert more == []  # only two valid rows: never called


def test_bad_rows_in_chinese_headers_name_the_chinese_column() -> None:
    data, _ = bad_rows_file()
    records = list(csv.reader(io.StringIO(data.decode())))
    batch = read(csv_bytes(ZH_HEADER, records[1:], "gb18030"))
    columns = {(e.row_number, e.code): e.column for e in batch.errors}
    assert columns[(3, "check_digit")] == "证件号码"
    assert columns[(10, "formula_text")] == "姓名"
    assert columns[(11, "formula_text")] == "任教学科"
    assert columns[(12, "date_out_of_range")] == "认定日期"
    assert len(batch.rows) == 2


def test_value_previews_mask_identity_numbers_and_truncate() -> None:
    data, _ = bad_rows_file()
    batch = read(data)
    previews = {(e.row_number, e.code): e.value_preview for e in batch.errors}
    assert previews[(3, "check_digit")] == BAD_CHECK_MASKED
    assert previews[(9, "duplicate_row")] == mask_id(GOOD_1[5])
    assert previews[(7, "too_long")] == "名" * 40 + "…"
    assert previews[(10, "formula_text")] == "=1+1"
    # no full identity number anywhere in the errors
    text = repr(batch.errors)
    for row in (GOOD_1, GOOD_2, GOOD_3):
        assert row[5] not in text
    assert BAD_CHECK_ID not in text


def test_identity_number_in_the_wrong_column_is_masked_in_the_preview() -> None:
    row = list(GOOD_1)
    row[1] = "=" + GOOD_2[5]  # pasted into the name column, with a formula sign
    batch = read(csv_bytes(EN_HEADER, [row]))
    (error,) = batch.errors
    assert error.code == "formula_text"
    assert GOOD_2[5] not in error.value_preview
    assert error.value_preview == "=" + mask_id(GOOD_2[5])


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("name", "张\x07三", "characters"),
        ("name", "张\u202e三", "characters"),
        ("name", "+张三", "formula_text"),
        ("name", "名" * 51, "too_long"),
        ("subject", "数" * 51, "too_long"),
        ("subject", "数" * 46, "unprintable"),  # fits the column, not the printed line
        ("subject", "", "required"),
        ("gender", "x", "unknown_sex"),
        ("gender", "", "required"),
        ("id_type", "driving_licence", "unknown_id_type"),
        ("id_number", "", "required"),
        ("id_number", "1.10105E+17", "id_number_as_number"),
        ("id_number", "11010519760906246", "length"),
        ("id_number", with_check("11010519760906247"), "sex_mismatch"),
        ("birth_date", "1976-9-6x", "date_format"),
        ("birth_date", "28124", "date_format"),  # serial numbers only from XLSX cells
        ("birth_date", "1976-09/06", "date_format"),
        ("birth_date", "1899-12-31", "date_out_of_range"),
        ("issue_date", "2026-07-02", "date_out_of_range"),
        ("issue_date", "", "required"),
        ("qualification_type", "8", "unknown_qualification_type"),
        ("request_id", "r" * 65, "too_long"),
    ],
)
def test_single_field_errors(column: str, value: str, code: str) -> None:
    row = list(GOOD_1)
    row[EN_HEADER.index(column)] = value
    batch = read(csv_bytes(EN_HEADER, [row]))
    assert [(e.row_number, e.column, e.code) for e in batch.errors] == [(2, column, code)]
    assert batch.rows == ()


@pytest.mark.parametrize(
    ("birth", "issued"),
    [
        ("1976/09/06", "2026/6/17"),
        ("1976.09.06", "2026.06.17"),
        ("1976年9月6日", "2026年06月17日"),
        ("１９７６－０９－０６", "２０２６年６月１７日"),  # full-width, NFKC
    ],
)
def test_accepted_date_spellings(birth: str, issued: str) -> None:
    row = list(GOOD_1)
    row[3], row[8] = birth, issued
    batch = read(csv_bytes(EN_HEADER, [row]))
    assert batch.errors == ()
    assert batch.rows[0].birth_date == datetime.date(1976, 9, 6)
    assert batch.rows[0].certified_on == datetime.date(2026, 6, 17)


def test_other_documents_skip_the_resident_id_rules() -> None:
    row = list(GOOD_1)
    row[4], row[5] = "护照", " e1234567 "
    (r,) = read(csv_bytes(EN_HEADER, [row])).rows
    assert (r.id_type, r.id_number) == (IdType.PASSPORT, "E1234567")


def test_blank_rows_are_skipped_but_keep_excel_row_numbers() -> None:
    data = csv_bytes(EN_HEADER, [GOOD_1, [""] * 9, [], GOOD_2])
    batch = read(data)
    assert [r.row_number for r in batch.rows] == [2, 5]
    assert batch.total_rows == 2


def test_cells_beyond_the_header_are_ignored() -> None:
    batch = read(csv_bytes(EN_HEADER, [[*GOOD_1, "=cmd|' /C calc'!A0", "汉族"]]))
    assert batch.errors == ()
    assert (batch.rows[0].ethnicity, batch.rows[0].request_id) == (None, GOOD_1[0])


def test_short_rows_report_the_missing_cells() -> None:
    batch = read(csv_bytes(EN_HEADER, [GOOD_1[:6]]))
    assert {(e.column, e.code) for e in batch.errors} == {
        ("qualification_type", "required"),
        ("subject", "required"),
        ("issue_date", "required"),
    }


def test_duplicates_count_from_the_first_occurrence_even_if_it_has_other_errors() -> None:
    first = list(GOOD_1)
    first[7] = ""  # bad subject, but the same person and qualification
    again = ["req-x", *GOOD_1[1:]]
    third = ["req-y", *GOOD_1[1:]]
    batch = read(csv_bytes(EN_HEADER, [first, again, third]))
    dupes = [(e.row_number, e.code) for e in batch.errors if e.code == "duplicate_row"]
    assert dupes == [(3, "duplicate_row"), (4, "duplicate_row")]
    assert all("row 2" in e.message_en for e in batch.errors if e.code == "duplicate_row")
    # the same person for another qualification type is not a duplicate
    other = ["req-z", *GOOD_1[1:6], "primary", "语文", GOOD_1[8]]
    assert read(csv_bytes(EN_HEADER, [GOOD_1, other])).errors == ()
