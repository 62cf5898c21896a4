"""The backup fence: what a backup allows to be handed out before the next one, so that a
restore can step past every certificate number and status list used after the backup.

A restored database does not know the numbers and status entries handed out after its
backup; it must never hand them out again (docs/operations.md, "Backup and restore").
Luck is not the rule; the fence is:

- ``jiaozi backup issuer`` records, in one write transaction, the high-water marks (every
  serial counter, the newest status list's ordinal and the largest list id, the event
  feed's and the restricted list's change sequences) and sets three allowances in
  ``event_head`` (``issuer.db.allowance``): ``fence:serials`` (serials that may be
  allocated in all, over every year), ``fence:lists`` (new status lists that may be made)
  and ``fence:feeds`` (event and change sequence numbers, on which the registry and the
  verifiers keep cursors). All are in the archive's manifest.
- Every serial allocation (:func:`issuer.issuance.numbers.allocate_serial`, one
  certificate or a batch chunk), every new status list and every event or change number
  spends from its allowance in the transaction that takes it; one that would overdraw it
  is refused with :class:`issuer.errors.BackupNeeded` (a rollback gives it back). Without
  a fence row (no backup ever taken) nothing is counted.
- :func:`after_restore` therefore knows that at most ``serials`` serials of any year, at
  most ``lists`` new lists and at most ``feeds`` sequence numbers were used after the
  backup. It moves every year's counter past ``high-water + serials``, makes a fresh
  status list numbered past every list that could exist (so the lists open at the backup
  are never drawn from again, and no list id or URI is made twice), moves both sequences
  past ``high-water + feeds`` (so the registry and the verifiers take what comes next
  instead of dropping it as already seen) and the restricted-list entry ids' floor with
  them (each entry takes a change number; the registry drops an entry whose
  ``<office>#<id>`` it holds), sets every allowance to 0 (issuance waits for
  a fresh backup, so restoring the same archive again cannot fall behind), sets the
  reconcile gate (``gate:reconcile``: no status list is signed until ``jiaozi issuer
  reconcile-status`` has taken back the status published since the backup,
  :func:`issuer.db.allowance.require_reconciled`), and writes the step to the audit chain.

The rule holds for the NEWEST archive: a backup taken later sets a new allowance the older
archive does not know of. Restoring an older archive needs ``extra_serials``,
``extra_lists`` and ``extra_feeds`` covering every backup since (the sum of their allowances).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from credential import StatusList, beijing_date
from issuer.audit import chain
from issuer.audit.events import EVENT_HEAD, RESTRICTION_HEAD
from issuer.db import tables, write
from issuer.db.allowance import (
    FEED_FENCE,
    LIST_FENCE,
    RECONCILE_GATE,
    RESTRICTION_ID_FLOOR,
    SERIAL_FENCE,
    floor,
    spend,
)
from issuer.issuance.statuslists import STATUS_BITS
from issuer.settings import EARLIEST_DATE, IssuerSettings

__all__ = [
    "FEED_FENCE",
    "LIST_FENCE",
    "LIST_ID_SLACK",
    "MAX_SERIAL",
    "SERIAL_FENCE",
    "HighWater",
    "RestoreJump",
    "after_restore",
    "set_fence",
    "spend",
]

MAX_SERIAL = 999_999  # six digits (contract section 2)
# On PostgreSQL a new list that loses a race to another writer (same ordinal) still
# consumes a value of the id sequence: at most one per concurrent writer per new list.
# The restore leaves this many ids per list the fence allowed, far above any pool size.
LIST_ID_SLACK = 1000

_HEAD = tables.EVENT_HEAD
_COUNTER = tables.SERIAL_COUNTER
_LIST = tables.STATUS_LIST
_AUDIT = tables.AUDIT_HEAD
_RESTR = tables.RESTRICTION


@dataclass(frozen=True)
class HighWater:
    """What a backup's fence recorded: every serial counter (``"<office> <year>"`` to its
    last serial), the office's newest list ordinal, the largest list id, the audit head,
    and the allowances set."""

    office_id: str
    serials: dict[str, int]
    list_ordinal: int
    list_max_id: int
    audit_seq: int
    audit_hash: str
    serial_allowance: int
    list_allowance: int
    at: str = ""
    # the event feed's and the restricted list's change sequences, and their allowance
    event_seq: int = 0
    restriction_seq: int = 0
    feed_allowance: int = 0
    restriction_max_id: int = 0

    def to_json(self) -> dict[str, Any]:
        """Return the marks as a JSON object (the manifest's ``high_water``)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> HighWater:
        """Return the marks of a manifest's ``high_water``; raises ValueError if malformed."""
        if not isinstance(data, dict):
            raise ValueError("high_water is not an object")
        try:
            return cls(
                office_id=str(data["office_id"]),
                serials={str(k): int(v) for k, v in dict(data["serials"]).items()},
                list_ordinal=int(data["list_ordinal"]),
                list_max_id=int(data["list_max_id"]),
                audit_seq=int(data["audit_seq"]),
                audit_hash=str(data["audit_hash"]),
                serial_allowance=int(data["serial_allowance"]),
                list_allowance=int(data["list_allowance"]),
                at=str(data.get("at", "")),
                event_seq=int(data.get("event_seq", 0)),
                restriction_seq=int(data.get("restriction_seq", 0)),
                feed_allowance=int(data.get("feed_allowance", 0)),
                restriction_max_id=int(data.get("restriction_max_id", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"high_water is malformed: {exc}") from None


def _put(session: Session, name: str, value: int) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(_HEAD).values(name=name, seq=value)
    session.execute(stmt.on_conflict_do_update(index_elements=[_HEAD.c.name], set_={"seq": value}))


def _max_list(session: Session, office_id: str) -> tuple[int, int]:
    ordinal = session.execute(
        sa.select(sa.func.max(_LIST.c.ordinal)).where(_LIST.c.office_id == office_id)
    ).scalar_one_or_none()
    max_id = session.execute(sa.select(sa.func.max(_LIST.c.id))).scalar_one_or_none()
    return int(ordinal or 0), int(max_id or 0)


def _heads(session: Session) -> dict[str, int]:
    return {
        str(n): int(v)
        for n, v in session.execute(
            sa.select(_HEAD.c.name, _HEAD.c.seq).where(
                _HEAD.c.name.in_([EVENT_HEAD, RESTRICTION_HEAD])
            )
        ).all()
    }


def _max_restriction(session: Session) -> int:
    top = session.execute(sa.select(sa.func.max(_RESTR.c.id))).scalar()
    return max(int(top or 0), floor(session, RESTRICTION_ID_FLOOR) or 0)


def set_fence(
    session: Session,
    *,
    office_id: str,
    serials: int,
    lists: int,
    now: dt.datetime,
    feeds: int | None = None,
) -> HighWater:
    """Record the high-water marks and set the allowances (one write transaction); return
    the marks. ``feeds`` (event and restricted-list sequence numbers) defaults to four per
    serial. Ends any transaction the session had open."""
    feeds = 4 * serials if feeds is None else feeds
    if serials < 1 or lists < 1 or feeds < 1:
        raise ValueError("a backup must allow at least one of each")
    session.rollback()
    with write(session):
        # The allowance rows first: an issuer spending from them waits for this commit,
        # so every serial it takes is counted against the new allowance.
        _put(session, SERIAL_FENCE, serials)
        _put(session, LIST_FENCE, lists)
        _put(session, FEED_FENCE, feeds)
        heads = _heads(session)
        # From now on entry ids are given above the floor (issuer.db.allowance).
        max_restriction = _max_restriction(session)
        _put(session, RESTRICTION_ID_FLOOR, max_restriction)
        counters = {
            f"{r.office_id} {r.year}": int(r.last_serial)
            for r in session.execute(sa.select(_COUNTER)).all()
        }
        ordinal, max_id = _max_list(session, office_id)
        audit = session.execute(sa.select(_AUDIT.c.seq, _AUDIT.c.hash)).first()
    return HighWater(
        office_id=office_id,
        serials=counters,
        list_ordinal=ordinal,
        list_max_id=max_id,
        audit_seq=int(audit.seq) if audit else 0,
        audit_hash=str(audit.hash) if audit else "",
        serial_allowance=serials,
        list_allowance=lists,
        at=now.astimezone(dt.UTC).isoformat(),
        event_seq=heads.get(EVENT_HEAD, 0),
        restriction_seq=heads.get(RESTRICTION_HEAD, 0),
        feed_allowance=feeds,
        restriction_max_id=max_restriction,
    )


@dataclass(frozen=True)
class RestoreJump:
    """What :func:`after_restore` did: each year's counter as it now stands (only those
    moved), and the fresh status list."""

    serials: dict[int, int] = field(default_factory=dict)
    list_id: int = 0
    list_ordinal: int = 0
    audit_seq: int = 0
    event_seq: int = 0
    restriction_seq: int = 0
    restriction_id_floor: int = 0


def after_restore(
    session: Session,
    *,
    high: HighWater,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
    extra_serials: int = 0,
    extra_lists: int = 0,
    extra_feeds: int = 0,
    archive: str = "",
) -> RestoreJump:
    """Step a restored database past every number and status list the fence allowed after
    the backup (see the module's docstring); return what moved. One write transaction."""
    office = settings.office_id
    serial_step = high.serial_allowance + max(0, extra_serials)
    list_step = high.list_allowance + max(0, extra_lists)
    session.rollback()
    with write(session):
        have = {
            int(r.year): int(r.last_serial)
            for r in session.execute(
                sa.select(_COUNTER.c.year, _COUNTER.c.last_serial).where(
                    _COUNTER.c.office_id == office
                )
            ).all()
        }
        recorded = {
            int(k.rsplit(" ", 1)[1]): v
            for k, v in high.serials.items()
            if k.rsplit(" ", 1)[0] == office
        }
        # Every certification year a certificate may carry (EARLIEST_DATE to this year):
        # one issued after the backup may have opened a year the backup never saw.
        this_year = beijing_date(now).year
        years = set(range(EARLIEST_DATE.year, this_year + 1)) | set(have) | set(recorded)
        moved: dict[int, int] = {}
        for year in sorted(years):
            base = max(have.get(year, 0), recorded.get(year, 0))
            target = min(MAX_SERIAL, base + serial_step)
            if year in have:
                session.execute(
                    sa.update(_COUNTER)
                    .where(_COUNTER.c.office_id == office, _COUNTER.c.year == year)
                    .values(last_serial=target)
                )
            else:
                session.execute(
                    sa.insert(_COUNTER).values(office_id=office, year=year, last_serial=target)
                )
            if base or year in recorded:
                moved[year] = target
        ordinal, max_id = _max_list(session, office)
        new_ordinal = max(ordinal, high.list_ordinal) + list_step + 1
        new_id = max(max_id, high.list_max_id) + (list_step + 1) * LIST_ID_SLACK
        size = settings.status_list_size
        session.execute(
            sa.insert(_LIST).values(
                id=new_id,
                office_id=office,
                ordinal=new_ordinal,
                uri=f"{settings.public_url}/statuslists/{new_id}",
                bits=STATUS_BITS,
                size=size,
                data=StatusList(size, bits=STATUS_BITS).to_bytes(),
                created_at=now,
                revision=0,
            )
        )
        if session.get_bind().dialect.name == "postgresql":
            # Later lists continue from the fresh one, not from the restored sequence.
            session.execute(
                sa.text("SELECT setval(pg_get_serial_sequence('status_list', 'id'), :v)"),
                {"v": new_id},
            )
        # The registry and the verifiers hold cursors on these: new events and changes
        # must come after anything they may have received from the lost tail.
        have_heads = _heads(session)
        feed_step = high.feed_allowance + max(0, extra_feeds)
        new_heads = {
            name: max(have_heads.get(name, 0), recorded) + feed_step
            for name, recorded in (
                (EVENT_HEAD, high.event_seq),
                (RESTRICTION_HEAD, high.restriction_seq),
            )
        }
        for name, value in new_heads.items():
            _put(session, name, value)
        # Each entry after the backup took one change number: ids rose by at most that.
        restriction_floor = max(_max_restriction(session), high.restriction_max_id) + feed_step
        _put(session, RESTRICTION_ID_FLOOR, restriction_floor)
        # Issuance waits for a fresh backup: its fence starts from these marks.
        _put(session, SERIAL_FENCE, 0)
        _put(session, LIST_FENCE, 0)
        _put(session, FEED_FENCE, 0)
        # The restored entries are the backup's: signing them now would undo, for every
        # verifier that takes the newer list, a change published after the backup.
        _put(session, RECONCILE_GATE, 1)
        record = chain.append(
            session,
            actor=actor,
            action="backup.restored",
            subject=office,
            detail={
                "archive": archive,
                "backup_at": high.at,
                "serial_step": serial_step,
                "list_step": list_step,
                "status_list": new_id,
                "status_list_ordinal": new_ordinal,
                "event_seq": new_heads[EVENT_HEAD],
                "restriction_seq": new_heads[RESTRICTION_HEAD],
                "restriction_id_floor": restriction_floor,
                "reconcile_needed": True,
            },
            at=now,
        )
    return RestoreJump(
        serials=moved,
        list_id=new_id,
        list_ordinal=new_ordinal,
        audit_seq=int(record.id),
        event_seq=new_heads[EVENT_HEAD],
        restriction_seq=new_heads[RESTRICTION_HEAD],
        restriction_id_floor=restriction_floor,
    )
