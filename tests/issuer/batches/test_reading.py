"""Tests for issuer.batches.reading: reading a clerk's batch file and writing the error report.

Contract section 10 and issue 3 (points 4 and 11). Files are generated in memory or in
tmp_path; the one fixed input is shared/data/applicants-1000.csv.
"""

from __future__ import annotations

import csv
import datetime
import io
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pytest

from credential import IdType, QualificationType, Sex, mask_id
from issuer.batches.reading import (
    ApplicantRow,
    BatchFileError,
    ParsedBatch,
    RowError,
    read_batch,
    write_error_report,
)
from tests.factory.batchfile import EN_HEADER, csv_bytes, person, with_check

SHARED = Path(__file__).resolve().parents[4] / "shared"
APPLICANTS = SHARED / "data/applicants-1000.csv"
MAKE_APPLICANTS = SHARED / "tools/make_applicants.py"

# The applicants file issues certificates dated June 2026; fix "today" after that.
TODAY = datetime.date(2026, 7, 1)

ZH_HEADER = [
    "申请编号",
    "姓名",
    "性别",
    "出生日期",
    "证件类型",
    "证件号码",
    "资格种类",
    "任教学科",
    "认定日期",
]

# Rows of the applicants file (valid; used to build the bad-rows file).
GOOD_1 = ["req-0000001", "吴鸣", "女", "1976-09-06", "resident_id", "110105197609062469",
          "senior_middle", "思想政治", "2026-06-17"]  # fmt: skip
GOOD_2 = ["req-0000003", "高鑫", "女", "1984-12-01", "resident_id", "420111198412012964",
          "higher_education", "高等教育", "2026-06-13"]  # fmt: skip
GOOD_3 = ["req-0000000", "邹静磊", "女", "1981-10-07", "resident_id", "510107198110070963",
          "higher_education", "高等教育", "2026-06-01"]  # fmt: skip








