"""The reference consumer of the national feed (issue 12 point 7), run as ``jiaozi feed
follow`` (registry/cli.py).

It reads ``GET /api/v1/feed`` from its cursor, checks every page against the chain (each
event's ``seq`` the one after the cursor, ``prev`` the cursor's hash, ``hash`` recomputed
with ``credential.feed_event_hash``, and an identity number against its seal; an empty
page only when the page's ``head`` is the cursor), and applies
the page and the new cursor in ONE transaction of the target database: killed at any
point (``kill -9``), it resumes from the last page committed, with neither loss nor
duplicate. A gap or a broken link is refused: nothing of that page is applied, the
command stops with an error.

Target tables (made when missing): ``feed_cursor`` (one row: ``seq``, ``hash``) and
``certificate_by_person`` (one row per certificate number: ``person`` (the identity number
for a client with the identity flag, else the person reference), ``person_ref``,
``office``, ``qualification``, ``subject``, ``status``, ``name``, ``seq``). Imports neither
the issuer nor the verifier: a system client installs the registry extra only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from credential import FEED_GENESIS, feed_event_hash, identity_seal

__all__ = [
    "ChainBroken",
    "apply_page",
    "check_page",
    "follow",
    "follow_once",
    "target_engine",
]

_meta = sa.MetaData()
cursor_table = sa.Table(
    "feed_cursor",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
certificates = sa.Table(
    "certificate_by_person",
    _meta,
    sa.Column("number", sa.String(200), primary_key=True),
    sa.Column("person", sa.String(64), nullable=False, index=True),
    sa.Column("person_ref", sa.String(64), nullable=False),
    sa.Column("office", sa.String(200), nullable=False),
    sa.Column("qualification", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("status", sa.String(200), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
)


class ChainBroken(Exception):
    """A feed page that does not continue the chain held (a gap, a forged or missing
    event)."""


def target_engine(url: str) -> Engine:
    """Return an engine on the consumer's database with its two tables and cursor row."""
    engine = sa.create_engine(url)
    _meta.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        if conn.execute(sa.select(cursor_table.c.seq)).first() is None:
            conn.execute(cursor_table.insert().values(id=1, seq=0, hash=FEED_GENESIS))
    return engine


def check_page(seq: int, prev: str, events: Sequence[Mapping[str, Any]]) -> tuple[int, str]:
    """Return the (seq, hash) after ``events`` when they continue the chain at (``seq``,
    ``prev``); raises ChainBroken on the first event that does not."""
    for event in events:
        try:
            if event["seq"] != seq + 1:
                raise ChainBroken(f"gap: event {event['seq']} after {seq}")
            if event["prev"] != prev:
                raise ChainBroken(f"event {event['seq']} does not link to {seq}")
            if feed_event_hash(event) != event["hash"]:
                raise ChainBroken(f"event {event['seq']} does not match its hash")
            ident = event.get("identity")
            if ident is not None and (
                identity_seal(ident["number"], ident["salt"]) != event["identity_seal"]
            ):
                raise ChainBroken(f"event {event['seq']} identity does not match its seal")
        except (KeyError, TypeError) as exc:
            raise ChainBroken(f"event after {seq} is malformed: {exc}") from exc
        seq, prev = int(event["seq"]), str(event["hash"])
    return seq, prev


def apply_page(engine: Engine, events: Sequence[Mapping[str, Any]]) -> int:
    """Check ``events`` against the cursor held and apply them with the new cursor in one
    transaction. Returns the new cursor; raises ChainBroken (nothing applied)."""
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(cursor_table.c.seq, cursor_table.c.hash).where(cursor_table.c.id == 1)
        ).one()
        seq, last_hash = check_page(int(row.seq), str(row.hash), events)
        for e in events:
            ident = e.get("identity")
            values = {
                "person": ident["number"] if ident else e["person_ref"],
                "person_ref": e["person_ref"],
                "office": e["office"],
                "qualification": e["qualification"],
                "subject": e["subject"],
                "status": e["status"],
                "name": e["name"],
                "seq": e["seq"],
            }
            done = conn.execute(
                certificates.update().where(certificates.c.number == e["number"]).values(values)
            )
            if done.rowcount == 0:
                conn.execute(certificates.insert().values(number=e["number"], **values))
        conn.execute(
            cursor_table.update().where(cursor_table.c.id == 1).values(seq=seq, hash=last_hash)
        )
    return seq


def follow_once(engine: Engine, http: httpx.Client, registry: str, key: str, limit: int) -> int:
    """Read and apply pages until one comes back empty; return the events applied.

    Raises ChainBroken, or httpx.HTTPStatusError on an answer other than 200."""
    applied = 0
    while True:
        with engine.connect() as conn:
            after = int(conn.execute(sa.select(cursor_table.c.seq)).scalar_one())
        answer = http.get(
            f"{registry.rstrip('/')}/api/v1/feed",
            params={"after": after, "limit": limit},
            headers={"Authorization": f"Bearer {key}"},
        )
        answer.raise_for_status()
        page = answer.json()
        events = page["events"]
        if not events:
            # An empty page is "at the head" only if the registry's head says so: else the
            # events after the cursor were lost on the way (the chain cannot show a gap
            # that no later event of the page crosses).
            top = page.get("head")
            if not isinstance(top, int) or top != after:
                raise ChainBroken(f"gap: the head is {top} but no event came after {after}")
            return applied
        apply_page(engine, events)
        applied += len(events)


def follow(
    registry: str,
    key: str,
    into: str,
    *,
    limit: int = 500,
    interval: float = 10.0,
    until_idle: bool = False,
    say: Callable[[str], None] = print,
) -> None:
    """Keep ``into``'s tables current from the feed at ``registry``: read to the head, then
    again every ``interval`` seconds (``until_idle``: return at the head).

    Raises ChainBroken (the page refused, nothing of it applied), or httpx.HTTPError when
    the registry cannot be read."""
    engine = target_engine(into)
    try:
        with httpx.Client(timeout=30) as http:
            while True:
                n = follow_once(engine, http, registry, key, limit)
                if n:
                    say(f"applied {n} events")
                if until_idle:
                    return
                time.sleep(interval)
    finally:
        engine.dispose()
