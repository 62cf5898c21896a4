"""A certificate's status state machine, applied inside the caller's write transaction.

``valid -> suspended -> valid`` (reinstate); ``valid | suspended -> revoked``, which is
final: anything asked of a revoked certificate is a Conflict.

One change is the certificate's status columns, its status list entry (SUSPENDED=2,
INVALID=1, VALID=0) with the list's ``revision`` bumped, the audit record and the feed
event: the caller's transaction commits them together or not at all. After the commit
:func:`publish` re-signs and stores the lists, so the change is public within the same
request (the public GET serves the stored token; it never signs).

Lock order (PostgreSQL): pending action row, certificate rows, status list rows,
``audit_head``, ``event_head`` (see ``issuer.audit.events``).

Both ends of a change import this module: ``status`` (decisions taking effect at once),
``restrictions`` (a restricted person's certificates revoked) and ``approvals``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import Signer, StatusList, StatusValue, rfc3339
from issuer import issuance
from issuer.audit import chain as audit
from issuer.audit import events
from issuer.db import tables
from issuer.db.models import Certificate, StatusListRow
from issuer.errors import Conflict, NotFound, ReconcileNeeded
from issuer.settings import IssuerSettings

__all__ = [
    "NOT_FROM",
    "certificate_state",
    "change_status",
    "lock_certificate",
    "lock_status_lists",
    "publish",
]

log = logging.getLogger("jiaozi.issuer")

_CERT = tables.CERTIFICATE
_LIST = tables.STATUS_LIST

# what, from which states, to which state, list value, event type
_CHANGES: dict[str, tuple[frozenset[str], str, StatusValue, str]] = {
    "suspend": (frozenset({"valid"}), "suspended", StatusValue.SUSPENDED, "suspended"),
    "reinstate": (frozenset({"suspended"}), "valid", StatusValue.VALID, "reinstated"),
    "revoke": (frozenset({"valid", "suspended"}), "revoked", StatusValue.INVALID, "revoked"),
}

# The title (English, Chinese) of the Conflict a change meets in a state it cannot leave.
NOT_FROM = {
    "suspend": ("Only a valid certificate can be suspended", "只有有效的证书才能暂停"),
    "reinstate": ("Only a suspended certificate can be reinstated", "只有已暂停的证书才能恢复"),
    "revoke": ("A revoked certificate stays revoked", "已撤销的证书不能再次撤销"),
}


def publish(
    session: Session,
    list_ids: Iterable[int],
    *,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> None:
    """Re-sign and store the given status lists (after the change committed), and any
    other list the change left unpublished (a replacement's entry drawn from a new list).

    Best effort: the change is already committed, and a list whose stored token is behind
    its revision is due for the publication job (``issuance.refresh_status_lists``), so a
    failure here is logged, not raised. Public GETs never sign.
    """
    for list_id in sorted(set(list_ids)):
        try:
            issuance.publish_status_list(
                session, list_id=list_id, signer=signer, settings=settings, now=now
            )
        except ReconcileNeeded as exc:  # a restore not reconciled yet: nothing signs
            log.warning("status list %s not re-signed: %s", list_id, exc.detail)
            return
        except Exception:  # the change is committed; the publication job re-signs it
            session.rollback()
            log.exception("re-signing status list %s after a change failed", list_id)
    issuance.publish_changed_lists(session, signer=signer, settings=settings, now=now)


def _no_certificate(number: str) -> NotFound:
    return NotFound(
        "No such certificate",
        "证书不存在",
        f"No certificate numbered {number}.",
        "没有该号码的证书。",
    )


def lock_certificate(session: Session, number: str, office_id: str | None) -> Certificate:
    """Return certificate ``number`` of ``office_id``, its row locked; raises NotFound
    (another office's certificate is not revealed)."""
    cert = session.execute(
        sa.select(Certificate)
        .where(_CERT.c.certificate_number == number)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if cert is None or cert.office_id != office_id:
        raise _no_certificate(number)
    return cert


def lock_status_lists(session: Session, list_ids: Iterable[int]) -> None:
    """Lock status list rows in id order (before the audit head: see the lock order)."""
    ids = sorted(set(list_ids))
    if ids:
        session.execute(
            sa.select(_LIST.c.id)
            .where(_LIST.c.id.in_(ids))
            .order_by(_LIST.c.id)
            .with_for_update(key_share=True)
        ).all()


def change_status(
    session: Session,
    cert: Certificate,
    *,
    change: str,
    reason_code: str,
    actor: str,
    detail: Mapping[str, Any],
    now: dt.datetime,
    event_data: Mapping[str, Any] | None = None,
) -> int:
    """Apply ``change`` (suspend | reinstate | revoke) to the locked ``cert`` inside the
    caller's write transaction: status columns, status list entry and revision, audit
    record, event. Return the status list id (to publish after commit).

    Raises Conflict if ``cert``'s state does not allow ``change``.
    """
    allowed, new_status, value, event_type = _CHANGES[change]
    if cert.status not in allowed:
        title = NOT_FROM[change]
        raise Conflict(
            title[0],
            title[1],
            f"Certificate {cert.certificate_number} is {cert.status}.",
            f"证书{cert.certificate_number}当前状态为{cert.status}。",
        )
    lst = session.execute(
        sa.select(StatusListRow)
        .where(_LIST.c.id == cert.status_list_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()
    entries = StatusList.from_bytes(lst.data, lst.bits)
    entries.set(cert.status_idx, int(value))
    session.execute(
        sa.update(_LIST)
        .where(_LIST.c.id == lst.id)
        .values(data=entries.to_bytes(), revision=_LIST.c.revision + 1)
    )
    old_status = cert.status
    cert.status, cert.status_reason, cert.status_changed_at = new_status, reason_code, now
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=f"certificate.{event_type}",
        subject=cert.certificate_number,
        detail={
            "certificate_number": cert.certificate_number,
            "version": cert.version,
            "from": old_status,
            "to": new_status,
            "reason_code": reason_code,
            "status_list": lst.uri,
            "status_idx": cert.status_idx,
            "status_value": int(value),
            **detail,
        },
        at=now,
    )
    events.append_event(
        session,
        type=event_type,
        office_id=cert.office_id,
        certificate_number=cert.certificate_number,
        version=cert.version,
        data={"reason_code": reason_code, **(event_data or {})},
        now=now,
    )
    assert lst.id is not None
    return lst.id


def certificate_state(session: Session, number: str) -> dict[str, Any]:
    """Return the status fields of certificate ``number`` (for answers)."""
    row = session.execute(
        sa.select(
            _CERT.c.certificate_number,
            _CERT.c.version,
            _CERT.c.status,
            _CERT.c.status_reason,
            _CERT.c.status_changed_at,
            _CERT.c.status_idx,
            _LIST.c.uri,
        )
        .join(_LIST, _LIST.c.id == _CERT.c.status_list_id)
        .where(_CERT.c.certificate_number == number)
    ).one()
    changed = row.status_changed_at
    return {
        "certificate_number": row.certificate_number,
        "version": row.version,
        "status": row.status,
        "status_reason": row.status_reason,
        "status_changed_at": rfc3339(changed) if changed is not None else None,
        "status_list": {"uri": row.uri, "idx": row.status_idx},
    }
