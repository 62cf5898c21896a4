"""The national feed (issue 12 point 7): every office's certificate events in one ordered,
hash-chained sequence, read by the teacher management information system.

Offices push signed batches (``credential.load_feed_batch``) of their own events, each
batch naming the office's event it follows (``after``); the registry keeps the office's
last event received (``rg_feed_office``), so a replayed batch changes nothing and a batch
after an event never received is refused (a gap: the office sends in order). Each new event
takes the next national ``seq`` under the ``feed`` head row lock (so seqs commit in order
under concurrent writers, as the list's changes) and ``hash`` chains it to the one before
(``credential.feed_event_hash``). The identity number is kept beside the chain, sealed in
it under a random salt, and given only to clients with the identity flag.

System clients: ``rg_feed_client``, one API key each (only its SHA-256 is kept), made by
``jiaozi registry feed-client add``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from credential import FEED_GENESIS, FeedBatch, feed_event_hash, identity_seal
from keys import DataCipher

from .db import feed_clients, feed_events, feed_offices, head
from .store import RegistryError

__all__ = [
    "FeedClient",
    "FeedGap",
    "accept_batch",
    "add_client",
    "authenticate",
    "disable_client",
    "read_feed",
]


class FeedGap(RegistryError):
    """A batch sent after an event of the office the registry never received."""

    def __init__(self, last: int) -> None:
        super().__init__(f"the office's last event received is {last}")
        self.last = last


@dataclass(frozen=True, slots=True)
class FeedClient:
    """An authenticated system client."""

    name: str
    identity: bool


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_client(engine: Engine, name: str, *, identity: bool, now: dt.datetime) -> str:
    """Record a system client and return its API key (shown once; only its hash is kept).

    Raises sqlalchemy IntegrityError when ``name`` is taken."""
    key = "jzf_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            feed_clients.insert().values(
                name=name, key_hash=_key_hash(key), identity=identity, created_at=now
            )
        )
    return key


def disable_client(engine: Engine, name: str, *, now: dt.datetime) -> bool:
    """Disable the client ``name`` (its key stops working at once); return False when no
    enabled client has that name."""
    with engine.begin() as conn:
        done = conn.execute(
            feed_clients.update()
            .where(feed_clients.c.name == name, feed_clients.c.disabled_at.is_(None))
            .values(disabled_at=now)
        )
    return bool(done.rowcount)


def authenticate(engine: Engine, key: str) -> FeedClient | None:
    """Return the enabled client whose API key is ``key``, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(feed_clients.c.name, feed_clients.c.identity).where(
                feed_clients.c.key_hash == _key_hash(key), feed_clients.c.disabled_at.is_(None)
            )
        ).first()
    return None if row is None else FeedClient(str(row.name), bool(row.identity))


def _aad(seq: int) -> bytes:
    return f"jiaozi-feed:{seq}".encode("ascii")


def accept_batch(
    engine: Engine, batch: FeedBatch, *, cipher: DataCipher, now: dt.datetime
) -> tuple[int, int]:
    """Append the events of ``batch`` not yet received, in one transaction; each identity
    number is kept sealed by ``cipher``, bound to its feed number.

    Returns (events appended, the office's last event number). Raises FeedGap when the
    batch's ``after`` is beyond the office's last event received (a replay of held events
    appends nothing).
    """
    with engine.begin() as conn:
        top = conn.execute(
            sa.select(head.c.seq).where(head.c.name == "feed").with_for_update()
        ).scalar_one()
        last = conn.execute(
            sa.select(feed_offices.c.last_seq).where(feed_offices.c.office == batch.office)
        ).scalar()
        last = int(last or 0)
        if batch.after > last:  # events between were never received
            raise FeedGap(last)
        fresh = [e for e in batch.events if e.seq > last]
        if not fresh:
            return 0, last
        # the last event's hash (after a restore, the head is the jump's floor, and the
        # last event the restore point: registry.restore)
        prev = (
            conn.execute(
                sa.select(feed_events.c.hash)
                .where(feed_events.c.seq <= top)
                .order_by(feed_events.c.seq.desc())
                .limit(1)
            ).scalar()
            or FEED_GENESIS
        )
        seq = int(top)
        for e in fresh:
            seq += 1
            salt = secrets.token_hex(16)
            event: dict[str, Any] = {
                "seq": seq,
                "prev": prev,
                "office": batch.office,
                "office_seq": e.seq,
                "kind": e.kind,
                "number": e.number,
                "qualification": e.qualification,
                "subject": e.subject,
                "status": e.status,
                "date": e.date,
                "name": e.name,
                "person_ref": e.person_ref,
                "identity_seal": identity_seal(e.identity_number, salt),
            }
            prev = feed_event_hash(event)
            conn.execute(
                feed_events.insert().values(
                    seq=seq, office=batch.office, office_seq=e.seq,
                    body=json.dumps(event, sort_keys=True, ensure_ascii=False), hash=prev,
                    identity_sealed=base64.b64encode(
                        cipher.seal(e.identity_number.encode("utf-8"), aad=_aad(seq))
                    ).decode("ascii"),
                    salt=salt, received_at=now,
                )
            )  # fmt: skip
        conn.execute(head.update().where(head.c.name == "feed").values(seq=seq))
        new_last = fresh[-1].seq
        if (
            last == 0
            and conn.execute(
                sa.select(feed_offices.c.office).where(feed_offices.c.office == batch.office)
            ).first()
            is None
        ):
            conn.execute(feed_offices.insert().values(office=batch.office, last_seq=new_last))
        else:
            conn.execute(
                feed_offices.update()
                .where(feed_offices.c.office == batch.office)
                .values(last_seq=new_last)
            )
    return len(fresh), new_last


def read_feed(
    engine: Engine, *, after: int, limit: int, identity: bool, cipher: DataCipher
) -> tuple[int, list[dict[str, Any]]] | None:
    """Return (head, at most ``limit`` events after ``after``, each with its ``hash``, and
    ``identity`` ``{number, salt}`` only when ``identity``), or None when ``after`` is
    beyond the head."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        top = int(conn.execute(sa.select(head.c.seq).where(head.c.name == "feed")).scalar_one())
        if after > top:
            return None
        rows = conn.execute(
            sa.select(feed_events)
            .where(feed_events.c.seq > after, feed_events.c.seq <= top)
            .order_by(feed_events.c.seq)
            .limit(limit)
        ).all()
    out = []
    for r in rows:
        event = json.loads(r.body)
        event["hash"] = r.hash
        if identity:
            number = cipher.open(base64.b64decode(r.identity_sealed), aad=_aad(int(r.seq)))
            event["identity"] = {"number": number.decode("utf-8"), "salt": r.salt}
        out.append(event)
    return top, out
