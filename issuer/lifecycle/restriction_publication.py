"""The verifiers' restricted-list documents, signed by the publication job when the list
changes and served as stored (issue 12 point 6; docs/operations.md, "Publication").

The documents keep ``credential``'s format (contract section 7) and the verifier's sync
unchanged: a snapshot ``{iss, iat, cursor, entries}`` and pages of changes
``{iss, iat, after, cursor, changes}``. What changes is when they are signed:

- one page per change, ``after = seq - 1``, signed once when the change is published and
  never again (it answers ``changes?after=<seq - 1>`` from then on);
- the snapshot of the active entries and an empty page ``after = cursor = head`` ("nothing
  after the head, as of ``iat``"), signed together each time the head moves, and again
  when they are half ``status_ttl_seconds`` old so a verifier's "as of" stays fresh.

:func:`publish_restrictions` does it all in one write transaction, holding the restricted
list's counter row (``event_head`` ``restriction``, the lock every recording takes first):
no change can commit half-way through, and two replicas publishing at once take turns
(the second finds nothing to do). Every document of one run carries the same ``iat``, no
earlier than the last run's, so ``iat`` never goes backwards along a verifier's path
(snapshot, pages, head page): the verifier's rollback checks (``iat`` and cursor) keep
their meaning. It runs right after a restriction is recorded or removed (best effort, as
status lists after a transition) and in every run of the publication job.

:func:`stored_snapshot` and :func:`stored_changes` read what was stored; they sign
nothing and need no key.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import (
    Signer,
    restriction_entry_claim,
    restrictions_changes_claims,
    restrictions_snapshot_claims,
    sign_restrictions,
)
from issuer.audit import events
from issuer.db import tables, write
from issuer.db.models import Restriction, RestrictionChange, RestrictionDocument
from issuer.errors import NotFound
from issuer.settings import IssuerSettings

__all__ = [
    "publish_restrictions",
    "publish_restrictions_after_change",
    "stored_changes",
    "stored_snapshot",
]

log = logging.getLogger("jiaozi.issuer")

SNAPSHOT = "snapshot"
_DOC = tables.RESTRICTION_DOCUMENT
_RESTR = tables.RESTRICTION
_CHANGE = tables.RESTRICTION_CHANGE
_HEAD = tables.EVENT_HEAD


def _page_name(after: int) -> str:
    return f"after:{after}"


def _feed_entry(entry: Restriction) -> dict[str, object]:
    """Return an entry as the verifiers' documents carry it: no person reference,
    certificate numbers only (issue 12 point 4)."""
    assert entry.id is not None  # read from the database
    return restriction_entry_claim(
        entry_id=entry.id,
        category=entry.category,
        decision_date=entry.decision_date,
        bar_until=entry.bar_until,
        deciding_office=entry.deciding_office,
        affected=json.loads(entry.affected_json),
    )


def _store(
    session: Session, name: str, *, cursor: int, iat: int, token: str, now: dt.datetime
) -> None:
    session.merge(
        RestrictionDocument(name=name, cursor=cursor, iat=iat, token=token, published_at=now)
    )


def _due(session: Session, *, settings: IssuerSettings, now_ts: int) -> bool:
    """Return True if the stored documents are behind the head, missing or due."""
    try:
        head = session.execute(
            sa.select(_HEAD.c.seq).where(_HEAD.c.name == events.RESTRICTION_HEAD)
        ).scalar_one()
        snap = session.execute(
            sa.select(_DOC.c.cursor, _DOC.c.iat).where(_DOC.c.name == SNAPSHOT)
        ).first()
    finally:
        session.rollback()
    return (
        snap is None or snap.cursor != head or now_ts - snap.iat >= settings.status_ttl_seconds / 2
    )


def publish_restrictions(
    session: Session, *, signer: Signer, settings: IssuerSettings, now: dt.datetime
) -> bool:
    """Sign and store what the restricted list's documents lack: a page for each change
    after the stored snapshot's cursor, then the snapshot and the empty head page; or
    only the last two when they are half ``status_ttl_seconds`` old. Return True if it
    signed anything. Call outside a write transaction. Raises what signing or the
    database raise; nothing is kept then (one transaction)."""
    now_ts = int(now.timestamp())
    if not _due(session, settings=settings, now_ts=now_ts):
        return False  # the common case, decided without taking the write lock
    with write(session):
        head = int(
            session.execute(
                sa.select(_HEAD.c.seq)
                .where(_HEAD.c.name == events.RESTRICTION_HEAD)
                .with_for_update()
            ).scalar_one()
        )
        snap = session.get(RestrictionDocument, SNAPSHOT, populate_existing=True)
        if (
            snap is not None
            and snap.cursor == head
            and now_ts - snap.iat < settings.status_ttl_seconds / 2
        ):
            return False  # another replica published meanwhile
        held_cursor = snap.cursor if snap is not None else 0
        if held_cursor > head:
            # The database went back (a restore): the pages past its head are not its own.
            session.execute(sa.delete(_DOC).where(_DOC.c.cursor > head))
            held_cursor = 0
        # Never earlier than what a verifier may hold from the last run.
        held_iat = session.execute(sa.select(sa.func.max(_DOC.c.iat))).scalar()
        iat = max(now_ts, int(held_iat or 0))
        rows = session.execute(
            sa.select(RestrictionChange, Restriction)
            .join(Restriction, _RESTR.c.id == _CHANGE.c.restriction_id)
            .where(_CHANGE.c.seq > held_cursor, _CHANGE.c.seq <= head)
            .order_by(_CHANGE.c.seq)
        ).all()
        for change, entry in rows:
            claims = restrictions_changes_claims(
                iss=settings.office_id,
                iat=iat,
                after=change.seq - 1,
                changes=[(change.seq, change.op, _feed_entry(entry))],
            )
            token = sign_restrictions(claims, signer)
            _store(
                session,
                _page_name(change.seq - 1),
                cursor=change.seq,
                iat=iat,
                token=token,
                now=now,
            )
        active = session.execute(
            sa.select(Restriction).where(_RESTR.c.removed_at.is_(None)).order_by(_RESTR.c.id)
        ).scalars()
        snapshot = restrictions_snapshot_claims(
            iss=settings.office_id,
            iat=iat,
            cursor=head,
            entries=[_feed_entry(e) for e in active],
        )
        _store(
            session,
            SNAPSHOT,
            cursor=head,
            iat=iat,
            token=sign_restrictions(snapshot, signer),
            now=now,
        )
        empty = restrictions_changes_claims(iss=settings.office_id, iat=iat, after=head, changes=[])
        _store(
            session,
            _page_name(head),
            cursor=head,
            iat=iat,
            token=sign_restrictions(empty, signer),
            now=now,
        )
    return True


def publish_restrictions_after_change(
    session: Session, *, signer: Signer, settings: IssuerSettings, now: dt.datetime
) -> None:
    """Publish the documents right after a restriction was recorded or removed. Best
    effort: the change is committed, and the publication job signs what is left, so a
    failure here is logged, not raised."""
    try:
        publish_restrictions(session, signer=signer, settings=settings, now=now)
    except Exception:  # the change is committed; the publication job publishes it
        session.rollback()
        log.exception("publishing the restricted list after a change failed")


def _stored(session: Session, name: str) -> str | None:
    try:
        return session.execute(sa.select(_DOC.c.token).where(_DOC.c.name == name)).scalar()
    finally:
        session.rollback()


def stored_snapshot(session: Session) -> str:
    """Return the stored snapshot (a compact JWS). Raises NotFound if the publication job
    has not run yet."""
    token = _stored(session, SNAPSHOT)
    if token is None:
        raise NotFound(
            "The restricted list is not published yet",
            "限制名单尚未发布",
            "The publication job signs it; try again after its next run.",
            "发布任务将签发该文件，请在下次运行后重试。",
        )
    return token


def stored_changes(session: Session, *, after: int) -> str:
    """Return the stored page that follows change ``after``: the next change, or the
    empty page when ``after`` is the published head. Raises NotFound for a cursor past
    the published head (or not published yet): a verifier then starts again from the
    snapshot, and its rollback check judges the cursor it held."""
    token = _stored(session, _page_name(after))
    if token is None:
        raise NotFound(
            "No published page follows this cursor",
            "该游标之后没有已发布的变更页",
            f"Nothing is published after change {after}; read the snapshot.",
            f"变更{after}之后没有已发布的内容，请读取快照。",
        )
    return token
