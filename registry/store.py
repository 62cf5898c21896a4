"""What the registry accepts and answers: an office's entry or removal recorded once
(idempotent on the national reference), and the consolidated list read as one snapshot.

An ``add`` for a reference already held (active or removed) changes nothing: a replayed
entry cannot bring back what its office removed. A ``remove`` of a removed entry changes
nothing; of an unknown one, it is refused (an office's outbox sends in order, so the add
came first). Only the recording office can remove its entry: the reference is made from
the signer's office id.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from credential import (
    NATIONAL_LIST_TYP,
    NationalEntry,
    NationalSubmission,
    Signer,
    national_list_claims,
    sign_national,
)

from .db import changes, entries, head, published, restores

__all__ = [
    "Accepted",
    "CursorBeforeRestore",
    "RegistryError",
    "UnknownEntry",
    "accept",
    "published_snapshot",
    "read_changes",
    "read_snapshot",
    "signed_snapshot",
]


class RegistryError(Exception):
    """The root of the registry's own errors (mapped to HTTP in ``registry.problems``)."""


class UnknownEntry(RegistryError):
    """A removal of an entry the registry never received."""


class CursorBeforeRestore(RegistryError):
    """A cursor below the floor of the registry's latest restore (``registry.restore``):
    it may name a change lost with the restore, so the reader must start from a snapshot."""

    def __init__(self, floor: int) -> None:
        super().__init__(f"the registry was restored: its changes continue after {floor}")
        self.floor = floor


@dataclass(frozen=True, slots=True)
class Accepted:
    """What a submission did: ``changed`` False for a replay; ``seq`` its change."""

    ref: str
    op: str
    changed: bool
    seq: int | None


def _lock_head(conn: sa.Connection) -> int:
    """Return the last change seq, the head row locked until the transaction ends (every
    writer takes it first: the one lock order, and seqs commit in order)."""
    current = conn.execute(
        sa.select(head.c.seq).where(head.c.name == "list").with_for_update()
    ).scalar_one()
    return int(current)


def _take(conn: sa.Connection, seq: int) -> None:
    conn.execute(head.update().where(head.c.name == "list").values(seq=seq))


def accept(engine: Engine, sub: NationalSubmission, token: str, *, now: dt.datetime) -> Accepted:
    """Record ``sub`` (checked by ``credential.load_national_entry``) in one transaction.

    Returns what it did; raises UnknownEntry for a removal of an entry never received.
    """
    with engine.begin() as conn:
        seq = _lock_head(conn) + 1
        row = conn.execute(
            sa.select(entries.c.removed_seq, entries.c.added_seq).where(entries.c.ref == sub.ref)
        ).first()
        if sub.op == "add":
            if row is not None:
                return Accepted(sub.ref, "add", False, int(row.added_seq))
            entry = sub.entry
            assert entry is not None
            _take(conn, seq)
            conn.execute(
                entries.insert().values(
                    ref=sub.ref,
                    office=sub.office,
                    person_ref=entry.person_ref,
                    category=entry.category,
                    decision_date=entry.decision_date,
                    bar_until=entry.bar_until,
                    added_seq=seq,
                    received_at=now,
                    token=token,
                )
            )
            conn.execute(changes.insert().values(seq=seq, ref=sub.ref, op="add", at=now))
            return Accepted(sub.ref, "add", True, seq)
        if row is None:
            raise UnknownEntry(sub.ref)
        if row.removed_seq is not None:
            return Accepted(sub.ref, "remove", False, int(row.removed_seq))
        _take(conn, seq)
        conn.execute(
            entries.update()
            .where(entries.c.ref == sub.ref)
            .values(removed_seq=seq, removal_token=token)
        )
        conn.execute(changes.insert().values(seq=seq, ref=sub.ref, op="remove", at=now))
        return Accepted(sub.ref, "remove", True, seq)


# An entry's columns in NationalEntry's field order: a snapshot reads only these (not the
# office-signed tokens kept as evidence, which are most of a row's bytes) and makes each
# entry from its row positionally (issue 12 point 9: 100,000 entries in under a second).
_ENTRY_COLUMNS = (
    entries.c.ref,
    entries.c.office,
    entries.c.person_ref,
    entries.c.category,
    entries.c.decision_date,
    entries.c.bar_until,
)


def _reading(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))


