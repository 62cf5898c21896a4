"""Serial numbers: one counter row per office and certification year.

A certificate number ends in the office's serial for the year. The counter is advanced
with one ``UPDATE ... RETURNING`` in the issuing transaction: concurrent issuers queue on
the row lock and each gets its own value, and a rollback gives the value back, so the
serials of issued certificates have no gaps.

After a backup the allocation also spends from the backup's allowance
(``issuer.issuance.fence``), so that a restore knows how far past the backup to step.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from issuer.db import tables
from issuer.db.allowance import SERIAL_FENCE, spend

__all__ = ["allocate_serial"]


def allocate_serial(session: Session, *, office_id: str, year: int, count: int = 1) -> int:
    """Return the next serial of ``office_id`` in ``year``, locking its counter row.

    The increment is one ``UPDATE ... RETURNING`` in the caller's transaction: concurrent
    issuers queue on the row lock and each gets its own value; a rollback returns it.
    With ``count`` > 1 (a batch chunk) the same statement reserves ``count`` consecutive
    serials and the first is returned. Raises BackupNeeded when the last backup's
    allowance is used up (issuer.issuance.fence).
    """
    spend(session, SERIAL_FENCE, count)
    t = tables.SERIAL_COUNTER
    bump = (
        sa.update(t)
        .where(t.c.office_id == office_id, t.c.year == year)
        .values(last_serial=t.c.last_serial + count)
        .returning(t.c.last_serial)
    )
    got = session.execute(bump).scalar_one_or_none()
    if got is None:
        # The year's first serial: create the row unless a concurrent issuer just did
        # (both dialects spell "insert unless present" the same way).
        create: sa.Executable
        if session.get_bind().dialect.name == "postgresql":
            create = pg_insert(t).on_conflict_do_nothing()
        else:
            create = sqlite_insert(t).on_conflict_do_nothing()
        session.execute(create, {"office_id": office_id, "year": year, "last_serial": 0})
        got = session.execute(bump).scalar_one()
    return int(got) - count + 1
