"""Writing a chunk of a batch in bulk: status indices drawn for many rows at once, rows
inserted with one DB-API ``executemany``, and the chunk's audit records and events
chained together.

Everything here runs inside the chunk's one write transaction (``issuer.batches.run``);
the statements are plain SQL with bound values, built once per chunk or part, never
per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import IndexAllocator, as_utc
from issuer import issuance
from issuer.audit import chain as audit
from issuer.audit import events
from issuer.batches.signing import Job
from issuer.db import tables
from issuer.db.allowance import FEED_FENCE, spend
from issuer.db.models import StatusListRow
from issuer.db.types import UtcDateTime
from issuer.settings import IssuerSettings

__all__ = ["AuditChains", "StatusIndices", "ids_of", "insert_rows"]

_CERT = tables.CERTIFICATE
_VERSION = tables.CERTIFICATE_VERSION
_AUDIT_HEAD = tables.AUDIT_HEAD
_EVENT_HEAD = tables.EVENT_HEAD
_AUDIT_COLUMNS = ("id", "at", "actor", "action", "subject", "detail_json", "prev_hash", "hash")
_EVENT_COLUMNS = ("seq", "at", "type", "office_id", "certificate_number", "version", "data_json")


class StatusIndices:
    """Random unused status indices, per list, kept across chunks.

    The used indices of a list are read once; later chunks read only certificates added
    since (by id) and rebuild the allocator only if another writer took some. One that
    slips past this (PostgreSQL, or a redrawn index) makes the insert fail on the (list,
    index) unique constraint, and the chunk re-runs after ``reset``.
    """

    def __init__(self, settings: IssuerSettings) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        self.list_id: int | None = None
        self.list_uri = ""
        self.alloc: IndexAllocator | None = None
        self.used: set[int] = set()
        self.seen_id = 0

    def load(self, session: Session, lst: StatusListRow) -> IndexAllocator:
        """Return the allocator of ``lst``, brought up to date with what others took."""
        if self.list_id != lst.id:
            self.reset()
            self.list_id, self.list_uri = lst.id, lst.uri
        c, v = _CERT.c, _VERSION.c
        rows = session.execute(
            sa.select(c.id, c.status_idx).where(c.status_list_id == lst.id, c.id > self.seen_id)
        ).all()
        # Entries kept by superseded versions (replacement, correction) stay taken; there
        # are few, so they are read whole each time.
        retired = session.execute(
            sa.select(v.status_idx).where(v.status_list_id == lst.id, v.status_idx.is_not(None))
        ).scalars()
        new = {int(i) for i in retired} - self.used
        if rows:
            self.seen_id = max(r.id for r in rows)
            new |= {r.status_idx for r in rows} - self.used
        if new:
            self.used |= new
            self.alloc = None
        if self.alloc is None:
            self.alloc = IndexAllocator(lst.size, self.used)
        return self.alloc

    def draw_ahead(self, n: int) -> list[tuple[int, str, int]] | None:
        """Return ``n`` (list id, uri, index) of the current list without asking the
        database (checked in the next transaction), or None if it has not room."""
        if self.alloc is None or self.list_id is None or self.alloc.remaining < n:
            return None
        picks = self.alloc.allocate_many(n)
        self.used.update(picks)
        return [(self.list_id, self.list_uri, i) for i in picks]

    def still_free(self, session: Session, jobs: Sequence[Job]) -> bool:
        """Return True if no certificate holds any of ``jobs``' (list, index) entries."""
        by_list: dict[int, list[int]] = {}
        for j in jobs:
            by_list.setdefault(j.list_id, []).append(j.idx)
        conn = session.connection()
        dialect = conn.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        quote = dialect.identifier_preparer.quote
        for list_id, idxs in by_list.items():
            # A plain SELECT (the ORM-built IN of a chunk's indices is slow to compile
            # and expand); only placeholders are put into the text, the values are bound.
            # Both tables in one statement (one snapshot): an entry moving from a
            # certificate to its superseded version is seen in one or the other.
            where = (
                f" WHERE {quote('status_list_id')} = {mark}"
                f" AND {quote('status_idx')} IN ({', '.join([mark] * len(idxs))})"
            )
            sql = (
                f"SELECT 1 FROM {quote(_CERT.name)}{where}"  # noqa: S608
                f" UNION ALL SELECT 1 FROM {quote(_VERSION.name)}{where} LIMIT 1"
            )
            result = conn.exec_driver_sql(sql, (list_id, *idxs, list_id, *idxs))
            try:
                if result.cursor.fetchone() is not None:
                    return False
            finally:
                result.close()
        return True

    def draw(self, session: Session, n: int, now: dt.datetime) -> list[tuple[StatusListRow, int]]:
        """Return ``n`` (list, index) pairs, moving to a new list when one fills."""
        out: list[tuple[StatusListRow, int]] = []
        lst = issuance.current_status_list(session, settings=self.settings, now=now)
        while True:
            alloc = self.load(session, lst)
            picks = alloc.allocate_many(min(n - len(out), alloc.remaining))
            self.used.update(picks)
            out.extend((lst, i) for i in picks)
            if len(out) == n:
                return out
            nxt = issuance.new_status_list(
                session, settings=self.settings, ordinal=lst.ordinal + 1, now=now
            )
            lst = nxt or issuance.current_status_list(session, settings=self.settings, now=now)