def read_snapshot(engine: Engine) -> tuple[int, list[NationalEntry]]:
    """Return (cursor, the entries in force as of that change), read as one snapshot."""
    with engine.begin() as conn:
        _reading(conn)
        cursor = conn.execute(sa.select(head.c.seq).where(head.c.name == "list")).scalar_one()
        rows = conn.execute(
            sa.select(*_ENTRY_COLUMNS)
            .where(entries.c.removed_seq.is_(None))
            .order_by(entries.c.added_seq)
        ).all()
    return int(cursor), [NationalEntry(*r) for r in rows]


@contextmanager
def _gc_frozen() -> Iterator[None]:
    """Keep the cyclic garbage collector off every object that exists now, until the end
    (as ``issuer.batches.store.gc_frozen``): a snapshot makes a few hundred thousand
    objects, and each full collection meanwhile would walk them and the whole process
    again. ``gc.freeze`` frees and loses nothing; another thread's ``gc.unfreeze`` only
    ends the saving early."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def signed_snapshot(engine: Engine, *, signer: Signer, iss: str, now: int) -> str:
    """Return the consolidated list as of now (:func:`read_snapshot`), signed by
    ``signer`` as ``iss`` with ``iat`` ``now``: what an office pulls without a cursor."""
    return _sign_snapshot(engine, signer=signer, iss=iss, now=now)[1]


def _sign_snapshot(engine: Engine, *, signer: Signer, iss: str, now: int) -> tuple[int, str]:
    with _gc_frozen():
        cursor, held = read_snapshot(engine)
        claims = national_list_claims(iss=iss, iat=now, cursor=cursor, after=None, entries=held)
        del held  # (the claims hold the same facts as JSON values)
        return cursor, sign_national(NATIONAL_LIST_TYP, claims, signer)


SNAPSHOT_MAX_AGE = 3600


def published_snapshot(
    engine: Engine, *, signer: Signer, iss: str, now: int, max_age: int = SNAPSHOT_MAX_AGE
) -> str:
    """Return the signed snapshot as last published if it is still the list's state (made
    at the current head, by ``signer``'s key, less than ``max_age`` seconds ago); else sign
    a new one (:func:`signed_snapshot`), store it and return it.

    Signing 100,000 entries costs about a second of CPU (``make bench``, section
    ``national``): done once per change, not once per office that starts. Two replicas
    that find it stale at once each sign one; the later write stays, both are valid."""
    with engine.connect() as conn:
        current = conn.execute(sa.select(head.c.seq).where(head.c.name == "list")).scalar()
        row = conn.execute(
            sa.select(
                published.c.cursor, published.c.kid, published.c.iat, published.c.token
            ).where(published.c.name == "snapshot")
        ).first()
    if (
        row is not None
        and current is not None
        and int(row.cursor) == int(current)
        and row.kid == signer.kid
        and 0 <= now - int(row.iat) < max_age
    ):
        return str(row.token)
    cursor, token = _sign_snapshot(engine, signer=signer, iss=iss, now=now)
    values = {"cursor": cursor, "kid": signer.kid, "iat": now, "token": token}
    with engine.begin() as conn:
        done = conn.execute(
            published.update().where(published.c.name == "snapshot").values(**values)
        ).rowcount
        if not done:
            conn.execute(published.insert().values(name="snapshot", **values))
    return token


def read_changes(
    engine: Engine, *, after: int, limit: int
) -> tuple[int, list[tuple[int, str, NationalEntry]]] | None:
    """Return (head, at most ``limit`` changes after ``after``), or None when ``after`` is
    beyond the head (a cursor this registry never gave).

    Raises CursorBeforeRestore when ``after`` is below the latest restore's floor (the
    changes after it may differ from the ones the reader saw: it reads a snapshot)."""
    with engine.begin() as conn:
        _reading(conn)
        current = conn.execute(sa.select(head.c.seq).where(head.c.name == "list")).scalar_one()
        if after > current:
            return None
        floor = conn.execute(sa.select(sa.func.max(restores.c.list_floor))).scalar()
        if floor is not None and after < floor:
            raise CursorBeforeRestore(int(floor))
        rows = conn.execute(
            sa.select(changes.c.seq, changes.c.op, *_ENTRY_COLUMNS)
            .join(entries, entries.c.ref == changes.c.ref)
            .where(changes.c.seq > after)
            .order_by(changes.c.seq)
            .limit(limit)
        ).all()
    return int(current), [(int(r[0]), str(r[1]), NationalEntry(*r[2:])) for r in rows]
