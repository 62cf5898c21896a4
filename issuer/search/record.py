"""One certificate's record: every fact, its versions and batch row, its status history
and its audit trail.

Where the history lives: every status change is one audit record written by the state
machine (``issuer.lifecycle.transitions.change_status``: ``certificate.suspended``,
``.reinstated``, ``.revoked``, detail ``from``, ``to``, ``reason_code``, the decision's
date and legal basis, and for an approved request ``pending_action``, ``requested_by``,
``approved_by``); issuing writes ``certificate.issued`` and a new version
``certificate.replaced``, ``.corrected`` or ``.reissued``. All of them have the number
as subject, so the history is read from the audit trail (the chain is what an auditor
checks; no second copy to disagree with it). The trail adds the records of decisions on
requests about the certificate (``pending_action.approved``/``.rejected``, whose subject
is the request's id) and everything else with the number as subject (claim codes, holder
sign-ins, copies).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import QualificationType, rfc3339
from issuer.db import tables
from issuer.errors import NotFound
from issuer.search.schemas import (
    AuditEntry,
    BatchRow,
    CertificateRecord,
    StatusChange,
    VersionRow,
)

__all__ = ["CERTIFICATE_KINDS", "TRAIL_MAX", "certificate_record"]

#: The newest audit records listed on a record (a holder signing in often adds many).
TRAIL_MAX = 500
#: Kinds of pending action whose target is a certificate number.
CERTIFICATE_KINDS = ("revoke", "replace", "correct")

_CERT = tables.CERTIFICATE
_LIST = tables.STATUS_LIST
_AUDIT = tables.AUDIT_RECORD
_PENDING = tables.PENDING_ACTION
_OFFICER = tables.OFFICER
_VERSION = tables.CERTIFICATE_VERSION
_ITEM = tables.BATCH_ITEM
_BATCH = tables.BATCH

# Detail members never shown: keyed hashes of the person, sealed personal data.
_HIDDEN = frozenset({"person_ref", "id_hash", "id_number_hash", "sealed_facts"})
_STATUS_ACTIONS = {
    "certificate.suspended": "suspended",
    "certificate.reinstated": "reinstated",
    "certificate.revoked": "revoked",
}
_VERSION_ACTIONS = {
    "certificate.replaced": "replaced",
    "certificate.corrected": "corrected",
    "certificate.reissued": "reissued",
}


def _not_found(number: str) -> NotFound:
    return NotFound(
        "No such certificate",
        "证书不存在",
        f"No certificate numbered {number}.",
        "没有该号码的证书。",
    )


def _detail(text: str) -> dict[str, Any]:
    try:
        got = json.loads(text)
    except ValueError:  # the chain check reports it; the page still shows the rest
        return {}
    if not isinstance(got, dict):
        return {"value": got}
    return {k: v for k, v in got.items() if k not in _HIDDEN}


def _history(rows: Sequence[Any], officers: dict[int, str]) -> list[StatusChange]:
    out: list[StatusChange] = []
    current: str | None = None
    for row in rows:
        detail = _detail(row.detail_json)
        version = detail.get("version")
        if row.action == "certificate.issued":
            change, before, after = "issued", None, "valid"
        elif row.action in _STATUS_ACTIONS:
            change = _STATUS_ACTIONS[row.action]
            before, after = detail.get("from", current), str(detail.get("to"))
        elif row.action in _VERSION_ACTIONS:  # a new version: the status stays
            change, before = _VERSION_ACTIONS[row.action], current
            after = current or "valid"
        else:
            continue
        current = after
        requester = detail.get("requested_by")
        approval = detail.get("pending_action")
        out.append(
            StatusChange(
                seq=row.id,
                at=rfc3339(row.at),
                change=change,
                from_status=before,
                to_status=after,
                version=version if isinstance(version, int) else None,
                reason_code=detail.get("reason_code"),
                decision_date=detail.get("decision_date"),
                legal_basis=detail.get("legal_basis"),
                by=row.actor,
                requested_by=(
                    f"officer:{officers[requester]}"
                    if isinstance(requester, int) and requester in officers
                    else None
                ),
                approval_id=approval if isinstance(approval, int) else None,
            )
        )
    return out


def certificate_record(session: Session, *, office_id: str, number: str) -> CertificateRecord:
    """Return everything about certificate ``number`` of ``office_id``.

    Raises NotFound (also for another office's certificate: it is not revealed).
    """
    found = session.execute(
        sa.select(_CERT, _LIST.c.uri)
        .join(_LIST, _LIST.c.id == _CERT.c.status_list_id)
        .where(_CERT.c.certificate_number == number, _CERT.c.office_id == office_id)
    ).first()
    if found is None:
        raise _not_found(number)
    cert = found

    versions = session.execute(
        sa.select(_VERSION.c.version, _VERSION.c.kid, _VERSION.c.superseded_at, _VERSION.c.reason)
        .where(_VERSION.c.certificate_id == cert.id)
        .order_by(_VERSION.c.version)
    ).all()
    batch = session.execute(
        sa.select(_ITEM.c.batch_id, _ITEM.c.row_number, _BATCH.c.filename)
        .join(_BATCH, _BATCH.c.id == _ITEM.c.batch_id)
        .where(_ITEM.c.certificate_id == cert.id)
    ).first()
    requests = session.execute(
        sa.select(_PENDING).where(
            _PENDING.c.office_id == office_id,
            _PENDING.c.target == number,
            _PENDING.c.kind.in_(CERTIFICATE_KINDS),
        )
    ).all()
    request_ids = [str(r.id) for r in requests]
    about = _AUDIT.c.subject == number
    if request_ids:
        about = sa.or_(
            about,
            sa.and_(
                _AUDIT.c.subject.in_(request_ids),
                _AUDIT.c.action.in_(("pending_action.approved", "pending_action.rejected")),
            ),
        )
    trail = session.execute(
        sa.select(_AUDIT).where(about).order_by(_AUDIT.c.id.desc()).limit(TRAIL_MAX + 1)
    ).all()
    truncated = len(trail) > TRAIL_MAX
    trail = list(reversed(trail[:TRAIL_MAX]))
    changes = session.execute(
        sa.select(_AUDIT)
        .where(
            _AUDIT.c.subject == number,
            _AUDIT.c.action.in_(["certificate.issued", *_STATUS_ACTIONS, *_VERSION_ACTIONS]),
        )
        .order_by(_AUDIT.c.id)
    ).all()
    wanted = {r.requested_by for r in requests} | {
        d.get("requested_by") for d in (_detail(r.detail_json) for r in changes)
    }
    officer_ids = [i for i in wanted if isinstance(i, int)]
    officers: dict[int, str] = (
        dict(
            session.execute(
                sa.select(_OFFICER.c.id, _OFFICER.c.username).where(_OFFICER.c.id.in_(officer_ids))
            ).all()
        )
        if officer_ids
        else {}
    )
    session.rollback()

    qt = QualificationType(cert.qualification_type)
    changed = cert.status_changed_at
    return CertificateRecord(
        certificate_number=cert.certificate_number,
        version=cert.version,
        elicence_id=cert.elicence_id,
        status=cert.status,
        status_reason=cert.status_reason,
        status_changed_at=rfc3339(changed) if changed is not None else None,
        name=cert.name,
        sex=cert.sex,
        birth_date=cert.birth_date.isoformat(),
        ethnicity=cert.ethnicity,
        id_type=cert.id_type,
        id_number_masked=cert.id_number_masked,
        qualification_type=qt.slug,
        qualification_name=qt.name_zh,
        subject=cert.subject,
        certified_on=cert.certified_on.isoformat(),
        issued_at=rfc3339(cert.created_at),
        kid=cert.kid,
        layout_version=cert.layout_version,
        status_list={"uri": cert.uri, "idx": cert.status_idx},
        batch=(
            BatchRow(batch_id=batch.batch_id, row_number=batch.row_number, filename=batch.filename)
            if batch is not None
            else None
        ),
        previous_versions=[
            VersionRow(
                version=v.version,
                kid=v.kid,
                superseded_at=rfc3339(v.superseded_at),
                reason=v.reason,
            )
            for v in versions
        ],
        pending_requests=[
            {
                "id": r.id,
                "kind": r.kind,
                "requested_by": officers.get(r.requested_by),
                "requested_at": rfc3339(r.requested_at),
            }
            for r in requests
            if r.decision is None
        ],
        status_history=_history(changes, officers),
        audit_trail=[
            AuditEntry(
                seq=r.id,
                at=rfc3339(r.at, microseconds=True),
                actor=r.actor,
                action=r.action,
                subject=r.subject,
                detail=_detail(r.detail_json),
            )
            for r in trail
        ],
        audit_trail_truncated=truncated,
    )
