"""What a supervisor sees of a request in the inbox (issue 13 point 5): the facts it is
judged by, read beside the pending action so that no second lookup is needed, and never a
full identity number.

May import: ``credential``, ``issuer.db``.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import QualificationType
from issuer.db import tables
from issuer.db.models import PendingAction

__all__ = ["pending_facts"]

_OFFICE = tables.OFFICE
_CERT = tables.CERTIFICATE
_RESTR = tables.RESTRICTION
_ON_A_CERTIFICATE = frozenset({"revoke", "replace", "correct"})


def _qualification(code: int) -> dict[str, Any]:
    q = QualificationType(code)
    return {"code": q.value, "slug": q.slug, "name_zh": q.name_zh}


def pending_facts(session: Session, action: PendingAction) -> dict[str, Any] | None:
    """Return what a supervisor needs to judge ``action`` without another lookup: for a
    request on a certificate, its holder's name, masked identity number, qualification,
    subject, status and office; for a restriction, the person as the request gave them;
    for a removal, the entry it lifts. None for account and office-setting requests (the
    payload says it all). Never a full identity number."""
    if action.kind in _ON_A_CERTIFICATE:
        row = session.execute(
            sa.select(
                _CERT.c.certificate_number,
                _CERT.c.name,
                _CERT.c.id_number_masked,
                _CERT.c.qualification_type,
                _CERT.c.subject,
                _CERT.c.status,
                _OFFICE.c.name.label("office_name"),
            )
            .join(_OFFICE, _OFFICE.c.id == _CERT.c.office_id)
            .where(_CERT.c.certificate_number == action.target)
        ).first()
        if row is None:
            return None
        return {
            "certificate_number": row.certificate_number,
            "name": row.name,
            "id_number_masked": row.id_number_masked,
            "qualification": _qualification(row.qualification_type),
            "subject": row.subject,
            "status": row.status,
            "office_name": row.office_name,
        }
    if action.kind == "restrict":
        payload = json.loads(action.payload_json)
        keys = ("name", "id_type", "id_number_masked", "category", "decision_date", "bar_until")
        facts = {k: payload.get(k) for k in keys}
        facts["legal_basis"] = payload.get("legal_basis")
        # this office's certificates of the person, which approval would revoke
        facts["certificates_here"] = int(
            session.execute(
                sa.select(sa.func.count())
                .select_from(_CERT)
                .where(
                    _CERT.c.person_ref == payload.get("person_ref"),
                    _CERT.c.office_id == action.office_id,
                    _CERT.c.status != "revoked",
                )
            ).scalar_one()
        )
        return facts
    if action.kind == "unrestrict":
        entry = session.execute(
            sa.select(
                _RESTR.c.id,
                _RESTR.c.id_type,
                _RESTR.c.category,
                _RESTR.c.decision_date,
                _RESTR.c.bar_until,
                _RESTR.c.legal_basis,
                _RESTR.c.deciding_office,
            ).where(_RESTR.c.id == int(action.target))
        ).first()
        if entry is None:
            return None
        return {
            "restriction_id": entry.id,
            "id_type": entry.id_type,
            "category": entry.category,
            "decision_date": entry.decision_date.isoformat(),
            "bar_until": entry.bar_until.isoformat() if entry.bar_until else None,
            "legal_basis": entry.legal_basis,
            "deciding_office": entry.deciding_office,
        }
    return None
