"""The restricted-qualification list, 教师资格限制库 (contract section 7).

An entry names a person by ``person_ref``, HMAC-SHA256 under ``JIAOZI_RESTRICTION_HMAC_KEY``
(shared by the offices and the registry, never the public verifiers) over
``<id_type>:<normalised number>``
(:func:`credential.person_reference`), with its category: ``lost`` (丧失, permanent) or
``revoked`` (撤销, re-application barred for 5 years from the decision date: ``bar_until``;
a decision dated 29 February bars until 28 February five years on). The identity number is
never stored in clear: only ``person_ref`` and, to find the person's certificates here,
the issuer's own keyed hash (``JIAOZI_ID_HMAC_KEY``, as ``Certificate.id_number_hash``).
Audit records and pending requests show it masked; events and the verifiers' feed never
carry it.

Recording an entry (after a second supervisor approves, unless the office switched
maker-checker off: requests and approvals are ``issuer.lifecycle.approvals``) makes every
certificate of that person in this issuer INVALID (status ``revoked``, reason
``restricted``) in the same transaction, with a ``restricted`` event and a ``revoked``
event per certificate. A person with no certificate here can be recorded too. Removal
after review is its own entry in the change log (op ``remove``), audited, with an
``unrestricted`` event; it does NOT reinstate the certificates: revocation is final, and
a person cleared on review applies for a new certificate.

Verifiers (service clients of kind ``verifier``) read the list as JWS snapshots and
deltas (``typ: jiaozi-restrictions+jwt``) with a gapless cursor (``restriction_change.seq``,
taken from the ``restriction`` row of ``event_head`` like the event feed's), signed by
the publication job when the list changes and served as stored
(``issuer.lifecycle.restriction_publication``). Those documents name no person at all
(no ``person_ref``: issue 12 point 4), only the affected certificate numbers; no legal
basis, no name and no removal reason either. Admission checks are the registry's
(docs/registry.md).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import mask_id
from issuer import issuance
from issuer.accounts import Principal
from issuer.audit import chain as audit
from issuer.audit import events
from issuer.db import allowance, tables
from issuer.db.models import Certificate, NationalOutbox, Restriction, RestrictionChange
from issuer.errors import Conflict, NotFound
from issuer.fields.restrictions import CATEGORIES, validate_entry, validate_removal
from issuer.lifecycle.transitions import change_status, lock_status_lists
from issuer.settings import IssuerSettings

__all__ = [
    "BAR_YEARS",
    "CATEGORIES",
    "apply_removal",
    "apply_restriction",
    "get_restriction",
    "lock_active",
    "refuse_duplicate",
    "restriction_json",
    "validate_removal",
    "validate_restriction",
]

BAR_YEARS = 5

_CERT = tables.CERTIFICATE
_RESTR = tables.RESTRICTION
_CHANGE = tables.RESTRICTION_CHANGE


def bar_until(category: str, decision_date: dt.date) -> dt.date | None:
    """Return the end of the re-application bar: 5 years on for ``revoked``, None for lost."""
    if category != "revoked":
        return None
    year = decision_date.year + BAR_YEARS
    day = min(decision_date.day, calendar.monthrange(year, decision_date.month)[1])
    return decision_date.replace(year=year, day=day)


# --- input ---------------------------------------------------------------------------------


def validate_restriction(
    body: Mapping[str, object], *, who: Principal, settings: IssuerSettings, today: dt.date
) -> dict[str, Any]:
    """Return the pending payload of a new entry; raises ValidationFailed (every field).

    The fields are judged by ``issuer.fields.restrictions``; the payload holds
    ``person_ref`` and ``id_hash`` and the masked number, never the number itself.
    """
    entry = validate_entry(body, today=today)
    return {
        "name": entry.name,
        "id_type": entry.id_type.value,
        "id_number_masked": mask_id(entry.id_number),
        "person_ref": issuance.person_ref(settings, entry.id_type, entry.id_number),
        "id_hash": issuance.id_hash(settings, entry.id_type, entry.id_number),
        "category": entry.category,
        "decision_date": entry.decision_date.isoformat(),
        "legal_basis": entry.legal_basis,
        "deciding_office": entry.deciding_office or who.office_id or settings.office_id,
    }


# --- effects (inside the approving transaction) ------------------------------------------


def refuse_duplicate(session: Session, person_ref: str, category: str) -> None:
    """Raise Conflict if the person already has an active entry of ``category``."""
    found = session.execute(
        sa.select(_RESTR.c.id).where(
            _RESTR.c.person_ref == person_ref,
            _RESTR.c.category == category,
            _RESTR.c.removed_at.is_(None),
        )
    ).scalar_one_or_none()
    if found is not None:
        raise Conflict(
            "This person already has an active entry of that category",
            "该人员已有同类别的有效限制记录",
            f"Restriction {found}.",
            f"限制记录{found}。",
        )


def apply_restriction(
    session: Session,
    *,
    payload: Mapping[str, Any],
    actor: str,
    approval: Mapping[str, Any],
    now: dt.datetime,
) -> tuple[list[int], dict[str, Any]]:
    """Record the entry in ``payload`` and revoke the person's certificates, inside the
    caller's write transaction. Return (status list ids to publish, result).

    Raises Conflict if an active entry of the same category exists for the person.
    """
    seq = events.next_seq(session, events.RESTRICTION_HEAD)  # first: see the lock order
    refuse_duplicate(session, payload["person_ref"], payload["category"])
    certs = list(
        session.execute(
            sa.select(Certificate)
            .where(_CERT.c.id_number_hash == payload["id_hash"])
            .order_by(_CERT.c.id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        ).scalars()
    )
    lock_status_lists(session, [c.status_list_id for c in certs])
    decision_date = dt.date.fromisoformat(payload["decision_date"])
    entry = Restriction(
        person_ref=payload["person_ref"],
        id_type=payload["id_type"],
        category=payload["category"],
        decision_date=decision_date,
        bar_until=bar_until(payload["category"], decision_date),
        deciding_office=payload["deciding_office"],
        legal_basis=payload["legal_basis"],
        affected_json=json.dumps([c.certificate_number for c in certs]),
        recorded_at=now,
        name=payload.get("name"),
        id_number_masked=payload.get("id_number_masked"),
    )
    above = allowance.floor(session, allowance.RESTRICTION_ID_FLOOR)
    if above is not None:  # after a backup: see issuer.db.allowance (serialised by seq)
        top = session.execute(sa.select(sa.func.max(_RESTR.c.id))).scalar()
        entry.id = max(int(top or 0), above) + 1
    session.add(entry)
    session.flush()
    assert entry.id is not None
    session.add(RestrictionChange(seq=seq, restriction_id=entry.id, op="add", at=now))
    # On its way to the national registry, in this same transaction (crash-safe).
    session.add(NationalOutbox(restriction_id=entry.id, op="add", queued_at=now))
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="restriction.recorded",
        subject=f"restriction:{entry.id}",
        detail={
            "restriction_id": entry.id,
            "change_seq": seq,
            "id_type": payload["id_type"],
            "id_number_masked": payload["id_number_masked"],
            "person_ref": payload["person_ref"],
            "category": entry.category,
            "decision_date": payload["decision_date"],
            "bar_until": entry.bar_until.isoformat() if entry.bar_until else None,
            "deciding_office": entry.deciding_office,
            "legal_basis": entry.legal_basis,
            "affected": [c.certificate_number for c in certs],
            **approval,
        },
        at=now,
    )
    events.append_event(
        session,
        type="restricted",
        office_id=str(payload.get("office_id") or entry.deciding_office),
        certificate_number=None,
        version=None,
        data={"restriction_id": entry.id, "category": entry.category},
        now=now,
    )
    list_ids: list[int] = []
    for cert in certs:
        if cert.status == "revoked":
            continue  # already final; still listed as affected
        list_ids.append(
            change_status(
                session,
                cert,
                change="revoke",
                reason_code="restricted",
                actor=actor,
                detail={"restriction_id": entry.id, "category": entry.category, **approval},
                now=now,
                event_data={"restriction_id": entry.id},
            )
        )
    return list_ids, {"restriction": restriction_json(entry, internal=True)}


def lock_active(session: Session, restriction_id: int) -> Restriction:
    """Return entry ``restriction_id``, its row locked; raises NotFound, Conflict (already
    removed)."""
    entry = session.execute(
        sa.select(Restriction)
        .where(_RESTR.c.id == restriction_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if entry is None:
        raise NotFound("No such restriction", "限制记录不存在")
    if entry.removed_at is not None:
        raise Conflict(
            "This entry has already been removed",
            "该限制记录已撤除",
            f"Restriction {entry.id}.",
            f"限制记录{entry.id}。",
        )
    return entry


def apply_removal(
    session: Session,
    *,
    restriction_id: int,
    payload: Mapping[str, Any],
    actor: str,
    approval: Mapping[str, Any],
    now: dt.datetime,
) -> tuple[list[int], dict[str, Any]]:
    """Remove entry ``restriction_id`` inside the caller's write transaction.

    The certificates it revoked stay revoked (revocation is final). Raises NotFound,
    Conflict (already removed).
    """
    seq = events.next_seq(session, events.RESTRICTION_HEAD)
    entry = lock_active(session, restriction_id)
    entry.removed_at, entry.removal_reason = now, payload["reason"]
    session.add(RestrictionChange(seq=seq, restriction_id=restriction_id, op="remove", at=now))
    session.add(NationalOutbox(restriction_id=restriction_id, op="remove", queued_at=now))
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="restriction.removed",
        subject=f"restriction:{restriction_id}",
        detail={
            "restriction_id": restriction_id,
            "change_seq": seq,
            "category": entry.category,
            "reason": payload["reason"],
            "decision_date": payload["decision_date"],
            **approval,
        },
        at=now,
    )
    events.append_event(
        session,
        type="unrestricted",
        office_id=str(payload.get("office_id") or entry.deciding_office),
        certificate_number=None,
        version=None,
        data={"restriction_id": restriction_id, "category": entry.category},
        now=now,
    )
    return [], {"restriction": restriction_json(entry, internal=True)}


# --- entries as answers and the feed show them --------------------------------------------


def _iso_date(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def restriction_json(entry: Restriction, *, internal: bool = False) -> dict[str, Any]:
    """Return an entry as the feed shows it; ``internal`` adds the office-only fields."""
    out: dict[str, Any] = {
        "id": entry.id,
        "person_ref": entry.person_ref,
        "category": entry.category,
        "decision_date": entry.decision_date.isoformat(),
        "bar_until": _iso_date(entry.bar_until),
        "deciding_office": entry.deciding_office,
        "affected": json.loads(entry.affected_json),
    }
    if internal:
        out["id_type"] = entry.id_type
        out["legal_basis"] = entry.legal_basis
        out["removed"] = entry.removed_at is not None
        out["removal_reason"] = entry.removal_reason
    return out


def get_restriction(session: Session, restriction_id: int) -> dict[str, Any]:
    """Return one entry with its office-only fields; raises NotFound."""
    entry = session.get(Restriction, restriction_id)
    if entry is None:
        raise NotFound("No such restriction", "限制记录不存在")
    out = restriction_json(entry, internal=True)
    session.rollback()
    return out
