"""The backup fence's allowances, spent by the transactions that hand out what others
keep (the fence itself, set by a backup and stepped past by a restore, is
``issuer.issuance.fence``).

Rows of ``event_head``: ``fence:serials`` (serials that may still be allocated, over every
year), ``fence:lists`` (new status lists that may still be made) and ``fence:feeds``
(sequence numbers of the event feed and of the restricted list's changes, both of which
the registry and the verifiers keep a cursor on). Absent until the first backup; then
every allocation spends from them in its own transaction. Here, in the database layer,
so that ``issuer.audit.events`` spends too.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer.db import tables
from issuer.errors import BackupNeeded, ReconcileNeeded

__all__ = [
    "FEED_FENCE",
    "LIST_FENCE",
    "RECONCILE_COMMAND",
    "RECONCILE_GATE",
    "RESTRICTION_ID_FLOOR",
    "SERIAL_FENCE",
    "clear_reconcile_gate",
    "floor",
    "reconcile_needed",
    "require_reconciled",
    "spend",
]

SERIAL_FENCE = "fence:serials"
LIST_FENCE = "fence:lists"
FEED_FENCE = "fence:feeds"
# Restricted-list entry ids travel to the registry as ``<office>#<id>`` (an add for a
# reference it holds changes nothing), so after the first backup they are given
# explicitly, above this floor: consecutive from the backup's largest, whatever a
# PostgreSQL sequence consumed meanwhile, and a restore raises it past the lost tail.
RESTRICTION_ID_FLOOR = "floor:restriction_id"
# Set by a restore (``issuer.issuance.fence.after_restore``), cleared by
# ``jiaozi issuer reconcile-status``: while the row exists no status list is signed, since
# the restored entries may undo a change published after the backup.
RECONCILE_GATE = "gate:reconcile"
RECONCILE_COMMAND = "jiaozi issuer reconcile-status --published DIR_OR_URL"
_WHAT = {
    SERIAL_FENCE: "serials",
    LIST_FENCE: "status lists",
    FEED_FENCE: "event and restricted-list sequence numbers",
}

_HEAD = tables.EVENT_HEAD


def spend(session: Session, name: str, count: int = 1) -> None:
    """Take ``count`` from allowance ``name`` in the caller's transaction.

    Does nothing where no backup set a fence. Raises BackupNeeded when the allowance would
    go below zero (the caller's rollback gives back what was taken).
    """
    left = session.execute(
        sa.update(_HEAD)
        .where(_HEAD.c.name == name)
        .values(seq=_HEAD.c.seq - count)
        .returning(_HEAD.c.seq)
    ).scalar_one_or_none()
    if left is not None and left < 0:
        what = _WHAT.get(name, name)
        raise BackupNeeded(
            "A backup is needed before more certificates are issued",
            "签发更多证书前需要先备份",
            f"the {what} the last backup allowed are used up, or the database was restored "
            "and no backup was taken since: run `jiaozi backup issuer`",
            "上次备份允许的号码或状态列表已用完，或数据库恢复后尚未备份："
            "请运行 jiaozi backup issuer",
        )


def floor(session: Session, name: str) -> int | None:
    """Return the value of floor row ``name``, or None where no backup set one."""
    got = session.execute(sa.select(_HEAD.c.seq).where(_HEAD.c.name == name)).scalar()
    return None if got is None else int(got)


def reconcile_needed(session: Session) -> bool:
    """Return True while a restore's reconcile gate is set (no status list may be signed).
    Reads in the caller's transaction and leaves it open."""
    return floor(session, RECONCILE_GATE) is not None


def require_reconciled(session: Session) -> None:
    """Return None if no restore's reconcile gate is set; raise ReconcileNeeded, naming the
    command that clears it, if one is. Reads in the caller's transaction."""
    if reconcile_needed(session):
        raise ReconcileNeeded(
            "Status lists are not published until the restore is reconciled",
            "恢复后的状态尚未核对，暂不发布状态列表",
            "the database was restored and the status published since the backup is not "
            f"taken back yet: run `{RECONCILE_COMMAND}` (or, if this office never "
            "published a status list, `jiaozi issuer reconcile-status --none-published`)",
            "数据库已恢复，备份后发布的状态尚未核对：请运行 "
            "jiaozi issuer reconcile-status --published 目录或网址"
            "（从未发布过状态列表时：--none-published）",
        )


def clear_reconcile_gate(session: Session) -> bool:
    """Clear the reconcile gate in the caller's write transaction; return True if it was
    set."""
    gone = session.execute(sa.delete(_HEAD).where(_HEAD.c.name == RECONCILE_GATE))
    return bool(getattr(gone, "rowcount", 0))
