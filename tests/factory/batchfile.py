"""Batch files for tests: rows of invented applicants, CSV and XLSX bytes, a file of good
and bad rows with the errors it must give."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Sequence

import openpyxl

from issuer.batches.reading import ParsedBatch, read_batch

EN_HEADER = [
    "request_id",
    "name",
    "gender",
    "birth_date",
    "id_type",
    "id_number",
    "qualification_type",
    "subject",
    "issue_date",
]


def person(n: int, request_id: str) -> list[str]:
    """Return a valid row for a distinct invented woman born 1980-01-01 + n days."""
    birth = datetime.date(1980, 1, 1) + datetime.timedelta(days=n)
    id_number = with_check(f"330106{birth:%Y%m%d}{(2 * n) % 1000:03d}")
    return [request_id, "林芳", "女", birth.isoformat(), "resident_id", id_number,
            "primary", "语文", "2026-06-20"]  # fmt: skip


def csv_bytes(
    header: Sequence[str], rows: Sequence[Sequence[object]], encoding: str = "utf-8"
) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def with_check(first17: str) -> str:
    """Append the GB 11643 MOD 11-2 check character (written from the standard)."""
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


# The applicants file issues certificates dated June 2026; batch tests fix "today" after that.
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
    """Return ``read_batch`` of ``data`` on TODAY unless told otherwise."""
    kw.setdefault("today", TODAY)
    return read_batch(data, **kw)  # type: ignore[arg-type]


def errors_by_row(batch: ParsedBatch) -> dict[int, list[tuple[str, str, str]]]:
    """Return {row: [(column, field, code), ...]}."""
    found: dict[int, list[tuple[str, str, str]]] = {}
    for e in batch.errors:
        found.setdefault(e.row_number, []).append((e.column, e.field, e.code))
    return found


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
            ("birth_date", "birth_date", "date_format"),
            ("qualification_type", "qualification_type", "unknown_qualification_type"),
            ("issue_date", "certified_on", "date_out_of_range"),
            ("request_id", "request_id", "duplicate_request_id"),
        ],
    }
    return csv_bytes(EN_HEADER, rows), expected
