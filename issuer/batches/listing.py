"""The office's batches, newest first, a page at a time (the console's batch list)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer.db import tables
from issuer.db.models import Batch

__all__ = ["BatchPage", "list_batches"]

_BATCH = tables.BATCH


@dataclass(frozen=True, slots=True)
class BatchPage:
    """One page of an office's batches (detached rows, newest first) and how many it has."""

    batches: Sequence[Batch]
    total: int


def list_batches(session: Session, *, office_id: str, offset: int, limit: int) -> BatchPage:
    """Return ``limit`` batches of ``office_id`` from ``offset``, newest first (by id: a
    batch's id grows with its upload), and the office's count of batches. The rows are
    detached from ``session``. Raises ValueError for a negative offset or a limit below 1."""
    if offset < 0 or limit < 1:
        raise ValueError("offset >= 0 and limit >= 1")
    total = session.execute(
        sa.select(sa.func.count()).select_from(_BATCH).where(_BATCH.c.office_id == office_id)
    ).scalar_one()
    rows = list(
        session.execute(
            sa.select(Batch)
            .where(_BATCH.c.office_id == office_id)
            .order_by(_BATCH.c.id.desc())
            .offset(offset)
            .limit(limit)
            .execution_options(populate_existing=True)
        ).scalars()
    )
    for row in rows:
        session.expunge(row)
    return BatchPage(rows, int(total))
