"""The backup fence's allowances, spent by the issuing transactions (the fence itself,
set by a backup and stepped past by a restore, is ``issuer.issuance.fence``).

Two rows of ``event_head``: ``fence:serials`` (serials that may still be allocated, over
every year) and ``fence:lists`` (new status lists that may still be made). Absent until
the first backup; then every allocation spends from them in its own transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer.db import tables
from issuer.errors import BackupNeeded

__all__ = ["LIST_FENCE", "SERIAL_FENCE", "spend"]

SERIAL_FENCE = "fence:serials"
LIST_FENCE = "fence:lists"

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
        what = "serials" if name == SERIAL_FENCE else "status lists"
        raise BackupNeeded(
            "A backup is needed before more certificates are issued",
            "签发更多证书前需要先备份",
            f"the {what} the last backup allowed are used up, or the database was restored "
            "and no backup was taken since: run `jiaozi backup issuer`",
            "上次备份允许的号码或状态列表已用完，或数据库恢复后尚未备份："
            "请运行 jiaozi backup issuer",
        )