def xlsx_bytes(header: Sequence[object], rows: Sequence[Sequence[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def read(data: bytes, **kw: object) -> ParsedBatch:
    kw.setdefault("today", TODAY)
    return read_batch(data, **kw)  # type: ignore[arg-type]


def make_applicants(count: int, seed: int, encoding: str = "utf-8") -> bytes:
    return subprocess.run(
        [sys.executable, str(MAKE_APPLICANTS), "--count", str(count), "--seed", str(seed),
         "--encoding", encoding],
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip


def errors_by_row(batch: ParsedBatch) -> dict[int, list[tuple[str, str, str]]]:
    """Return {row: [(column, field, code), ...]}."""
    found: dict[int, list[tuple[str, str, str]]] = {}
    for e in batch.errors:
        found.setdefault(e.row_number, []).append((e.column, e.field, e.code))
    return found


@pytest.fixture(scope="module")
def applicants_bytes() -> bytes:
    return APPLICANTS.read_bytes()


@pytest.fixture(scope="module")
def applicants(applicants_bytes: bytes) -> ParsedBatch:
    return read(applicants_bytes)


# --------------------------------------------------------------------------------------
# The shared applicants file in every accepted form
# --------------------------------------------------------------------------------------


def test_applicants_file_as_given_parses_to_1000_valid_rows(applicants: ParsedBatch) -> None:
    assert len(applicants.rows) == 1000
    assert applicants.errors == ()
    assert applicants.total_rows == 1000
    assert applicants.encoding == "utf-8"
    assert applicants.header_language == "en"
    first = applicants.rows[0]
    assert first == ApplicantRow(
        row_number=2,
        request_id="req-0000000",
        name="邹静磊",
        sex=Sex.FEMALE,
        birth_date=datetime.date(1981, 10, 7),
        id_type=IdType.RESIDENT_ID,
        id_number="510107198110070963",
        qualification_type=QualificationType.HIGHER_EDUCATION,
        subject="高等教育",
        certified_on=datetime.date(2026, 6, 1),
        ethnicity=None,
    )
    assert applicants.rows[-1].row_number == 1001
    assert len({r.request_id for r in applicants.rows}) == 1000


def test_applicants_file_with_the_default_today(applicants_bytes: bytes) -> None:
    # The default "today" is the date in China; the file's June 2026 dates are past by now
    # on these machines, and when they are not this says so rather than failing obscurely.
    if datetime.date.today() < datetime.date(2026, 7, 1):
        pytest.skip("system date is before the file's issue dates")  # pragma: no cover
    batch = read_batch(applicants_bytes)
    assert (len(batch.rows), len(batch.errors)) == (1000, 0)


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
def test_reencoded_applicants_give_identical_rows(
    applicants_bytes: bytes, applicants: ParsedBatch, encoding: str
) -> None:
    data = applicants_bytes.decode("utf-8").encode(encoding)
    assert data != applicants_bytes
    batch = read(data)
    assert batch.encoding == encoding
    assert batch.errors == ()
    assert batch.rows == applicants.rows


def test_applicants_as_xlsx_give_identical_rows(
    applicants_bytes: bytes, applicants: ParsedBatch
) -> None:
    records = list(csv.reader(io.StringIO(applicants_bytes.decode("utf-8"))))
    header, body = records[0], records[1:]
    birth, issued = header.index("birth_date"), header.index("issue_date")
    rows: list[list[object]] = []
    for i, record in enumerate(body):
        row: list[object] = list(record)  # identity numbers stay text cells
        # real Excel date cells for birth dates; issue dates alternate date cells and text
        row[birth] = datetime.date.fromisoformat(record[birth])
        if i % 2:
            row[issued] = datetime.datetime.fromisoformat(record[issued])
        rows.append(row)
    data = xlsx_bytes(header, rows)
    assert data[:4] == b"PK\x03\x04"
    batch = read(data, filename="applicants.xlsx")
    assert batch.encoding == "xlsx"
    assert batch.errors == ()
    assert batch.rows == applicants.rows


def test_chinese_headers_and_values_from_make_applicants_gb18030() -> None:
    raw = make_applicants(50, 3, "gb18030")
    records = list(csv.reader(io.StringIO(raw.decode("gb18030"))))
    assert records[0] == EN_HEADER
    qt_col, type_col = EN_HEADER.index("qualification_type"), EN_HEADER.index("id_type")
    body = []
    for record in records[1:]:
        record = list(record)
        qt = QualificationType.parse(record[qt_col])
        record[qt_col] = qt.name_zh  # e.g. 初级中学教师资格
        record[type_col] = "居民身份证"
        body.append(record)
    # Chinese header as clerks write it: padded, in a different order, an extra column.
    header = [f" {h} " for h in ZH_HEADER] + ["备注"]
    order = [8, 1, 0, 2, 3, 4, 5, 6, 7, 9]
    data = csv_bytes(
        [header[i] for i in order],
        [[[*r, "无"][i] for i in order] for r in body],
        "gb18030",
    )
    batch = read(data)
    assert batch.encoding == "gb18030"
    assert batch.header_language == "zh"
    assert batch.errors == ()
    assert len(batch.rows) == 50
    english = read(raw)
    assert english.rows == batch.rows


# --------------------------------------------------------------------------------------
# Headers and the file as a whole
# --------------------------------------------------------------------------------------


def test_english_headers_trimmed_case_insensitive_with_aliases_and_extras() -> None:
    header = ["  Name", "SEX", "Birth_Date ", "ID_TYPE", "id_number", "Qualification_Type",
              "subject", "Certified_On", "Ethnicity", "notes"]  # fmt: skip
    row = ["吴鸣", "female", "1976/09/06", "resident_id", "110105197609062469", "4",
           "思想政治", "2026年6月17日", "汉族", "anything"]  # fmt: skip
    batch = read(csv_bytes(header, [row]))
    assert batch.errors == ()
    (r,) = batch.rows
    assert (r.request_id, r.ethnicity, r.sex) == (None, "汉族", Sex.FEMALE)
    assert r.qualification_type is QualificationType.SENIOR_MIDDLE
    assert r.certified_on == datetime.date(2026, 6, 17)


def test_missing_columns_are_named_in_both_languages() -> None:
    header = [h for h in EN_HEADER if h not in ("subject", "issue_date")]
    with pytest.raises(BatchFileError) as info:
        read(csv_bytes(header, [["x"] * len(header)]))
    err = info.value
    assert err.code == "missing_columns"
    assert "subject" in err.message and "issue_date" in err.message
    assert "任教学科" in err.message_zh and "认定日期" in err.message_zh
    assert "name" not in err.message.split(":", 1)[1].split("(")[0]


def test_missing_chinese_column_named() -> None:
    header = [h for h in ZH_HEADER if h != "证件号码"]
    with pytest.raises(BatchFileError, match="证件号码") as info:
        read(csv_bytes(header, [["x"] * len(header)]))
    assert "id_number" in info.value.message


def test_a_field_given_twice_is_refused() -> None:
    with pytest.raises(BatchFileError) as info:
        read(csv_bytes([*EN_HEADER, "sex"], [[*GOOD_1, "女"]]))
    assert info.value.code == "duplicate_columns"
    assert "gender" in info.value.message and "sex" in info.value.message


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"  \r\n", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (",".join(EN_HEADER).encode() + b"\r\n", "no_data_rows"),
        (",".join(EN_HEADER).encode() + b"\r\n,,,,,,,,\r\n\r\n", "no_data_rows"),
        (bytes(range(256)) * 4, "not_text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not_text"),
        ("姓名,性别".encode("utf-16"), "utf16"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "xls"),
        (b"PK\x03\x04" + b"\x00" * 64, "bad_xlsx"),
    ],
)
def test_unusable_files_raise_batch_file_error(data: bytes, code: str) -> None:
    with pytest.raises(BatchFileError) as info:
        read(data)
    assert info.value.code == code
    assert isinstance(info.value, ValueError)
    assert info.value.message and info.value.message_zh


def test_malformed_csv_is_refused() -> None:
    data = csv_bytes(EN_HEADER, [[*GOOD_1[:7], "x" * 200_000, GOOD_1[8]]])
    with pytest.raises(BatchFileError) as info:
        read(data)
    assert info.value.code == "bad_csv"


def test_text_named_xlsx_is_refused() -> None:
    with pytest.raises(BatchFileError) as info:
        read(csv_bytes(EN_HEADER, [GOOD_1]), filename="round-2026.XLSX")
    assert info.value.code == "not_xlsx"


def test_empty_xlsx_and_header_only_xlsx() -> None:
    with pytest.raises(BatchFileError) as info:
        read(xlsx_bytes([], []))
    assert info.value.code == "empty"
    with pytest.raises(BatchFileError) as info:
        read(xlsx_bytes(EN_HEADER, []))
    assert info.value.code == "no_data_rows"


# --------------------------------------------------------------------------------------
# Row validation
# --------------------------------------------------------------------------------------


_valid = person(1, "")[5]
BAD_CHECK_ID = _valid[:17] + ("0" if _valid[17] != "0" else "1")
BAD_CHECK_MASKED = BAD_CHECK_ID[:3] + "*" * 11 + BAD_CHECK_ID[-4:]


def bad_rows_file() -> tuple[bytes, dict[int, list[tuple[str, str, str]]]]:
    """Return a CSV with good and bad rows, and the expected {row: [(column, field, code)]}."""
    bad_check = person(1, "req-b1")
    bad_check[5] = BAD_CHECK_ID
    mismatch = person(2, "req-b2")
    mismatch[3] = "1981-10-08"
    unknown_qt = person(3, "req-b3")
    unknown_qt[6] = "university"
    empty_name = person(4, "req-b4")
    empty_name[1] = "  "
    long_name = person(5, "req-b5")
    long_name[1] = "名" * 200
    duplicate = ["req-b6", *GOOD_1[1:]]  # row 2 again, under another request id
    formula_name = person(7, "req-b7")
    formula_name[1] = "=1+1"
    formula_subject = person(8, "req-b8")
    formula_subject[7] = "@SUM(A1)"
    # one row, four defects: every one of them is reported
    many = ["req-0000001", "", "unknown", "1976-02-30", "resident_id", GOOD_1[5],
            "9", "数学", "2027-01-01"]  # fmt: skip
    rows = [GOOD_1, bad_check, mismatch, unknown_qt, empty_name, long_name, GOOD_2,
            duplicate, formula_name, formula_subject, many]  # fmt: skip
    expected = {
        3: [("id_number", "id_number", "check_digit")],
        4: [("id_number", "id_number", "birth_date_mismatch")],
        5: [("qualification_type", "qualification_type", "unknown_qualification_type")],
        6: [("name", "name", "required")],
        7: [("name", "name", "too_long")],
        9: [("id_number", "id_number", "duplicate_row")],
        10: [("name", "name", "formula_text")],
        11: [("subject", "subject", "formula_text")],
        12: [
            ("name", "name", "required"),
            ("gender", "sex", "unknown_sex"),
            ("birth_date", "birth_date", "date_invalid"),
            ("qualification_type", "qualification_type", "unknown_qualification_type"),
            ("issue_date", "certified_on", "date_in_future"),
            ("request_id", "request_id", "duplicate_request_id"),
        ],
    }
    return csv_bytes(EN_HEADER, rows), expected


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
    assert columns[(12, "date_in_future")] == "认定日期"
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
        ("name", "张\x07三", "control_characters"),
        ("name", "张\u202e三", "control_characters"),
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
        ("issue_date", "2026-07-02", "date_in_future"),
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


# --------------------------------------------------------------------------------------
# XLSX specifics
# --------------------------------------------------------------------------------------


def test_xlsx_numeric_identity_number_is_refused_with_a_masked_preview() -> None:
    as_float = list(GOOD_1)
    as_float[5] = 110105197609062469.0  # what Excel stores: 15 significant digits
    as_int = ["req-2", *GOOD_2[1:]]
    as_int[5] = 420111198412012964
    batch = read(xlsx_bytes(EN_HEADER, [as_float, as_int, GOOD_3]))
    assert [(e.row_number, e.column, e.code) for e in batch.errors] == [
        (2, "id_number", "id_number_as_number"),
        (3, "id_number", "id_number_as_number"),
    ]
    assert "15" in batch.errors[0].message_en and "文本" in batch.errors[0].message_zh
    for e in batch.errors:
        assert e.value_preview.startswith(("110***", "420***"))
        assert "*" * 11 in e.value_preview
    assert [r.row_number for r in batch.rows] == [4]


def test_xlsx_numbers_dates_and_serials() -> None:
    row: list[object] = list(GOOD_1)
    row[2] = 2  # sex code: female
    row[3] = 28009  # an Excel serial in a number-formatted cell: 1976-09-06
    row[6] = 4  # qualification digit
    row[8] = datetime.datetime(2026, 6, 17, 0, 0)
    (r,) = read(xlsx_bytes(EN_HEADER, [row])).rows
    assert (r.sex, r.birth_date) == (Sex.FEMALE, datetime.date(1976, 9, 6))
    assert r.qualification_type is QualificationType.SENIOR_MIDDLE
    assert r.certified_on == datetime.date(2026, 6, 17)


def test_xlsx_formula_and_error_cells() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(EN_HEADER)
    ws.append(GOOD_1)
    ws.append(GOOD_2)
    ws.append(GOOD_3)
    ws["B2"] = '=CONCAT("吴","鸣")'  # a formula cell: its text, not a computed value
    ws["H3"].value = "=1+1"
    ws["H3"].data_type = "s"  # text that only looks like a formula
    ws["D4"].value = "#N/A"
    ws["D4"].data_type = "e"
    ws.append([])
    ws.append(["req-9", *GOOD_1[1:]])  # row 6 after a blank row 5: a duplicate of row 2
    out = io.BytesIO()
    wb.save(out)
    batch = read(out.getvalue())
    assert errors_by_row(batch) == {
        2: [("name", "name", "formula_cell")],
        3: [("subject", "subject", "formula_text")],
        4: [("birth_date", "birth_date", "cell_error")],
        6: [("id_number", "id_number", "duplicate_row")],
    }
    assert batch.total_rows == 4


def test_xlsx_with_wrong_declared_dimensions_is_read_completely() -> None:
    data = xlsx_bytes(EN_HEADER, [GOOD_1, GOOD_2, GOOD_3])
    import re
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content, n = re.subn(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:B2"/>',
                                     content)  # fmt: skip
                assert n == 1
            dst.writestr(info, content)
    batch = read(out.getvalue())
    assert len(batch.rows) == 3 and batch.errors == ()


# --------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------


def test_default_today_is_the_date_in_china() -> None:
    china = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date()
    row = list(GOOD_1)
    row[8] = (china + datetime.timedelta(days=1)).isoformat()
    tomorrow = read_batch(csv_bytes(EN_HEADER, [row]))
    row[8] = china.isoformat()
    today = read_batch(csv_bytes(EN_HEADER, [row]))
    if datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date() != china:
        pytest.skip("midnight in China passed during the test")  # pragma: no cover
    assert [e.code for e in tomorrow.errors] == ["date_in_future"]
    assert today.errors == () and today.rows[0].certified_on == china


def test_200001_rows_are_refused_before_any_row_is_validated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import issuer.batches.reading as batchfile

    def never(*_a: object, **_k: object) -> None:
        raise AssertionError("rows were validated before the row count was checked")

    monkeypatch.setattr(batchfile, "_validate_rows", never)
    line = ",".join(GOOD_1).encode() + b"\r\n"
    data = ",".join(EN_HEADER).encode() + b"\r\n" + line * 200_001
    with pytest.raises(BatchFileError) as info:
        read_batch(data)
    assert info.value.code == "too_many_rows"
    assert "200,000" in info.value.message


def test_max_rows_is_inclusive_and_blank_rows_do_not_count() -> None:
    rows = [["req-a", *GOOD_1[1:]], [], ["req-b", *GOOD_2[1:]], ["req-c", *GOOD_3[1:]]]
    assert read(csv_bytes(EN_HEADER, rows), max_rows=3).total_rows == 3
    with pytest.raises(BatchFileError) as info:
        read(csv_bytes(EN_HEADER, [*rows, ["req-d", *GOOD_1[1:]]]), max_rows=3)
    assert info.value.code == "too_many_rows"
    with pytest.raises(BatchFileError) as info:
        read(xlsx_bytes(EN_HEADER, [*rows, ["req-d", *GOOD_1[1:]]]), max_rows=3)
    assert info.value.code == "too_many_rows"


def test_xlsx_that_unpacks_too_large_is_refused() -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b" " * (20 * 1024 * 1024))
    assert len(out.getvalue()) < 100_000
    with pytest.raises(BatchFileError) as info:
        read(out.getvalue(), max_rows=10)
    assert info.value.code == "too_large"


# --------------------------------------------------------------------------------------
# The error report
# --------------------------------------------------------------------------------------


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
        )
    )
    return errors


