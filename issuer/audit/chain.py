"""The hash-chained audit trail.

Each record's ``hash`` is SHA-256 over the previous record's hash (hex) followed by the
canonical JSON of the record (seq, at, actor, action, subject, detail, prev_hash). The
chain starts from 64 zeros. Appending advances the single ``audit_head`` row with an
``UPDATE ... RETURNING``: that row lock orders concurrent writers on PostgreSQL (SQLite
is already serialised by ``BEGIN IMMEDIATE``), so the chain never forks and its sequence
has no gaps. Call :func:`append` inside the transaction of the change it records.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import MalformedError, as_utc, canonical_json, rfc3339
from issuer.db import tables
from issuer.db.models import AuditHead, AuditRecord

__all__ = [
    "GENESIS_HASH",
    "append",
    "append_many",
    "chain_hashes",
    "record_hash",
    "verify_chain",
]

GENESIS_HASH = "0" * 64


def chain_hashes(
    *,
    first_seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    records: Sequence[tuple[str, str]],
    prev_hash: str,
) -> list[tuple[int, str, str]]:
    """Return ``(seq, prev_hash, hash)`` for records ``first_seq``, ``first_seq + 1``, ...
    chained after ``prev_hash``, one per ``(subject, detail_json)``; ``detail_json`` is the
    canonical JSON text of the detail (``canonical_json(detail)``).

    The chain's one hashing function (``record_hash`` is this for one record): the body is
    the canonical JSON of ``{seq, at, actor, action, subject, detail, prev_hash}`` put
    together from canonical parts in sorted key order, which is byte for byte what
    ``canonical_json`` makes of that object (a test holds the two equal), without walking
    and re-encoding the detail once more per record.
    """
    head = b"".join(
        (
            b'{"action":',
            canonical_json(action),
            b',"actor":',
            canonical_json(actor),
            b',"at":',
            canonical_json(rfc3339(at, microseconds=True)),
            b',"detail":',
        )
    )
    head_text = head.decode("utf-8")
    out: list[tuple[int, str, str]] = []
    prev = prev_hash
    # the range canonical_json refuses numbers outside of (MalformedError), checked by it
    canonical_json([first_seq, first_seq + len(records) - 1])
    for seq, (subject, detail_json) in enumerate(records, start=first_seq):
        # canonical_json of a str is encode_basestring's quoting, of an int its repr: the
        # same text put together in one f-string and encoded once (with the previous hash
        # in front, which ``prev.encode("ascii")`` required to be ASCII)
        if not prev.isascii():
            prev.encode("ascii")  # raises UnicodeEncodeError, as before
        text = (
            f"{prev}{head_text}{detail_json},"
            f'"prev_hash":{_json_str(prev)},"seq":{int.__repr__(seq)},'
            f'"subject":{_json_str(subject)}}}'
        )
        try:
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        except UnicodeEncodeError as exc:
            raise MalformedError("string is not valid Unicode") from exc
        out.append((seq, prev, digest))
        prev = digest
    return out


_json_str = json.encoder.encode_basestring  # what canonical_json does to a str


def record_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str,
    detail: Any,
    prev_hash: str,
) -> str:
    """Return the hex SHA-256 chaining one record to ``prev_hash``."""
    return chain_hashes(
        first_seq=seq,
        at=at,
        actor=actor,
        action=action,
        records=[(subject, canonical_json(detail).decode("utf-8"))],
        prev_hash=prev_hash,
    )[0][2]


def append(
    session: Session, *, actor: str, action: str, subject: str, detail: Any, at: dt.datetime
) -> AuditRecord:
    """Add the next record of the chain to ``session``'s transaction and return it."""
    head = tables.AUDIT_HEAD
    seq, prev = session.execute(
        sa.update(head)
        .where(head.c.id == 1)
        .values(seq=head.c.seq + 1)
        .returning(head.c.seq, head.c.hash)
    ).one()
    at = as_utc(at)
    digest = record_hash(
        seq=seq, at=at, actor=actor, action=action, subject=subject, detail=detail, prev_hash=prev
    )
    session.execute(sa.update(head).where(head.c.id == 1).values(hash=digest))
    record = AuditRecord(
        id=seq,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        detail_json=canonical_json(detail).decode("utf-8"),
        prev_hash=prev,
        hash=digest,
    )
    session.add(record)
    return record


def append_many(
    session: Session,
    *,
    actor: str,
    action: str,
    records: Sequence[tuple[str, Any]],
    at: dt.datetime,
) -> None:
    """Add one record per ``(subject, detail)`` to ``session``'s transaction, in order, as
    many ``append`` calls would (the same chain, the same hashes), with the head advanced
    once and the records inserted in one statement: for a step that audits thousands of
    subjects at once (a batch's claim codes)."""
    if not records:
        return
    head = tables.AUDIT_HEAD
    at = as_utc(at)
    last, prev = session.execute(
        sa.update(head)
        .where(head.c.id == 1)
        .values(seq=head.c.seq + len(records))
        .returning(head.c.seq, head.c.hash)
    ).one()
    texts = [(subject, canonical_json(detail).decode("utf-8")) for subject, detail in records]
    chained = chain_hashes(
        first_seq=last - len(records) + 1,
        at=at,
        actor=actor,
        action=action,
        records=texts,
        prev_hash=prev,
    )
    session.execute(sa.update(head).where(head.c.id == 1).values(hash=chained[-1][2]))
    session.execute(
        sa.insert(tables.AUDIT_RECORD),
        [
            {
                "id": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "subject": subject,
                "detail_json": detail_json,
                "prev_hash": prev_hash,
                "hash": digest,
            }
            for (subject, detail_json), (seq, prev_hash, digest) in zip(texts, chained, strict=True)
        ],
    )


def verify_chain(session: Session) -> int | None:
    """Return the sequence number of the first bad record, or None if the chain holds.

    A record is bad if its number is not the next one, its ``prev_hash`` is not the
    previous hash, or its hash does not match its content. A missing tail shows as the
    head row pointing past the last record (its number + 1 is returned).
    """
    prev, expected = GENESIS_HASH, 1
    records = sa.select(AuditRecord).order_by(tables.AUDIT_RECORD.c.id)
    for rec in session.execute(records).scalars():
        if rec.id != expected or rec.prev_hash != prev:
            return expected
        try:
            detail = json.loads(rec.detail_json)
        except ValueError:
            return rec.id
        if rec.hash != record_hash(
            seq=rec.id,
            at=rec.at,
            actor=rec.actor,
            action=rec.action,
            subject=rec.subject,
            detail=detail,
            prev_hash=rec.prev_hash,
        ):
            return rec.id
        prev, expected = rec.hash, expected + 1
    head = session.get(AuditHead, 1)
    if head is None or head.seq != expected - 1 or head.hash != prev:
        return expected
    return None
