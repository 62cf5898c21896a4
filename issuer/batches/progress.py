"""A batch's live progress: rows issued of the valid ones, rows per second, time left.

Computed from what is stored (``issued_rows``, and the start of the current run of
issuing: ``run_started_at``, ``run_started_rows``), so any process answers the same
figures while another issues: the rate counts only the rows of the current run (a resumed
batch's earlier rows are not in it) over the time since it started (until it finished,
for a batch that stopped). A run that stalls shows its rate falling.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from credential import as_utc
from issuer.batches.store import DONE, ISSUING
from issuer.db.models import Batch

__all__ = ["BatchProgress", "batch_progress"]


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """Where a batch stands. ``rows_per_second`` is None before a run has issued a row;
    ``seconds_left`` is 0 for a finished batch, None when it cannot be estimated (no rate
    yet, or the batch stopped)."""

    done: int  # rows issued
    total: int  # valid rows (to be issued)
    rows_per_second: float | None
    seconds_left: int | None


def batch_progress(batch: Batch, *, now: dt.datetime) -> BatchProgress:
    """Return ``batch``'s progress figures at ``now`` (see the module's docstring)."""
    done, total = batch.issued_rows, batch.valid_rows
    rate: float | None = None
    if batch.run_started_at is not None:
        started = as_utc(batch.run_started_at)
        end = as_utc(batch.finished_at) if batch.state != ISSUING and batch.finished_at else now
        elapsed = (as_utc(end) - started).total_seconds()
        rows = done - batch.run_started_rows
        if elapsed > 0 and rows > 0:
            rate = rows / elapsed
    left: int | None = None
    if batch.state == DONE or done >= total:
        left = 0
    elif batch.state == ISSUING and rate:
        left = math.ceil((total - done) / rate)
    return BatchProgress(done, total, None if rate is None else round(rate, 1), left)
