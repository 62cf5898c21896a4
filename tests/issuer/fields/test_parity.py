"""One set of field rules, every way in: an application posted alone
(``validate_application``), the same row in a batch file (``read_batch``), the grounds of a
status change (``validate_decision``), a restricted-list entry (``validate_restriction``)
and its removal (``validate_removal``) accept or refuse a value alike, with the same code,
and store it in the same normal form.

The rules once existed three times and drifted (a subject of 31-50 characters, a name in
decomposed Unicode, a formula-like name taken one way and refused the other; control
characters and future dates under three codes each; the earliest date 1900 or 1950).
The table below holds every rule's passing and failing examples against every way in that
takes the field. The batch file alone also reads the date spellings Excel writes
(1980/1/2) and refuses identity numbers Excel made numbers: tests/issuer/batches/test_rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from issuer.accounts.principal import Principal
from issuer.batches.reading import read_batch
from issuer.fields import (
    ValidationFailed,
    validate_application,
    validate_decision,
    validate_removal,
)
from issuer.lifecycle.restrictions import validate_restriction
from issuer.pdf import FieldTooLongError, render_certificate, too_wide
from issuer.settings import IssuerSettings
from tests.factory import World
from tests.factory.batchfile import EN_HEADER, csv_bytes, person

TODAY = dt.date(2026, 7, 1)
FIELDS = ["name", "sex", "birth_date", "id_type", "id_number", "qualification_type",
          "subject", "certified_on"]  # fmt: skip
_BASE = person(1, "r1")
_ID = _BASE[5]

CASES: list[tuple[str, str]] = [
    ("name", "林芳"),
    ("name", " 林芳 "),
    ("name", "A\u0301lvarez"),  # decomposed: stored composed (NFC) both ways
    ("name", "林\u200b芳"),  # a zero-width space
    ("name", "林\x07芳"),
    ("name", "林\ufeff"),
    ("name", "林\t芳"),
    ("name", "Zoë Müller"),
    ("name", "𠀀"),
    ("name", "=1+1"),
    ("name", "+86"),
    ("name", "@林"),
    ("name", "-林"),
    ("name", "-2+3+cmd|' /C calc'!A0"),
    ("name", "\t=1+1"),
    ("name", "林・芳"),
    ("name", "买买提·艾力"),
    ("name", "林" * 44),
    ("name", "林" * 46),  # fits the column (50), not the printed line
    ("name", "林" * 51),
    ("name", "Maximilian Alexander Friedrich von Hohenzollern"),
    ("name", ""),
    ("name", "   "),
    ("sex", "女"),
    ("sex", "F"),
    ("sex", "female"),
    ("sex", "女性"),
    ("sex", "男"),
    ("birth_date", "1980-01-02"),
    ("birth_date", " 1980-01-02 "),
    ("birth_date", "1980-01-32"),
    ("id_type", "resident_id"),
    ("id_type", "居民身份证"),
    ("id_type", "passport"),
    ("id_number", _ID),
    ("id_number", f" {_ID} "),
    ("id_number", _ID[:-1] + ("0" if _ID[-1] != "0" else "1")),
    ("qualification_type", "primary"),
    ("qualification_type", "小学"),
    ("qualification_type", "university"),
    ("subject", "语文"),
    ("subject", "语" * 31),
    ("subject", "语" * 46),
    ("subject", "语" * 51),
    ("subject", "=SUM(A1)"),
    ("certified_on", "2026-06-20"),
    ("certified_on", "2026-07-02"),
    ("certified_on", "1899-12-31"),
]


def _single(row: list[str]) -> tuple[bool, object]:
    try:
        got = validate_application(dict(zip(FIELDS, row[1:], strict=True)), today=TODAY)
    except ValidationFailed as exc:
        return False, sorted(e.field for e in exc.errors)
    return True, got


def _batch(row: list[str]) -> tuple[bool, object]:
    parsed = read_batch(csv_bytes(EN_HEADER, [row]), today=TODAY)
    if parsed.rows:
        return True, parsed.rows[0]
    return False, sorted({e.field for e in parsed.errors})


@pytest.mark.parametrize(("field", "value"), CASES, ids=[f"{f}={v!r}"[:40] for f, v in CASES])
def test_a_value_is_judged_and_stored_alike_alone_and_in_a_batch(field: str, value: str) -> None:
    row = list(_BASE)
    row[1 + FIELDS.index(field)] = value
    ok_single, single = _single(row)
    ok_batch, batch = _batch(row)
    assert ok_single == ok_batch, (single, batch)
    if not ok_single:
        assert single == batch  # the same fields named
        return
    for name in ("name", "sex", "birth_date", "id_type", "id_number", "qualification_type",
                 "subject", "certified_on", "ethnicity"):  # fmt: skip
        assert getattr(single, name) == getattr(batch, name), name


@pytest.mark.parametrize(
    "name",
    ["林" * 45, "Maximilian Alexander Friedrich von Hohenzollern-Sig", "买买提·艾力" * 7],
)
def test_what_validation_lets_through_fits_its_printed_line(name: str) -> None:
    """too_wide agrees with the renderer: a name it passes is drawn (shrunk as needed)."""
    assert too_wide("name", name) is None
    pdf = render_certificate(
        World().certificate(name=name, subject="语" * 45),
        qr_text="https://verify.example.cn/v#1" + "7" * 400,
        verifier_url="https://verify.example.cn",
    )
    assert pdf.startswith(b"%PDF-")


def test_one_character_more_than_the_line_holds_is_refused_with_its_width() -> None:
    """46 CJK characters need 322 pt at 7 pt; the line has 112 mm (317.5 pt)."""
    needed = too_wide("name", "林" * 46)
    assert needed == pytest.approx(46 * 7)
    with pytest.raises(FieldTooLongError):
        render_certificate(
            World().certificate(name="林" * 46),
            qr_text="https://verify.example.cn/v#1" + "7" * 400,
            verifier_url="https://verify.example.cn",
        )


# --------------------------------------------------------------------------------------
# Every rule, every way in: the same verdict and the same code
# --------------------------------------------------------------------------------------

_BIRTH = _BASE[3]  # 1980-01-02
_BAD_CHECK = _ID[:-1] + ("0" if _ID[-1] != "0" else "1")
_OK = None

RULES: list[tuple[str, object, str | None]] = [
    # text printed on the certificate: name (optional on a restricted-list entry)
    ("name", "林芳", _OK),
    ("name", " 林芳 ", _OK),
    ("name", "A\u0301lvarez", _OK),
    ("name", "买买提·艾力", _OK),
    ("name", "林-芳", _OK),  # a formula sign inside a text is harmless
    ("name", "林" * 45, _OK),
    ("name", "", "required"),
    ("name", "   ", "required"),
    ("name", "林\x07芳", "characters"),
    ("name", "林\t芳", "characters"),
    ("name", "林\u200b芳", "characters"),  # zero-width space (format character)
    ("name", "林\u202e芳", "characters"),  # right-to-left override
    ("name", "林\u2028芳", "characters"),  # line separator
    ("name", "林\ufeff", "characters"),
    ("name", "林\ue000", "characters"),  # private use
    ("name", "林" * 51, "too_long"),
    ("name", "=1+1", "formula_text"),
    ("name", "+86", "formula_text"),
    ("name", "@林", "formula_text"),
    ("name", "-林", "formula_text"),
    ("name", "-2+3+cmd|' /C calc'!A0", "formula_text"),  # the name issue 11 saw issued
    ("name", " \t=1+1", "formula_text"),  # stripped first: the "=" is still the start
    ("name", "\r\n-1", "formula_text"),
    ("name", "王\U00013000", "unprintable"),  # in no certificate font
    ("name", "林" * 46, "unprintable"),  # fits the column (50), not the printed line
    ("subject", "语文", _OK),
    ("subject", "语" * 45, _OK),
    ("subject", "", "required"),
    ("subject", "语\x1b文", "characters"),
    ("subject", "语" * 51, "too_long"),
    ("subject", "=SUM(A1)", "formula_text"),
    ("subject", "-语文", "formula_text"),
    ("subject", "语" * 46, "unprintable"),
    ("ethnicity", "汉族", _OK),
    ("ethnicity", "", "required"),  # optional everywhere: accepted
    ("ethnicity", "汉" * 21, "too_long"),
    ("ethnicity", "@汉", "formula_text"),
    ("ethnicity", "-汉", "formula_text"),
    ("ethnicity", "汉\x01", "characters"),
    # codes
    ("sex", "女", _OK),
    ("sex", " F ", _OK),
    ("sex", "female", _OK),
    ("sex", "女性", _OK),
    ("sex", "2", _OK),
    ("sex", "", "required"),
    ("sex", "x", "unknown_sex"),
    ("sex", "女\x07", "characters"),
    ("sex", "female" * 2, "too_long"),
    ("id_type", "resident_id", _OK),
    ("id_type", "居民身份证", _OK),
    ("id_type", "RESIDENT_ID", _OK),
    ("id_type", "", "required"),
    ("id_type", "driving_licence", "unknown_id_type"),
    ("id_type", "resident_id\u200b", "characters"),
    ("qualification_type", "primary", _OK),
    ("qualification_type", "小学", _OK),
    ("qualification_type", "2", _OK),
    ("qualification_type", "", "required"),
    ("qualification_type", "university", "unknown_qualification_type"),
    ("qualification_type", "8", "unknown_qualification_type"),
    ("reason_code", "misconduct", _OK),
    ("reason_code", " other ", _OK),
    ("reason_code", "", "required"),
    ("reason_code", "because", "unknown_reason_code"),
    ("category", "lost", _OK),
    ("category", "revoked", _OK),
    ("category", "", "required"),
    ("category", "banned", "unknown_category"),
    # identity numbers (the base is a resident identity number of the stated birth and sex)
    ("id_number", _ID, _OK),
    ("id_number", f" {_ID} ", _OK),
    ("id_number", "", "required"),
    ("id_number", _BAD_CHECK, "check_digit"),
    ("id_number", _ID[:-1], "length"),
    ("id_number", _ID[:5] + "A" + _ID[6:], "characters"),
    ("id_number", _ID[:9] + "\x07" + _ID[9:], "characters"),
    ("id_number", "9" + _ID[1:], "region"),
    ("id_number", "1" * 41, "too_long"),
    # dates: YYYY-MM-DD, from 1900-01-01 to today
    ("birth_date", _BIRTH, _OK),
    ("birth_date", f" {_BIRTH} ", _OK),
    ("birth_date", "", "required"),
    ("birth_date", "1980-01-32", "date_format"),
    ("birth_date", "1980-02-30", "date_format"),
    ("birth_date", "80-01-02", "date_format"),
    ("birth_date", "1980-W01-3", "date_format"),
    ("birth_date", "1980-01-02\x07", "characters"),
    ("birth_date", "1899-12-31", "date_out_of_range"),
    ("birth_date", "2026-07-02", "date_out_of_range"),
    ("decision_date", "2026-06-20", _OK),
    ("decision_date", "2026-07-01", _OK),
    ("decision_date", "1949-12-31", _OK),
    ("decision_date", "", "required"),
    ("decision_date", "2026-02-30", "date_format"),
    ("decision_date", "20260620", "date_format"),
    ("decision_date", "2026-06-20T00:00", "date_format"),
    ("decision_date", "2026-07-02", "date_out_of_range"),
    ("decision_date", "1899-12-31", "date_out_of_range"),
    # a certification date: also not before the holder turns 18 (born 1980-01-02)
    ("certified_on", "2026-06-20", _OK),
    ("certified_on", "1998-01-02", _OK),
    ("certified_on", "", "required"),
    ("certified_on", "2026-13-01", "date_format"),
    ("certified_on", "2026-07-02", "date_out_of_range"),
    ("certified_on", "1899-12-31", "date_out_of_range"),
    ("certified_on", "1998-01-01", "under_age"),
    ("certified_on", "1980-01-03", "under_age"),
    ("certified_on", "1980-01-02", "before_birth"),
    ("certified_on", "1979-12-31", "before_birth"),
    # multi-line texts (legal basis, a removal's reason) and the deciding office
    ("legal_basis", "《教师资格条例》第十九条", _OK),
    ("legal_basis", "第一款\n第二款\t（三）", _OK),
    ("legal_basis", "第一款\n=第二款", _OK),  # only the start of the cell counts
    ("legal_basis", "\t第一款", _OK),  # a leading tab is stripped
    ("legal_basis", '=HYPERLINK("http://x")', "formula_text"),  # exported, so guarded
    ("legal_basis", "-2+3+cmd|' /C calc'!A0", "formula_text"),
    ("legal_basis", "", "required"),
    ("legal_basis", "第一款\x07", "characters"),
    ("legal_basis", "第一款\u200b", "characters"),
    ("legal_basis", "x" * 501, "too_long"),
    ("reason", "复议撤销", _OK),
    ("reason", "复议\n撤销", _OK),
    ("reason", "", "required"),
    ("reason", "复议\x1b", "characters"),
    ("reason", "+复议", "formula_text"),
    ("reason", "x" * 501, "too_long"),
    ("deciding_office", "北京市教育委员会", _OK),
    ("deciding_office", "", "required"),  # optional: accepted
    ("deciding_office", "北京\n教委", "characters"),
    ("deciding_office", "@北京", "formula_text"),
    ("deciding_office", "x" * 201, "too_long"),
]

_APPLICATION = dict(zip(FIELDS, _BASE[1:], strict=True))
_DECISION = {"reason_code": "misconduct", "decision_date": "2026-06-20", "legal_basis": "第十九条"}
_ENTRY = {"name": "林芳", "id_type": "resident_id", "id_number": _ID, "category": "revoked",
          "decision_date": "2026-06-20", "legal_basis": "第十九条", "deciding_office": None}  # fmt: skip
_REMOVAL = {"reason": "复议撤销", "decision_date": "2026-06-20"}
_WHO = Principal("officer:sup-a", "urn:jiaozi:office:11001", "supervisor", 1)

Refusals = list[tuple[str, str]]


def _refusals(call: Callable[[], object]) -> Refusals:
    try:
        call()
    except ValidationFailed as exc:
        return [(e.field, e.code) for e in exc.errors]
    return []


def _single_way(field: str, value: object) -> Refusals:
    body = {**_APPLICATION, field: value}
    return _refusals(lambda: validate_application(body, today=TODAY))


def _batch_way(field: str, value: object) -> Refusals:
    body = {**_APPLICATION, "ethnicity": "", field: value}
    header = [*EN_HEADER, "ethnicity"]
    row = [_BASE[0], *(body[f] for f in FIELDS), body["ethnicity"]]
    parsed = read_batch(csv_bytes(header, [row]), today=TODAY)
    return [(e.field, e.code) for e in parsed.errors]


def _decision_way(field: str, value: object) -> Refusals:
    return _refusals(lambda: validate_decision({**_DECISION, field: value}, today=TODAY))


def _restriction_way(field: str, value: object) -> Refusals:
    body = {**_ENTRY, field: value}
    return _refusals(lambda: validate_restriction(body, who=_WHO, settings=_SETTINGS, today=TODAY))


def _removal_way(field: str, value: object) -> Refusals:
    return _refusals(lambda: validate_removal({**_REMOVAL, field: value}, today=TODAY))


_SETTINGS = IssuerSettings()
# Each way in, the fields it takes and which of them may be left empty.
WAYS: dict[str, tuple[Callable[[str, object], Refusals], set[str], set[str]]] = {
    "single": (_single_way, {*FIELDS, "ethnicity"}, {"ethnicity"}),
    "batch": (_batch_way, {*FIELDS, "ethnicity"}, {"ethnicity"}),
    "decision": (_decision_way, set(_DECISION), set()),
    "restriction": (_restriction_way, set(_ENTRY), {"name", "deciding_office"}),
    "removal": (_removal_way, set(_REMOVAL), set()),
}


def test_every_field_in_the_table_is_taken_by_some_way_in_and_every_way_is_fed() -> None:
    fields = {f for f, _, _ in RULES}
    taken = set().union(*(w[1] for w in WAYS.values()))
    assert fields == taken
    for field in fields:  # each field has passing and failing examples
        assert {code is None for f, _, code in RULES if f == field} == {True, False}, field


@pytest.mark.parametrize(
    ("field", "value", "code"), RULES, ids=[f"{f}={v!r}"[:48] for f, v, _ in RULES]
)
def test_a_rule_gives_the_same_verdict_and_code_on_every_way_in(
    field: str, value: object, code: str | None
) -> None:
    ways = [name for name, (_, fields, _) in WAYS.items() if field in fields]
    assert ways
    for name in ways:
        way, _, optional = WAYS[name]
        accepted = code is None or (code == "required" and field in optional)
        expected = [] if accepted else [(field, code)]
        assert way(field, value) == expected, name


@pytest.mark.parametrize("way", ["single", "decision", "restriction", "removal"])
def test_a_value_that_is_not_text_is_refused_as_type_by_every_body(way: str) -> None:
    """A JSON body can carry a number where text belongs; a batch cell is always text."""
    call, fields, _ = WAYS[way]
    field = sorted(fields - {"ethnicity", "name", "deciding_office"})[0]
    assert call(field, 19800102) == [(field, "type")]
