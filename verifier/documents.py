"""What the verifier holds, written: each signed document exactly as fetched, the sync
state of each source, and the restricted list's entries as its documents say.

Every function takes the caller's connection and writes inside the caller's transaction
(``db.writing``): the sync and a bundle import decide what to write, this module how.
Reading it back, and re-verifying it, is ``store``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from credential import RestrictionDocument, RestrictionRecord

from . import db

__all__ = [
    "apply_restrictions_document",
    "load_document",
    "load_state",
    "save_document",
    "save_state",
]


def load_document(conn: sa.Connection, kind: str, key: str) -> Any:
    """Return the held document row of ``kind`` and ``key``, or None."""
    d = db.documents
    return conn.execute(sa.select(d).where(d.c.kind == kind, d.c.key == key)).first()


def save_document(
    conn: sa.Connection,
    kind: str,
    key: str,
    token: str,
    version: int,
    now: dt.datetime,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> None:
    """Hold ``token`` as the document of ``kind`` and ``key``, replacing any held one."""
    d = db.documents
    conn.execute(d.delete().where(d.c.kind == kind, d.c.key == key))
    conn.execute(
        d.insert().values(
            kind=kind,
            key=key,
            token=token,
            version=version,
            etag=etag,
            last_modified=last_modified,
            fetched_at=now,
            checked_at=now,
        )
    )


def load_state(conn: sa.Connection, source: str) -> Any:
    """Return the sync state row of ``source``, or None."""
    s = db.sync_state
    return conn.execute(sa.select(s).where(s.c.source == source)).first()


def save_state(conn: sa.Connection, source: str, **values: Any) -> None:
    """Set ``values`` in the sync state of ``source`` (made if missing)."""
    s = db.sync_state
    if conn.execute(s.update().where(s.c.source == source).values(**values)).rowcount == 0:
        conn.execute(s.insert().values(source=source, **values))


def _put_entry(conn: sa.Connection, source: str, e: RestrictionRecord) -> None:
    _drop_entry(conn, source, e.entry_id)
    conn.execute(
        db.restrictions.insert().values(
            source=source,
            entry_id=e.entry_id,
            category=e.category,
            decision_date=e.decision_date,
            bar_until=e.bar_until,
        )
    )
    if e.affected:
        conn.execute(
            db.restriction_numbers.insert(),
            [
                {"source": source, "entry_id": e.entry_id, "certificate_number": n}
                for n in e.affected
            ],
        )


def _drop_entry(conn: sa.Connection, source: str, entry_id: str) -> None:
    for t in (db.restriction_numbers, db.restrictions):
        conn.execute(t.delete().where(t.c.source == source, t.c.entry_id == entry_id))


def apply_restrictions_document(
    conn: sa.Connection, source: str, doc: RestrictionDocument, now: dt.datetime
) -> None:
    """Store ``doc`` (already checked against the held state) and what it says."""
    d = db.documents
    prefix = source + "#"
    if doc.after is None:
        for t in (db.restriction_numbers, db.restrictions):
            conn.execute(t.delete().where(t.c.source == source))
        conn.execute(d.delete().where(d.c.kind == "restrictions", d.c.key.startswith(prefix)))
        for e in doc.entries:
            _put_entry(conn, source, e)
        save_document(conn, "restrictions", prefix + "0000000000", doc.token, doc.iat, now)
    else:
        for _seq, op, item in doc.changes:
            if op == "add":
                assert isinstance(item, RestrictionRecord)
                _put_entry(conn, source, item)
            else:
                assert isinstance(item, str)
                _drop_entry(conn, source, item)
        if doc.changes:
            # the last "confirmed as of" document is now behind the cursor: drop it
            conn.execute(
                d.delete().where(d.c.kind == "restrictions", d.c.key == prefix + "~latest")
            )
            count = conn.execute(
                sa.select(sa.func.count())
                .select_from(d)
                .where(d.c.kind == "restrictions", d.c.key.startswith(prefix))
            ).scalar_one()
            save_document(conn, "restrictions", f"{prefix}{count:010d}", doc.token, doc.iat, now)
        else:  # only confirms the data as of its iat: keep the newest such document
            save_document(conn, "restrictions", prefix + "~latest", doc.token, doc.iat, now)
    save_state(
        conn,
        "restrictions:" + source,
        cursor=doc.cursor,
        data_iat=doc.iat,
        last_attempt=now,
        last_success=now,
        last_error=None,
    )
    db.bump_generation(conn)