def test_csv_report_is_utf8_with_bom_chinese_headers_guarded_and_masked() -> None:
    errors = sample_errors()
    data = write_error_report(errors, fmt="csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["行号", "列", "原因", "值"]
    assert len(rows) == len(errors) + 1
    by_code = {e.code: row for e, row in zip(errors, rows[1:], strict=True) if e.field != "subject"}
    assert by_code["formula_text"][3] == "'=1+1"
    assert by_code["check_digit"] == ["3", "id_number", by_code["check_digit"][2],
                                      BAD_CHECK_MASKED]  # fmt: skip
    assert "校验码" in by_code["check_digit"][2]
    assert by_code["x"] == ["99", "'-column", "'+原因", "'U+0009value"]
    subject_row = next(r for e, r in zip(errors, rows[1:]) if e.field == "subject")
    assert subject_row[3] == "'@SUM(A1)"
    for cell in (c for r in rows[1:] for c in r):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    text = data.decode("utf-8-sig")
    for good in (GOOD_1, GOOD_2, GOOD_3):
        assert good[5] not in text
    assert BAD_CHECK_ID not in text


def test_csv_report_in_english() -> None:
    data = write_error_report(sample_errors(), fmt="csv", lang="en")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Column", "Reason", "Value"]
    assert any("check digit" in r[2] for r in rows[1:])
    assert rows[-1][2] == "'@reason"


def test_xlsx_report_cells_are_guarded_strings_and_masked() -> None:
    errors = sample_errors()
    data = write_error_report(errors, fmt="xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]] == ["行号", "列", "原因", "值"]
    assert len(rows) == len(errors) + 1
    for row in rows[1:]:
        assert isinstance(row[0].value, int)
        for c in row[1:]:
            if c.value is None:  # an empty preview (an empty cell was the error)
                assert c.data_type == "inlineStr" and row[3] is c
                continue
            assert c.data_type == "s"
            assert not str(c.value).startswith(("=", "+", "-", "@", "\t", "\r"))
    values = {(r[0].value, r[1].value): r[3].value for r in rows[1:]}
    assert values[(10, "name")] == "'=1+1"
    assert values[(11, "subject")] == "'@SUM(A1)"
    assert values[(3, "id_number")] == BAD_CHECK_MASKED
    assert [c.value for c in rows[-1]] == [99, "'-column", "'+原因", "'U+0009value"]
    # nothing in the archive is a formula, and no full identity number is in it
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        blob = b"".join(z.read(n) for n in z.namelist())
    assert b"<f>" not in blob and b"<f " not in blob
    for good in (GOOD_1, GOOD_2, GOOD_3):
        assert good[5].encode() not in blob


def test_report_of_no_errors_has_only_the_header() -> None:
    data = write_error_report([], fmt="csv", lang="en")
    assert data.decode("utf-8-sig") == "Row,Column,Reason,Value\r\n"


def test_report_rejects_unknown_format() -> None:
    with pytest.raises(ValueError):
        write_error_report([], fmt="pdf")  # type: ignore[arg-type]
