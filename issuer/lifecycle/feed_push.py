"""This office's events sent to the registry's national feed (issue 12 point 7,
docs/integration.md).

Why a cursor over the event table and not an outbox: ``event.seq``
(``issuer.audit.events``) is already gapless and commits in order, in the transaction of
the change itself, so it is the outbox; one ``national_sync`` row named ``feed`` keeps the
last event the registry acknowledged. Each round reads the events after it (this office's
only), adds the facts a teacher management system needs (number, qualification, subject,
status, date, name, identity number from the sealed credential, person reference), signs
them as one batch with the office's key (``credential.sign_feed_batch``, ``after`` the
cursor) and advances the cursor on the registry's 200/201 only. The registry is idempotent
per office event, so a batch resent after a lost answer appends nothing twice; a batch it
refuses stops the round, the cursor unchanged.

A registry restored from a backup holds this office's events only up to an older one: it
answers a batch after our cursor with 409 ``feed_gap`` naming its ``last``, and the
cursor goes back there (once a round) and the events after it are sent again. An office
with nothing new to send learns it by :func:`resend_last` (the national round calls it
when the registry refused the list's cursor).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import (
    MAX_BATCH_EVENTS,
    CredentialError,
    OfficeEvent,
    QualificationType,
    Signer,
    certificate_from_claims,
    parse_jws,
    sign_feed_batch,
)
from issuer import issuance
from issuer.db import tables, write
from issuer.db.models import NationalSync
from issuer.settings import IssuerSettings

__all__ = ["FEED_ROW", "STATUS_AFTER", "push_feed", "resend_last"]

FEED_ROW = "feed"
# the certificate's status once the event took effect
STATUS_AFTER = {
    "issued": "valid",
    "reinstated": "valid",
    "reissued": "valid",
    "replaced": "valid",
    "corrected": "valid",
    "suspended": "suspended",
    "revoked": "revoked",
    "restricted": "restricted",
    "unrestricted": "unrestricted",
}
_EVENT = tables.EVENT
_CERT = tables.CERTIFICATE
_RESTR = tables.RESTRICTION
_SYNC = tables.NATIONAL_SYNC


def _cursor(session: Session) -> int:
    got = session.execute(sa.select(_SYNC.c.cursor).where(_SYNC.c.name == FEED_ROW)).scalar()
    return int(got or 0)


def _move_back(session: Session, *, was: int, to: int) -> bool:
    """Set the feed cursor from ``was`` down to ``to`` if no other sender moved it; return
    whether it moved."""
    with write(session):
        done = session.connection().execute(
            sa.update(_SYNC)
            .where(_SYNC.c.name == FEED_ROW, _SYNC.c.cursor == was)
            .values(cursor=to)
        )
    return bool(done.rowcount)


def resend_last(session: Session) -> None:
    """Move the feed cursor back by one, so the next :func:`push_feed` sends this office's
    last acknowledged event again: a registry that holds it answers a replay (the cursor
    comes back), one that holds less answers a gap naming its last (the events after it
    are sent again), one that lacks only it appends it."""
    current = _cursor(session)
    session.rollback()
    if current > 0:
        _move_back(session, was=current, to=current - 1)


def _gap_last(status: int, body: str) -> int | None:
    """Return the registry's last event of this office named by a 409 ``feed_gap``."""
    if status != 409:
        return None
    try:
        last = json.loads(body).get("last")
    except (ValueError, AttributeError):
        return None
    return last if isinstance(last, int) and not isinstance(last, bool) and last >= 0 else None


def _facts(session: Session, settings: IssuerSettings, row: Any) -> OfficeEvent:
    data = json.loads(row.data_json)
    date = row.at.date().isoformat()
    status = STATUS_AFTER[row.type]
    if row.certificate_number is None:  # a restricted-list event: a person, no certificate
        ref = session.execute(
            sa.select(_RESTR.c.person_ref).where(_RESTR.c.id == data.get("restriction_id"))
        ).scalar()
        return OfficeEvent(
            row.seq, row.type, "", "", "", status, date, "", "", str(ref or "0" * 64)
        )
    cert = session.execute(
        sa.select(_CERT).where(_CERT.c.certificate_number == row.certificate_number)
    ).one()
    jws = issuance.open_credential(
        settings, cert.credential_jws, certificate_number=cert.certificate_number
    )
    facts = certificate_from_claims(parse_jws(jws).payload)
    ref = cert.person_ref or issuance.person_ref(settings, facts.id_type, facts.id_number)
    return OfficeEvent(
        seq=row.seq,
        kind=row.type,
        number=cert.certificate_number,
        qualification=QualificationType(cert.qualification_type).name.lower(),
        subject=cert.subject,
        status=status,
        date=date,
        name=facts.name,
        identity_number=facts.id_number,
        person_ref=ref,
    )


def push_feed(
    session: Session,
    post: Callable[[str], tuple[int, str]],
    *,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> tuple[int, str | None]:
    """Send this office's events after the feed cursor, in batches, until none is left or
    a send fails. ``post`` sends one signed batch and returns (status, body), status 0 when
    the registry could not be reached.

    Returns (events acknowledged, the error that stopped the round or None); never raises
    for the registry's answer or a credential that does not open (that is the error)."""
    sent = 0
    rewound = False
    while True:
        after = _cursor(session)
        rows = session.execute(
            sa.select(_EVENT)
            .where(_EVENT.c.seq > after, _EVENT.c.office_id == settings.office_id)
            .order_by(_EVENT.c.seq)
            .limit(MAX_BATCH_EVENTS)
        ).all()
        try:
            events = [_facts(session, settings, r) for r in rows]
        except (issuance.SealedDataError, CredentialError) as exc:
            session.rollback()
            return sent, f"an event's certificate does not open: {type(exc).__name__}"
        session.rollback()
        if not events:
            return sent, None
        token = sign_feed_batch(
            events, office=settings.office_id, registry_id=settings.registry_id,
            iat=int(now.timestamp()), signer=signer, after=after,
        )  # fmt: skip
        status, body = post(token)
        last = _gap_last(status, body)
        if last is not None and last < after and not rewound:
            # the registry (restored from a backup) holds our events up to ``last`` only
            rewound = True
            if _move_back(session, was=after, to=last):
                continue
        if status not in (200, 201):
            return sent, f"registry answered {status}: {body[:200]}"
        with write(session):
            state = session.execute(
                sa.select(NationalSync).where(_SYNC.c.name == FEED_ROW).with_for_update()
            ).scalar_one_or_none()
            if state is None:
                session.add(NationalSync(name=FEED_ROW, cursor=events[-1].seq))
            elif (state.cursor or 0) < events[-1].seq:
                state.cursor = events[-1].seq
        sent += len(events)
