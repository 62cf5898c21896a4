"""A batch's manifest: every row of the file, what became of it, and its teacher's claim code.

One line per data row with an outcome, in row order: an issued row names its certificate
number, the certificate's status now and the claim code (when the batch's code is live:
``issuer.holder.batch_codes``), or says why there is none; a row with errors names them
all (column: reason). Rows still waiting to be issued (a batch still running) are not in
it yet. Written as CSV or XLSX by ``issuer.batches.report.write_table`` (text guarded
against formula injection).

The manifest with codes is a secret list: whoever holds it can open those teachers'
certificates; the routes and the command audit each one made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from itertools import groupby
from typing import Literal, Protocol

from credential import beijing_date
from issuer.batches.headers import Language
from issuer.batches.report import write_table
from issuer.batches.rows import RowError

__all__ = ["IssuedRow", "write_manifest"]


class IssuedRow(Protocol):
    """An issued row as the manifest reads it (``issuer.holder.BatchHolder`` is one)."""

    @property
    def row_number(self) -> int: ...
    @property
    def certificate_number(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def state(self) -> str: ...  # of the claim code: live, expired, replaced, none, not_valid
    @property
    def claim_code(self) -> str | None: ...
    @property
    def expires_at(self) -> dt.datetime | None: ...


_HEADERS: dict[str, tuple[str, ...]] = {
    "zh": ("行号", "姓名", "证书编号", "证书状态", "领取码", "领取码有效期至", "说明"),
    "en": (
        "Row",
        "Name",
        "Certificate number",
        "Certificate status",
        "Claim code",
        "Code valid until",
        "Note",
    ),
}
_STATUS: dict[str, tuple[str, str]] = {
    "valid": ("有效", "valid"),
    "suspended": ("暂停", "suspended"),
    "revoked": ("已撤销", "revoked"),
    "replaced": ("已补发", "replaced"),
    "corrected": ("已换发", "corrected"),
}
_NOT_ISSUED = ("未签发", "not issued")
_NOTES: dict[str, tuple[str, str]] = {
    "live": ("", ""),
    "expired": (
        "领取码已过期；请为该教师单独生成新的领取码",
        "the claim code has expired; make a new one for this teacher",
    ),
    "replaced": (
        "已另行生成领取码（单独发放）",
        "a claim code was made for this teacher separately (hand that one out)",
    ),
    "none": ("尚未生成领取码", "no claim code made yet"),
    "not_valid": (
        "证书已不是有效状态，不生成领取码",
        "the certificate is not valid: no claim code",
    ),
}


def _issued(row: IssuedRow, lang: Language) -> tuple[int, str, str, str, str, str, str]:
    zh = lang == "zh"
    status = _STATUS.get(row.status, (row.status, row.status))[0 if zh else 1]
    live = row.state == "live" and row.claim_code is not None
    until = (
        beijing_date(row.expires_at).isoformat()
        if row.expires_at is not None and row.state in ("live", "expired")
        else ""
    )
    note = _NOTES.get(row.state, (row.state, row.state))[0 if zh else 1]
    return (
        row.row_number,
        row.name,
        row.certificate_number,
        status,
        row.claim_code if live and row.claim_code else "",
        until,
        note,
    )


def _refused(
    errors: Sequence[RowError], lang: Language
) -> tuple[int, str, str, str, str, str, str]:
    zh = lang == "zh"
    sep = "；" if zh else "; "
    reasons = sep.join(f"{e.column}: {e.message_zh if zh else e.message_en}" for e in errors)
    first = errors[0]
    return (first.row_number, first.name, "", _NOT_ISSUED[0 if zh else 1], "", "", reasons)


def write_manifest(
    issued: Sequence[IssuedRow],
    errors: Sequence[RowError],
    *,
    fmt: Literal["csv", "xlsx"],
    lang: Language = "zh",
) -> bytes:
    """Return the manifest of a batch's ``issued`` rows and row ``errors``: one line per
    row, in row order (columns: row, name, certificate number, certificate status, claim
    code, code valid until (Beijing date), note). Raises ValueError for an unknown
    ``fmt`` or ``lang``."""
    if lang not in _HEADERS:
        raise ValueError(f"lang must be 'zh' or 'en', not {lang!r}")
    lines = [_issued(r, lang) for r in issued]
    by_row = sorted(errors, key=lambda e: e.row_number)
    lines += [_refused(list(g), lang) for _, g in groupby(by_row, key=lambda e: e.row_number)]
    lines.sort(key=lambda line: line[0])
    return write_table(
        _HEADERS[lang],
        lines,
        fmt=fmt,
        sheet="清单" if lang == "zh" else "Manifest",
        widths=(8, 16, 22, 12, 24, 16, 60),
    )
