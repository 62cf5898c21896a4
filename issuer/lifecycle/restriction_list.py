"""The restricted list as the office's officers read it (issue 13 point 6): this office's
entries with where each stands nationally, the national entries of other offices, and a
person looked up on both.

- :func:`list_restrictions`: this office's entries, newest first, by state (active,
  removed, all) and category, keyset pages by id; each with its ``national`` state, read
  from the outbox: ``waiting`` (not yet taken by the registry: the next round sends it),
  ``at_registry`` (taken) or ``refused`` (the registry refused it: ``last_error`` says
  why, and an officer must act), and the same for a removal.
- :func:`list_national`: the entries other offices recorded, as pulled from the registry
  (office, category, dates, how many of this office's certificates name the person); never
  the person reference, which names no one to an officer and is key material to anyone.
- :func:`find_person`: one person by identity document, on both lists, with whether they
  are barred today and by whom (what issuing would say); audited as
  ``restriction.searched`` with the masked number, as a certificate search by number is.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import IdType, as_utc, beijing_date, mask_id
from issuer import issuance
from issuer.audit import chain as audit
from issuer.db import tables, write
from issuer.lifecycle.national import refused_by_registry
from issuer.settings import IssuerSettings

__all__ = [
    "MAX_LIMIT",
    "STATES",
    "RestrictionPage",
    "find_person",
    "list_national",
    "list_restrictions",
]

MAX_LIMIT = 200
STATES = ("active", "removed", "all")
SEARCH_ACTION = "restriction.searched"

_R = tables.RESTRICTION
_OUT = tables.NATIONAL_OUTBOX
_NAT = tables.NATIONAL_RESTRICTION
_CERT = tables.CERTIFICATE


@dataclass(frozen=True, slots=True)
class RestrictionPage:
    """Entries newest first; ``before`` asks for the next, older page (None: no more)."""

    items: list[dict[str, Any]]
    before: int | None


def _iso(d: dt.date | dt.datetime | None) -> str | None:
    if d is None:
        return None
    if isinstance(d, dt.datetime):
        return as_utc(d).isoformat().replace("+00:00", "Z")
    return d.isoformat()


def _national_state(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Return, per restriction id, where its entry and its removal stand at the registry."""
    out: dict[int, dict[str, Any]] = {}
    if not ids:
        return out
    rows = session.execute(
        sa.select(
            _OUT.c.restriction_id, _OUT.c.op, _OUT.c.sent_at, _OUT.c.attempts, _OUT.c.last_error
        )
        .where(_OUT.c.restriction_id.in_(ids))
        .order_by(_OUT.c.id)
    ).all()
    for r in rows:
        if r.sent_at is not None:
            state: dict[str, Any] = {"state": "at_registry", "sent_at": _iso(r.sent_at)}
        elif refused_by_registry(r.last_error):
            state = {"state": "refused", "attempts": r.attempts, "last_error": r.last_error}
        else:
            state = {"state": "waiting", "attempts": r.attempts, "last_error": r.last_error}
        out.setdefault(r.restriction_id, {})["removal" if r.op == "remove" else "entry"] = state
    return out


def _entry(row: Any, national: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "id_type": row.id_type,
        "id_number_masked": row.id_number_masked,
        "category": row.category,
        "decision_date": _iso(row.decision_date),
        "bar_until": _iso(row.bar_until),
        "deciding_office": row.deciding_office,
        "legal_basis": row.legal_basis,
        "affected": json.loads(row.affected_json),
        "recorded_at": _iso(row.recorded_at),
        "removed": row.removed_at is not None,
        "removed_at": _iso(row.removed_at),
        "removal_reason": row.removal_reason,
        # entries recorded before the outbox (revision 0007) have no national state
        "national": national or None,
    }


def _bounds(limit: int, before: int | None) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_LIMIT}")
    if before is not None and before < 1:
        raise ValueError("before must be 1 or more")