def ids_of(session: Session, numbers: Sequence[str]) -> dict[str, int]:
    """Return the ids of the certificates numbered ``numbers`` (one plain SELECT)."""
    conn = session.connection()
    dialect = conn.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    # Only placeholders are put into the text; the numbers are bound.
    sql = (
        f"SELECT certificate_number, id FROM {dialect.identifier_preparer.quote(_CERT.name)}"  # noqa: S608
        f" WHERE certificate_number IN ({', '.join([mark] * len(numbers))})"
    )
    result = conn.exec_driver_sql(sql, tuple(numbers))
    try:  # fetched at once from the DBAPI cursor: no Row object and fetch call per row
        return dict(result.cursor.fetchall())
    finally:
        result.close()


def insert_rows(
    session: Session, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) with one DBAPI ``executemany``.

    The columns' own bind processors convert the values (dates and times on SQLite), as
    ``session.execute(insert(table), dicts)`` would, without building a dict and a
    parameter set per row: that costs more than the insert itself at batch sizes.
    """
    conn = session.connection()
    dialect = conn.dialect
    procs: list[tuple[int, Callable[[Any], Any]]] = []
    for i, c in enumerate(columns):
        column_type = table.c[c].type
        if (bp := column_type.bind_processor(dialect)) is not None:
            # a chunk's rows share their time objects: convert each once (UtcDateTime's
            # conversion to UTC and the dialect's to text), not once per row
            timed = isinstance(column_type, sa.Date | sa.DateTime | UtcDateTime)
            procs.append((i, _memo(bp) if timed else bp))
    procs.extend(_dbapi_adapters(dialect, table, columns, {i for i, _ in procs}))
    if procs:
        fixed = []
        for row in rows:
            values = list(row)
            for i, p in procs:
                if values[i] is not None:
                    values[i] = p(values[i])
            fixed.append(tuple(values))
        rows = fixed
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    names, marks = ", ".join(quote(c) for c in columns), ", ".join([mark] * len(columns))
    # Table and column names come from our own metadata; every value is bound.
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
    conn.exec_driver_sql(sql, list(rows))


def _dbapi_adapters(
    dialect: sa.Dialect, table: sa.Table, columns: Sequence[str], skip: set[int]
) -> list[tuple[int, Callable[[Any], Any]]]:
    """Return (position, convert) for the date and time columns the DBAPI itself converts
    (sqlite3 turns a date or datetime into text with its registered adapter): the same
    adapter, called once per distinct value (a chunk's rows share their times and many
    of their dates) rather than once per row."""
    dbapi = getattr(dialect, "dbapi", None)
    adapters = getattr(dbapi, "adapters", None)
    protocol = getattr(dbapi, "PrepareProtocol", None)
    if dialect.name != "sqlite" or not isinstance(adapters, dict) or protocol is None:
        return []
    out: list[tuple[int, Callable[[Any], Any]]] = []
    for i, c in enumerate(columns):
        if i not in skip and isinstance(table.c[c].type, sa.Date | sa.DateTime):
            out.append((i, _memo_adapter(adapters, protocol)))
    return out


def _memo_adapter(adapters: dict[Any, Any], protocol: Any) -> Callable[[Any], Any]:
    def adapt(value: Any) -> Any:
        found = adapters.get((type(value), protocol))
        return value if found is None else found(value)

    return _memo(adapt)


def _memo(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    # Keyed by the object itself (its id): one insert_rows call's rows hold every value
    # converted, so no id is reused meanwhile, and a chunk's rows share the same time
    # object and the date objects read_batch's parsers cached. (Not by equality: aware
    # datetimes at one instant are equal whatever their offset, their text is not.)
    memo: dict[int, Any] = {}

    def once(value: Any) -> Any:
        got = memo.get(id(value))
        if got is None:
            got = memo[id(value)] = convert(value)
        return got

    return once


class AuditChains:
    """The audit chain and the event sequence of one chunk's transaction.

    The chunk's ``n`` records and events are numbered from each head row advanced once, at
    the first part (after its certificate rows: the lock order of ``audit.append`` and
    ``events.append_event``, audit head first), and the audit head's hash is set once, at
    the end; between parts the chain runs on here. Together as ``audit.append`` and
    ``events.append_event`` would write them one by one."""

    def __init__(self, n: int, *, actor: str, at: dt.datetime, office_id: str) -> None:
        self.n, self.actor, self.office_id = n, actor, office_id
        self.at = as_utc(at)
        self.audit_seq = 0  # the next record's number (0: the head not advanced yet)
        self.prev = ""
        self.event_seq = 0
        self.count = 0

    def append(self, session: Session, records: Sequence[tuple[str, str]]) -> None:
        """Append a ``certificate.issued`` record and an ``issued`` event per (certificate
        number, canonical detail JSON), the chain hashed with ``audit.chain_hashes`` (the
        function behind ``audit.record_hash``)."""
        if not records:
            return
        self.count += len(records)
        if self.count > self.n:
            raise RuntimeError(f"more than the {self.n} certificates reserved for")
        if not self.audit_seq:
            last, self.prev = session.execute(
                sa.update(_AUDIT_HEAD)
                .where(_AUDIT_HEAD.c.id == 1)
                .values(seq=_AUDIT_HEAD.c.seq + self.n)
                .returning(_AUDIT_HEAD.c.seq, _AUDIT_HEAD.c.hash)
            ).one()
            self.audit_seq = last - self.n + 1
        action = "certificate.issued"
        chained = audit.chain_hashes(
            first_seq=self.audit_seq,
            at=self.at,
            actor=self.actor,
            action=action,
            records=records,
            prev_hash=self.prev,
        )
        self.audit_seq, self.prev = chained[-1][0] + 1, chained[-1][2]
        insert_rows(
            session,
            tables.AUDIT_RECORD,
            _AUDIT_COLUMNS,
            [
                (seq, self.at, self.actor, action, subject, detail_json, prev_hash, digest)
                for (subject, detail_json), (seq, prev_hash, digest) in zip(
                    records, chained, strict=True
                )
            ],
        )
        if not self.event_seq:
            spend(session, FEED_FENCE, self.n)  # as events.next_seq does, for the chunk
            last = session.execute(
                sa.update(_EVENT_HEAD)
                .where(_EVENT_HEAD.c.name == events.EVENT_HEAD)
                .values(seq=_EVENT_HEAD.c.seq + self.n)
                .returning(_EVENT_HEAD.c.seq)
            ).scalar_one_or_none()
            if last is None:
                raise RuntimeError(f"event_head row {events.EVENT_HEAD!r} is missing")
            self.event_seq = last - self.n + 1
        first, self.event_seq = self.event_seq, self.event_seq + len(records)
        insert_rows(
            session,
            tables.EVENT,
            _EVENT_COLUMNS,
            [
                (seq, self.at, "issued", self.office_id, number, 1, "{}")
                for seq, (number, _) in enumerate(records, start=first)
            ],
        )

    def close(self, session: Session) -> None:
        """Set the audit head's hash to the chain's last (all ``n`` must be appended)."""
        if self.count != self.n:  # a gap in either sequence would break its readers
            raise RuntimeError(f"{self.count} certificates written, {self.n} reserved")
        if self.audit_seq:
            session.execute(
                sa.update(_AUDIT_HEAD).where(_AUDIT_HEAD.c.id == 1).values(hash=self.prev)
            )
