"""The event feed for the teacher management information system.

An event says what happened to which certificate, never to whom: certificate number,
version, type, time, office and a reason code; for the restricted list the entry's id and
category. No name and no identity number ever enter an event.

``seq`` is gapless and commits in ``seq`` order, so a reader that asks for everything
after the last ``seq`` it saw never skips an event and never sees one twice, across
restarts and concurrent writers. :func:`next_seq` takes the number with
``UPDATE event_head SET seq = seq + 1 WHERE name = ... RETURNING seq`` in the writer's
transaction: on PostgreSQL that row lock is held until commit, so the writer that took
``n`` commits before the one that takes ``n + 1`` can even read the head; on SQLite
writers are already serialised by ``BEGIN IMMEDIATE``. A rollback returns the number.

Lock order (no deadlocks on PostgreSQL): the ``restriction`` head row (restricted-list
changes) first, then certificate and status list rows, then ``audit_head``
(:func:`issuer.audit.chain.append`), then the ``event`` head row. Call :func:`append_event`
after the audit record of the same change.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import as_utc, canonical_json, rfc3339
from issuer.db import tables
from issuer.db.allowance import FEED_FENCE, spend
from issuer.db.models import Event

__all__ = [
    "EVENT_HEAD",
    "EVENT_TYPES",
    "MAX_LIMIT",
    "RESTRICTION_HEAD",
    "append_event",
    "event_json",
    "list_events",
    "next_seq",
]

EVENT_TYPES = frozenset(
    {"issued", "suspended", "reinstated", "revoked", "restricted", "unrestricted", "reissued"}
    | {"replaced", "corrected"}  # a new version supersedes the previous (补发, 换发)
)
EVENT_HEAD = "event"
RESTRICTION_HEAD = "restriction"
MAX_LIMIT = 1000

_HEAD = tables.EVENT_HEAD
_EVENT = tables.EVENT


def next_seq(session: Session, name: str) -> int:
    """Return the next number of counter ``name``, locking its row until commit.

    Spends one from the backup's allowance (``issuer.db.allowance``): the registry and the
    verifiers keep cursors on these numbers, so a restore must step past them too. Raises
    BackupNeeded when it is used up.
    """
    spend(session, FEED_FENCE)
    got = session.execute(
        sa.update(_HEAD)
        .where(_HEAD.c.name == name)
        .values(seq=_HEAD.c.seq + 1)
        .returning(_HEAD.c.seq)
    ).scalar_one_or_none()
    if got is None:  # the migration inserts both rows; a missing one is a broken database
        raise RuntimeError(f"event_head row {name!r} is missing")
    return int(got)


def append_event(
    session: Session,
    *,
    type: str,
    office_id: str,
    certificate_number: str | None,
    version: int | None,
    data: dict[str, Any],
    now: dt.datetime,
) -> Event:
    """Add the next event to ``session``'s transaction (the caller commits) and return it.

    ``data`` holds codes only (reason code, restriction id and category); it must never
    carry a name or an identity number. Raises ValueError for an unknown ``type``.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    seq = next_seq(session, EVENT_HEAD)
    event = Event(
        seq=seq,
        at=as_utc(now),
        type=type,
        office_id=office_id,
        certificate_number=certificate_number,
        version=version,
        data_json=canonical_json(data).decode("utf-8"),
    )
    session.add(event)
    session.flush()
    return event


def event_json(row: Any) -> dict[str, Any]:
    """Return the feed's JSON object for one event row."""
    out: dict[str, Any] = {
        "seq": row.seq,
        "type": row.type,
        "at": rfc3339(row.at, microseconds=True),
        "office": row.office_id,
        "certificate_number": row.certificate_number,
        "version": row.version,
    }
    out.update(json.loads(row.data_json))
    return out


def list_events(
    session: Session, *, after: int, limit: int, office_id: str | None
) -> tuple[list[dict[str, Any]], int]:
    """Return (events with ``seq > after`` in order, at most ``limit``; the next cursor).

    ``office_id`` limits the page to that office's events (an officer reads only their
    own office's); None reads every office's (a service client's feed: each event names
    its office). The next cursor is the last returned ``seq``, or ``after`` when nothing
    is new; ``seq`` still commits in order, so a filtered reader sees each of its events
    exactly once.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    query = sa.select(_EVENT).where(_EVENT.c.seq > after)
    if office_id is not None:
        query = query.where(_EVENT.c.office_id == office_id)
    rows = session.execute(query.order_by(_EVENT.c.seq).limit(limit)).all()
    events = [event_json(r) for r in rows]
    return events, (rows[-1].seq if rows else after)
