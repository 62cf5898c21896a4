"""The batch allocator counts a superseded version's status entry (replacement,
correction) as used, when loading a list and when checking drawn-ahead entries. Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from issuer import issuance
from issuer.batches.bulk import StatusIndices
from issuer.batches.signing import Job
from tests.factory.issuer import IssuerHarness, replaced_at_once


def _job(list_id: int, uri: str, idx: int) -> Job:
    return Job(row=None, serial=1, list_id=list_id, list_uri=uri, idx=idx)  # type: ignore[arg-type]


def test_the_batch_allocator_counts_a_retired_entry_as_used(issuer_env: IssuerHarness) -> None:
    old, _ = replaced_at_once(issuer_env)
    retired = old["status_list"]["idx"]
    now = dt.datetime.now(dt.UTC)
    with Session(issuer_env.engine) as session:
        lst = issuance.current_status_list(session, settings=issuer_env.settings, now=now)
        assert lst.id is not None
        indices = StatusIndices(issuer_env.settings)
        indices.load(session, lst)
        assert retired in indices.used
        assert indices.still_free(session, [_job(lst.id, lst.uri, retired)]) is False
        free = next(i for i in range(lst.size) if i not in indices.used)
        assert indices.still_free(session, [_job(lst.id, lst.uri, free)]) is True
