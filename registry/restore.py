"""What a restore of the registry's database from a backup must do before it serves again
(run by ``jiaozi restore registry``: ``jiaozi.backup.services.restore_registry``).

A restored database is the registry as at the backup. Between the backup and the restore
it handed out list changes and feed events that the archive does not hold, and offices,
followers and their cursors remember them. If the seqs simply went on from the archive's
heads, a new change would get the number of a lost one: an office whose cursor is past
the archive's head would skip the new changes up to its cursor, and a follower would
meet a different event under a number it already applied.

So the restore **jumps both heads to a floor above any seq ever handed out** and records
it (``rg_restore``). The floor is the restore time in whole seconds times
:data:`SEQS_PER_SECOND` (and never below the archive's head): each floor is taken this way,
and the registry commits far fewer than a million changes a second (every change waits
for one row lock and one commit), so every seq handed out before the restore is below it
(a second restore from the same archive too, a second later or more). What clients see:

- the list: a cursor below the latest floor is refused with 409 ``cursor_before_restore``
  (``registry.store.read_changes``): the office reads a snapshot, and re-sends what of its
  own the snapshot lacks (``issuer.lifecycle.national``);
- the feed: pages name every restore (``from``, its ``hash``, ``to``); a follower crosses
  from event ``from`` to ``to + 1`` (the chain links across: ``prev`` is ``from``'s hash),
  and one whose cursor lies in a lost tail (after ``from``, up to ``to``) says so and goes
  back to ``from`` (``registry.follow``);
- each office's feed: the registry's last event of the office is the archive's; a batch
  after it is a 409 ``feed_gap`` naming ``last``, and the office sends again from there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from credential import FEED_GENESIS

from .db import feed_events, head, published, restores

__all__ = ["SEQS_PER_SECOND", "RestorePoint", "after_restore", "feed_restores", "floor_at"]

SEQS_PER_SECOND = 1_000_000


@dataclass(frozen=True, slots=True)
class RestorePoint:
    """Where a restore left the list and the feed: their heads in the archive, the feed's
    hash there, and the floors their seqs continue above."""

    list_from: int
    list_floor: int
    feed_from: int
    feed_hash: str
    feed_floor: int


def floor_at(now: dt.datetime) -> int:
    """Return the floor a restore at ``now`` jumps the heads to (at least)."""
    return int(now.timestamp()) * SEQS_PER_SECOND


def after_restore(engine: Engine, *, now: dt.datetime, archive: str = "") -> RestorePoint:
    """Jump the list's and the feed's heads to the floor of ``now`` (never down), record
    the restore and drop the signed snapshot kept, in one transaction. Call it once the
    restored database is migrated, before the registry serves.

    Returns the restore point."""
    base = floor_at(now)
    with engine.begin() as conn:
        tops = {}
        for name in ("list", "feed"):  # the writers' lock order: list, then feed
            tops[name] = int(
                conn.execute(
                    sa.select(head.c.seq).where(head.c.name == name).with_for_update()
                ).scalar_one()
            )
        feed_hash = (
            conn.execute(
                sa.select(feed_events.c.hash).where(feed_events.c.seq == tops["feed"])
            ).scalar()
            or FEED_GENESIS
        )
        point = RestorePoint(
            list_from=tops["list"],
            list_floor=max(tops["list"], base),
            feed_from=tops["feed"],
            feed_hash=str(feed_hash),
            feed_floor=max(tops["feed"], base),
        )
        conn.execute(head.update().where(head.c.name == "list").values(seq=point.list_floor))
        conn.execute(head.update().where(head.c.name == "feed").values(seq=point.feed_floor))
        conn.execute(published.delete())
        conn.execute(
            restores.insert().values(
                restored_at=now,
                archive=archive[:300],
                list_from=point.list_from,
                list_floor=point.list_floor,
                feed_from=point.feed_from,
                feed_hash=point.feed_hash,
                feed_floor=point.feed_floor,
            )
        )
    return point


def feed_restores(engine: Engine) -> list[dict[str, Any]]:
    """Return the feed's jumps, oldest first, as a feed page names them: ``{from, hash,
    to}``: after event ``from`` (whose hash is ``hash``) the next event is ``to + 1``. A
    restore that jumped nothing (the clock behind the archive) is left out."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(restores.c.feed_from, restores.c.feed_hash, restores.c.feed_floor)
            .where(restores.c.feed_floor > restores.c.feed_from)
            .order_by(restores.c.id)
        ).all()
    return [{"from": int(r[0]), "hash": str(r[1]), "to": int(r[2])} for r in rows]
