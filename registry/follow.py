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

A registry restored from a backup (``registry.restore``) jumps its feed past every event
it handed out, and each page names the jumps (``restores``: ``{from, hash, to}``). The
follower crosses a jump knowingly (after event ``from`` comes ``to + 1``, linked to
``from``'s hash); a cursor inside a lost tail (after ``from``, up to ``to``: events this
copy applied and the registry lost) is said, and the cursor goes back to ``from``: the
offices send those events again after ``to`` and each certificate's row is overwritten
in order (a certificate's events are all its office's). A cursor beyond the head (a
registry restored by hand, or another registry) stops it with an error saying so.

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

from credential import FEED_GENESIS, cli_text, feed_event_hash, identity_seal

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


def _jumps(page: Mapping[str, Any]) -> dict[int, tuple[int, str]]:
    """Return the page's restores as {from: (to, hash of from)}; raises ChainBroken on a
    malformed one."""
    out: dict[int, tuple[int, str]] = {}
    for r in page.get("restores") or ():
        try:
            start, to, link = r["from"], r["to"], r["hash"]
        except (KeyError, TypeError) as exc:
            raise ChainBroken(f"the page's restores are malformed: {exc}") from exc
        if not (isinstance(start, int) and isinstance(to, int) and isinstance(link, str)):
            raise ChainBroken("the page's restores are malformed")
        if to > start:
            out[start] = (to, link)
    return out


def check_page(
    seq: int,
    prev: str,
    events: Sequence[Mapping[str, Any]],
    jumps: Mapping[int, tuple[int, str]] | None = None,
) -> tuple[int, str]:
    """Return the (seq, hash) after ``events`` when they continue the chain at (``seq``,
    ``prev``), an event after a restore's ``from`` numbered ``to + 1`` (``jumps``:
    {from: (to, hash)}); raises ChainBroken on the first event that does not."""
    jumps = jumps or {}
    for event in events:
        try:
            following = jumps[seq][0] + 1 if seq in jumps else seq + 1
            if event["seq"] != following:
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


def apply_page(
    engine: Engine,
    events: Sequence[Mapping[str, Any]],
    jumps: Mapping[int, tuple[int, str]] | None = None,
) -> int:
    """Check ``events`` against the cursor held (across ``jumps``, as :func:`check_page`)
    and apply them with the new cursor in one transaction. Returns the new cursor; raises
    ChainBroken (nothing applied)."""
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(cursor_table.c.seq, cursor_table.c.hash).where(cursor_table.c.id == 1)
        ).one()
        seq, last_hash = check_page(int(row.seq), str(row.hash), events, jumps)
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


def _rewind(engine: Engine, *, was: int, to: int, link: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            cursor_table.update()
            .where(cursor_table.c.id == 1, cursor_table.c.seq == was)
            .values(seq=to, hash=link)
        )


def follow_once(
    engine: Engine,
    http: httpx.Client,
    registry: str,
    key: str,
    limit: int,
    *,
    say: Callable[[str], None] | None = None,
    lang: str = "en",
) -> int:
    """Read and apply pages until one comes back empty; return the events applied. A
    cursor in a restore's lost tail goes back to the restore's start, said by ``say`` in
    ``lang``.

    Raises ChainBroken (a cursor beyond the registry's head among them), or
    httpx.HTTPStatusError on another answer than 200."""
    applied = 0
    while True:
        with engine.connect() as conn:
            after = int(conn.execute(sa.select(cursor_table.c.seq)).scalar_one())
        answer = http.get(
            f"{registry.rstrip('/')}/api/v1/feed",
            params={"after": after, "limit": limit},
            headers={"Authorization": f"Bearer {key}"},
        )
        if answer.status_code == 409:
            raise ChainBroken(
                f"the registry's feed ends before this copy's cursor {after}: it was "
                "restored from a backup without `jiaozi restore registry`, or it is another "
                "registry; nothing applied (follow it into an empty database, or ask its "
                "operators)"
            )
        answer.raise_for_status()
        page = answer.json()
        jumps = _jumps(page)
        lost = [(start, to, link) for start, (to, link) in jumps.items() if start < after <= to]
        if lost:
            start, to, link = max(lost)
            (say or print)(
                cli_text("feed.restored", lang, start=start, to=to, first=start + 1, after=after)
            )
            _rewind(engine, was=after, to=start, link=link)
            continue
        events = page["events"]
        if not events:
            # An empty page is "at the head" only if the registry's head says so: else the
            # events after the cursor were lost on the way (the chain cannot show a gap
            # that no later event of the page crosses).
            top = page.get("head")
            at_head = top == after or (after in jumps and jumps[after][0] == top)
            if not isinstance(top, int) or not at_head:
                raise ChainBroken(f"gap: the head is {top} but no event came after {after}")
            return applied
        apply_page(engine, events, jumps)
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
    lang: str = "en",
) -> None:
    """Keep ``into``'s tables current from the feed at ``registry``: read to the head, then
    again every ``interval`` seconds (``until_idle``: return at the head), saying what it
    did with ``say`` in ``lang`` (``zh`` or ``en``).

    Raises ChainBroken (the page refused, nothing of it applied), or httpx.HTTPError when
    the registry cannot be read."""
    engine = target_engine(into)
    try:
        with httpx.Client(timeout=30) as http:
            while True:
                n = follow_once(engine, http, registry, key, limit, say=say, lang=lang)
                if n:
                    say(cli_text("feed.applied", lang, n=n))
                if until_idle:
                    return
                time.sleep(interval)
    finally:
        engine.dispose()