def list_restrictions(
    session: Session,
    *,
    state: str = "active",
    category: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> RestrictionPage:
    """Return a page of this office's entries (newest first) in ``state``.

    Raises ValueError for an unknown state, a limit outside 1..MAX_LIMIT or ``before``
    below 1 (the routes judge these first and answer 422)."""
    _bounds(limit, before)
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}")
    q = sa.select(_R)
    if state == "active":
        q = q.where(_R.c.removed_at.is_(None))
    elif state == "removed":
        q = q.where(_R.c.removed_at.is_not(None))
    if category is not None:
        q = q.where(_R.c.category == category)
    if before is not None:
        q = q.where(_R.c.id < before)
    rows = session.execute(q.order_by(_R.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    national = _national_state(session, [r.id for r in rows])
    items = [_entry(r, national.get(r.id)) for r in rows]
    session.rollback()
    return RestrictionPage(items, rows[-1].id if more and rows else None)


def _national_item(row: Any, here: int) -> dict[str, Any]:
    return {
        "ref": row.ref,
        "office": row.office,
        "category": row.category,
        "decision_date": _iso(row.decision_date),
        "bar_until": _iso(row.bar_until),
        "received_at": _iso(row.received_at),
        "removed": row.removed_at is not None,
        "removed_at": _iso(row.removed_at),
        "certificates_here": here,
    }


def _counts_here(session: Session, refs: list[str]) -> dict[str, int]:
    if not refs:
        return {}
    return {
        ref: int(n)
        for ref, n in session.execute(
            sa.select(_CERT.c.person_ref, sa.func.count())
            .where(_CERT.c.person_ref.in_(refs))
            .group_by(_CERT.c.person_ref)
        ).all()
    }


def list_national(
    session: Session,
    *,
    own_office: str,
    state: str = "active",
    office: str | None = None,
    before: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """Return a page of the national entries recorded by *other* offices, in descending
    order of their reference (``<office>#<id>``), and the cursor of the next page (the
    page's last reference: pass it as ``before``), None at the end.

    Raises ValueError as :func:`list_restrictions`."""
    _bounds(limit, None)
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}")
    q = sa.select(_NAT).where(_NAT.c.office != own_office)
    if state == "active":
        q = q.where(_NAT.c.removed_at.is_(None))
    elif state == "removed":
        q = q.where(_NAT.c.removed_at.is_not(None))
    if office is not None:
        q = q.where(_NAT.c.office == office)
    if before is not None:
        q = q.where(_NAT.c.ref < before)
    rows = session.execute(q.order_by(_NAT.c.ref.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    here = _counts_here(session, [r.person_ref for r in rows])
    items = [_national_item(r, here.get(r.person_ref, 0)) for r in rows]
    session.rollback()
    return items, rows[-1].ref if more and rows else None


def find_person(
    session: Session,
    *,
    settings: IssuerSettings,
    id_type: IdType,
    id_number: str,
    actor: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """Return one person's entries on this office's list and the national list, and
    ``barred``: what issuing would answer today (None, or category, until, office).
    ``id_number`` must already be judged valid (``issuer.fields``). Writes the audit
    record in its own transaction."""
    ref = issuance.person_ref(settings, id_type, id_number)
    today = beijing_date(now)
    own = session.execute(sa.select(_R).where(_R.c.person_ref == ref).order_by(_R.c.id)).all()
    national = _national_state(session, [r.id for r in own])
    nat = session.execute(
        sa.select(_NAT)
        .where(_NAT.c.person_ref == ref, _NAT.c.office != settings.office_id)
        .order_by(_NAT.c.ref)
    ).all()
    here = _counts_here(session, [ref]).get(ref, 0)
    barred = issuance.barred_refs(session, [ref], on=today).get(ref)
    session.rollback()
    masked = mask_id(id_number)
    out = {
        "id_type": id_type.value,
        "id_number_masked": masked,
        "certificates_here": here,
        "barred": None
        if barred is None
        else {
            "category": barred.category,
            "bar_until": _iso(barred.bar_until),
            "office": barred.office or settings.office_id,
        },
        "entries": [_entry(r, national.get(r.id)) for r in own],
        "national_entries": [_national_item(r, here) for r in nat],
    }
    with write(session):
        audit.append(
            session,
            actor=actor,
            action=SEARCH_ACTION,
            subject=f"person:{masked}",
            detail={
                "id_type": id_type.value,
                "id_number_masked": masked,
                "barred": barred is not None,
                "entries": [r.id for r in own],
                "national_entries": [r.ref for r in nat],
            },
            at=as_utc(now),
        )
    return out
