"""A batch file's header row: which column holds which field, in English or Chinese.

Headers are matched trimmed (English case-insensitively, with the aliases of
``shared/data/applicants-1000.csv``); unknown extra columns are ignored; a missing required
column or a field given twice refuses the file. Fields are named back to the clerk as the
file names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from issuer.batches.cells import preview
from issuer.batches.files import BatchFileError

__all__ = ["EN_NAME", "FIELD_ORDER", "ZH_NAME", "Columns", "Language", "map_header"]

Language = Literal["en", "zh"]

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
FIELD_ORDER = (
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
EN_NAME: dict[str, str] = {
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
ZH_NAME: dict[str, str] = {field: header for header, field in _ZH_HEADERS.items()}


@dataclass(frozen=True, slots=True)
class Columns:
    """Where each canonical field sits (0-based) and how its header was written."""

    index: dict[str, int]
    header: dict[str, str]
    language: Language


def map_header(cells: Sequence[object]) -> Columns:
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
        shown = "; ".join(preview(r) for r in repeated)
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
            + ", ".join(EN_NAME[f] for f in missing)
            + " (the header must be in row 1)",
            "缺少必需的列：" + "、".join(ZH_NAME[f] for f in missing) + "（表头应在第1行）",
        )
    return Columns(index=index, header=header, language="zh" if zh > en else "en")
