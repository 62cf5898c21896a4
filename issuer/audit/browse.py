"""Reading the audit trail as an auditor does: filter by officer, action, certificate and
date, newest first, page by page, and export what was found as CSV (issue 13 point 7).

``find_records`` pages by the record's sequence number (``before``: the smallest ``seq``
of the previous page), so page 1,000 costs what page 1 does and a record appended while
someone pages never shifts what they see. ``records_csv`` yields the same filter's records
as CSV lines (UTF-8 with BOM, so Excel in China opens it as UTF-8), every text cell guarded
against formula injection, in bounded memory.

Audit details hold codes, certificate numbers, masked identity numbers and officer
names, never a full identity number (``issuer.audit.chain``), so nothing here masks more.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import rfc3339
from issuer.db import tables

__all__ = ["MAX_LIMIT", "AuditFilter", "AuditPage", "AuditRow", "find_records", "records_csv"]

MAX_LIMIT = 200
_REC = tables.AUDIT_RECORD
_CSV_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What to look for; every given part must match. ``actor`` and ``action`` are exact
    (``action`` may end in ``.*`` for a family: ``certificate.*``); ``subject`` is exact (a
    certificate number, an officer id, a batch id); ``since``/``until`` bound ``at``,
    ``until`` exclusive."""

    actor: str | None = None
    action: str | None = None
    subject: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def where(self) -> list[sa.ColumnElement[bool]]:
        """Return the SQL conditions of this filter."""
        out: list[sa.ColumnElement[bool]] = []
        if self.actor:
            out.append(_REC.c.actor == self.actor)
        if self.action:
            if self.action.endswith(".*"):
                family = self.action[:-1].replace("\\", "\\\\").replace("%", "\\%")
                out.append(_REC.c.action.like(family.replace("_", "\\_") + "%", escape="\\"))
            else:
                out.append(_REC.c.action == self.action)
        if self.subject:
            out.append(_REC.c.subject == self.subject)
        if self.since is not None:
            out.append(_REC.c.at >= self.since)
        if self.until is not None:
            out.append(_REC.c.at < self.until)
        return out


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One record as read: its sequence number, time, who, what, on what, and details."""

    seq: int
    at: dt.datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Return the row as JSON-ready values (``at`` in RFC 3339)."""
        return {
            "seq": self.seq,
            "at": rfc3339(self.at),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class AuditPage:
    """A page of records, newest first; ``before`` asks for the next (older) page, None
    when this is the last."""

    records: list[AuditRow]
    before: int | None


def _row(r: Any) -> AuditRow:
    at = r.at if r.at.tzinfo is not None else r.at.replace(tzinfo=dt.UTC)
    return AuditRow(int(r.id), at, r.actor, r.action, r.subject, json.loads(r.detail_json))


def _select(flt: AuditFilter, before: int | None, limit: int) -> sa.Select[Any]:
    q = sa.select(
        _REC.c.id, _REC.c.at, _REC.c.actor, _REC.c.action, _REC.c.subject, _REC.c.detail_json
    ).where(*flt.where())
    if before is not None:
        q = q.where(_REC.c.id < before)
    return q.order_by(_REC.c.id.desc()).limit(limit)


def find_records(
    session: Session, *, flt: AuditFilter, before: int | None = None, limit: int = 50
) -> AuditPage:
    """Return the page of records matching ``flt`` whose seq is below ``before``.

    Raises ValueError if ``limit`` is not 1..MAX_LIMIT or ``before`` is below 1."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_LIMIT}")
    if before is not None and before < 1:
        raise ValueError("before must be 1 or more")
    found = [_row(r) for r in session.execute(_select(flt, before, limit + 1))]
    more = len(found) > limit
    found = found[:limit]
    return AuditPage(found, found[-1].seq if more and found else None)


# OWASP CSV injection: a spreadsheet runs a cell starting with these as a formula (the
# same characters issuer.fields refuses at input; audit may not import issuer.fields).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


CSV_HEADER = ("seq", "at", "actor", "action", "subject", "detail")


def records_csv(session: Session, *, flt: AuditFilter) -> Iterator[str]:
    """Yield every record matching ``flt`` as CSV text, newest first, header line first
    (after a BOM). Reads ``_CSV_CHUNK`` records at a time."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")

    def flush() -> str:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text

    writer.writerow(CSV_HEADER)
    yield "\ufeff" + flush()
    before: int | None = None
    while True:
        rows = [_row(r) for r in session.execute(_select(flt, before, _CSV_CHUNK))]
        for row in rows:
            writer.writerow(
                (
                    row.seq,
                    rfc3339(row.at),
                    _cell(row.actor),
                    _cell(row.action),
                    _cell(row.subject),
                    _cell(json.dumps(row.detail, ensure_ascii=False, sort_keys=True)),
                )
            )
        if rows:
            yield flush()
        if len(rows) < _CSV_CHUNK:
            return
        before = rows[-1].seq
