"""A superseded version's status entry (replacement, correction) stays taken: the single
draw never hands it to a new certificate, whose QR would then read revoked. Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from issuer import issuance
from issuer.issuance import statuslists
from tests.factory.issuer import IssuerHarness, replaced_at_once


def test_the_single_draw_skips_a_retired_entry(
    issuer_env: IssuerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = replaced_at_once(issuer_env)
    retired, held = old["status_list"]["idx"], new["status_list"]["idx"]
    now = dt.datetime.now(dt.UTC)
    with Session(issuer_env.engine) as session:
        lst = issuance.current_status_list(session, settings=issuer_env.settings, now=now)
        assert lst.id is not None
        assert {retired, held} <= issuance.used_indices(session, lst.id)
        # the random draw offers the retired entry, then the held one, then a free one
        free = next(i for i in range(10) if i not in (retired, held))
        offers = iter([retired, held, free])
        monkeypatch.setattr(statuslists.secrets, "randbelow", lambda _n: next(offers))
        _, idx = issuance.draw_status_index(session, settings=issuer_env.settings, now=now)
        assert idx == free
