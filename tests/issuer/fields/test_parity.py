"""One certificate, two ways in: an application posted alone (``issuer.fields.application``) and the
same row in a batch file (``issuer.batches.reading``) are accepted or refused alike and stored in
the same normal form. They drifted apart once (a subject of 31-50 characters, a name in
decomposed Unicode, a formula-like name: each taken one way and refused, or stored
differently, the other); this table holds them together. The batch file alone also reads
the date spellings Excel writes (1980/1/2); that leniency is tested in test_batchfile.
"""

from __future__ import annotations

import datetime as dt

import pytest

from issuer.batches.reading import read_batch
from issuer.fields import ValidationFailed, validate_application
from issuer.pdf import FieldTooLongError, render_certificate, too_wide
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
