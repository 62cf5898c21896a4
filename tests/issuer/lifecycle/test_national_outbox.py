"""The outbox of this office's restriction entries: a registry refusing one entry must not
hold back the office's other entries (defect: a single 4xx stopped every later row for
good), while an unavailable registry ends the round and a removal never overtakes its
entry."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer.db import tables
from issuer.lifecycle import SyncReport
from issuer.lifecycle.national import push_outbox
from tests.factory.issuer import IssuerHarness, application, restrict

NOW = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)


class FakeRegistry:
    """Answers each entry with the status its restriction's local id is given (201 else)."""

    def __init__(self, answers: dict[int, int]) -> None:
        self.answers = answers
        self.sent: list[tuple[int, str]] = []

    def post_entry(self, token: str) -> tuple[int, str]:
        import jwt

        claims = jwt.decode(token, options={"verify_signature": False})
        local = int(str(claims["entry"]["id"]).rsplit("#", 1)[-1])
        self.sent.append((local, claims["op"]))
        status = self.answers.get(local, 201)
        return status, "{}" if status < 400 else '{"title": "refused"}'


def _queue(env: IssuerHarness) -> list[int]:
    for i in (1, 2, 3):
        restrict(env, application(40 + i), category="revoked", bar_until=dt.date(2031, 1, 1))
    out = tables.NATIONAL_OUTBOX
    with Session(env.engine) as s:
        ids = list(s.execute(sa.select(tables.RESTRICTION.c.id).order_by("id")).scalars())
        s.execute(sa.delete(out))  # only the rows this test queues
        for rid in ids:
            s.execute(sa.insert(out).values(restriction_id=rid, op="add", queued_at=NOW))
        s.execute(sa.insert(out).values(restriction_id=ids[0], op="remove", queued_at=NOW))
        s.commit()
    return ids


def _push(env: IssuerHarness, fake: FakeRegistry) -> SyncReport:
    report = SyncReport()
    with Session(env.engine) as s:
        push_outbox(s, fake, signer=env.signer, settings=env.settings, now=NOW, report=report)  # type: ignore[arg-type]
    return report


def _unsent(env: IssuerHarness) -> list[tuple[int, str, int]]:
    out = tables.NATIONAL_OUTBOX
    with Session(env.engine) as s:
        return [
            (r.restriction_id, r.op, r.attempts)
            for r in s.execute(sa.select(out).where(out.c.sent_at.is_(None)).order_by(out.c.id))
        ]


def test_one_refused_entry_does_not_hold_back_the_others(issuer_env: IssuerHarness) -> None:
    first, second, third = _queue(issuer_env)
    fake = FakeRegistry({first: 403})
    report = _push(issuer_env, fake)
    # the refused entry's removal waits behind it; the other two went
    assert fake.sent == [(first, "add"), (second, "add"), (third, "add")]
    assert report.sent == 2 and report.pending == 2
    assert len(report.errors) == 1 and f"restriction {first}" in report.errors[0]
    assert "403" in report.errors[0]
    assert _unsent(issuer_env) == [(first, "add", 1), (first, "remove", 0)]
    # once the registry takes it, the removal follows in order
    fake.answers.clear()
    report = _push(issuer_env, fake)
    assert fake.sent[3:] == [(first, "add"), (first, "remove")]
    assert report.sent == 2 and report.pending == 0 and report.errors == []


@pytest.mark.parametrize("status", [503, 429, 408])
def test_an_unavailable_registry_ends_the_round(issuer_env: IssuerHarness, status: int) -> None:
    first = _queue(issuer_env)[0]
    fake = FakeRegistry({first: status})
    report = _push(issuer_env, fake)
    assert fake.sent == [(first, "add")]
    assert report.sent == 0 and report.pending == 4
    assert len(report.errors) == 1 and str(status) in report.errors[0]
