"""Offices: the configured office's row, and the scoping of officers to their office.

An officer of another office is treated exactly like a missing one (NotFound), so an
admin cannot even learn that it exists.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.audit import chain as audit
from issuer.db import write
from issuer.db.models import Office, Officer
from issuer.errors import NotFound
from issuer.settings import IssuerSettings

__all__ = ["ensure_office", "officer_in"]


def _detached(session: Session, office_id: str) -> Office | None:
    office = session.get(Office, office_id)
    if office is not None:
        session.expunge(office)
    session.rollback()
    return office


def ensure_office(session: Session, *, settings: IssuerSettings, now: dt.datetime) -> Office:
    """Return the configured office's row, creating (and auditing) it on first use.

    Safe to call from many processes at once: a concurrent creator wins and this call
    returns its row. An existing row is left as it is (its settings are the office's own).
    """
    office = _detached(session, settings.office_id)
    if office is not None:
        return office
    # A concurrent caller may create it first (IntegrityError): its row is read below.
    with contextlib.suppress(IntegrityError), write(session):
        if session.get(Office, settings.office_id) is None:
            session.add(
                Office(
                    id=settings.office_id,
                    name=settings.office_name,
                    province=settings.province,
                    office_code=settings.office_code,
                    maker_checker=True,
                    created_at=now,
                )
            )
            session.flush()
            audit.append(
                session,
                actor="system",
                action="office.created",
                subject=settings.office_id,
                detail={
                    "office_id": settings.office_id,
                    "name": settings.office_name,
                    "province": settings.province,
                    "office_code": settings.office_code,
                    "maker_checker": True,
                },
                at=now,
            )
    office = _detached(session, settings.office_id)
    if office is None:  # pragma: no cover - deleted again at once
        raise RuntimeError(f"office {settings.office_id} could not be created")
    return office


def officer_in(session: Session, officer_id: int, office_id: str | None) -> Officer:
    """Return officer ``officer_id`` if it belongs to ``office_id`` (None: any office);
    raises NotFound otherwise."""
    officer = session.get(Officer, officer_id)
    if officer is None or (office_id is not None and officer.office_id != office_id):
        raise NotFound(
            "No such officer",
            "工作人员不存在",
            f"No officer {officer_id} in this office.",
            f"本机构没有编号为{officer_id}的工作人员。",
        )
    return officer
