"""issuer.batches.reading: a clerk's batch file read as a whole (contract section 10): the
shared applicants file in every accepted form, headers, files refused as a whole, XLSX
cells and limits. Files are generated in memory; the one fixed input is
shared/data/applicants-1000.csv.
"""

from __future__ import annotations

import csv
import datetime
import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from credential import IdType, QualificationType, Sex
from issuer.batches.reading import ApplicantRow, BatchFileError, ParsedBatch, read_batch
from tests.factory.batchfile import (
    EN_HEADER,
    GOOD_1,
    GOOD_2,
    GOOD_3,
    ZH_HEADER,
    csv_bytes,
    errors_by_row,
    read,
    xlsx_bytes,
)

SHARED = Path(__file__).resolve().parents[4] / "shared"
APPLICANTS = SHARED / "data/applicants-1000.csv"
MAKE_APPLICANTS = SHARED / "tools/make_applicants.py"


def make_applicants(count: int, seed: int, encoding: str = "utf-8") -> bytes:
    return subprocess.run(
        [sys.executable, str(MAKE_APPLICANTS), "--count", str(count), "--seed", str(seed),
         "--encoding", encoding],
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip


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
    assert [e.code for e in tomorrow.errors] == ["date_out_of_range"]
    assert today.errors == () and today.rows[0].certified_on == china


def test_200001_rows_are_refused_before_any_row_is_validated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import issuer.batches.reading as batchfile

    def never(*_a: object, **_k: object) -> None:
        raise AssertionError("rows were validated before the row count was checked")

    monkeypatch.setattr(batchfile, "validate_rows", never)
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
