"""Requests that grant power or loosen the office's rules: a second admin approves them.

Two-person rules hold against one person: creating a supervisor or an admin, changing an
officer's role and switching maker-checker off are recorded as pending actions (kinds in
``issuer.accounts.ACCOUNT_KINDS``) that take effect only when an admin other than the
requester approves (``issuer.lifecycle.approvals.approve``), whatever the maker-checker
switch says. Creating a clerk and switching maker-checker on take effect at once.

The static bootstrap key acts only while its office has no active admin
(``issuer.web.deps``): what it does takes effect at once, which is how a fresh install
gets its first accounts. Admins beyond the first can also be made on the machine itself
(``jiaozi accounts create-admin``), a deployment act rather than an API call.

Sits above ``approvals`` (records with its ``create_pending``); nothing here imports it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from credential import as_utc
from issuer import accounts
from issuer.accounts import Principal
from issuer.db import write
from issuer.errors import Forbidden
from issuer.lifecycle.approvals import create_pending, maker_checker_on, pending_json
from issuer.settings import IssuerSettings

__all__ = ["request_officer", "request_role_change", "set_maker_checker"]


def _office(who: Principal) -> str:
    if who.office_id is None:  # pragma: no cover - admins always act for an office
        raise Forbidden("No office", "没有所属机构")
    return who.office_id


def _pending(session: Session, action: Any, **rest: Any) -> dict[str, Any]:
    out = pending_json(session, action)
    session.rollback()
    return {"state": "pending", "pending_action": out, **rest}


def request_officer(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    who: Principal,
    now: dt.datetime,
) -> dict[str, Any]:
    """Create an officer of the admin's office, or ask a second admin to.

    A clerk (or anything the bootstrap key makes) is created at once: returns ``{"state":
    "done", "officer": OfficerCreated}`` with its key's text. A supervisor or an admin is
    a pending action: ``{"state": "pending", "pending_action": ..., "officer": None}``;
    once approved the officer exists with no key, and an admin gives it one.
    Raises ValidationFailed naming bad fields, Conflict (username taken, or the same
    request already waiting), NotFound (no such office).
    """
    now = as_utc(now)
    office_id = _office(who)
    fields = accounts.officer_fields(username, display_name, role)
    if fields["role"] not in accounts.POWER_ROLES or who.officer_id is None:
        officer, new = accounts.create_officer(
            session,
            office_id=office_id,
            username=fields["username"],
            display_name=fields["display_name"],
            role=fields["role"],
            actor=who.actor,
            created_by=who.officer_id,
            bootstrap=who.officer_id is None,
            now=now,
        )
        created = accounts.officer_created(session, officer, new)
        return {"state": "done", "pending_action": None, "officer": created}

    with write(session):
        accounts.refuse_taken_username(session, fields["username"])
        action = create_pending(
            session,
            kind="create_officer",
            target=fields["username"],
            payload=fields,
            who=who,
            now=now,
            audit_action="officer.creation_requested",
            audit_subject=f"officer:{fields['username']}",
            audit_detail={"office_id": office_id, **fields},
        )
    return _pending(session, action, officer=None)


def request_role_change(
    session: Session, *, officer_id: int, role: str, who: Principal, now: dt.datetime
) -> dict[str, Any]:
    """Ask a second admin to give officer ``officer_id`` (of the admin's office) ``role``.

    Every role change waits for approval (one that narrows power too: a demoted admin is
    a change of who may approve). The bootstrap key changes at once. Returns ``{"state":
    "pending", "pending_action": ..., "officer": None}`` or ``{"state": "done",
    "pending_action": None, "officer": OfficerPublic}``. Raises ValidationFailed (no such
    role), NotFound, Conflict (deactivated, already that role, last admin, or the same
    request already waiting).
    """
    now = as_utc(now)
    office_id = _office(who)
    if who.officer_id is None:
        with write(session):
            accounts.refuse_after_first_admin(session, office_id)
            accounts.change_role(
                session,
                officer_id=officer_id,
                office_id=office_id,
                role=role,
                actor=who.actor,
                changed_by=None,
                detail={},
                now=now,
            )
        officer = accounts.get_officer(session, officer_id=officer_id, office_id=office_id)
        return {"state": "done", "pending_action": None, "officer": officer}

    with write(session):
        value = accounts.role_change_fields(
            session, officer_id=officer_id, office_id=office_id, role=role
        )
        current = accounts.get_officer(session, officer_id=officer_id, office_id=office_id)
        detail = {
            "officer_id": officer_id,
            "username": current.username,
            "role": {"from": current.role, "to": value},
        }
        action = create_pending(
            session,
            kind="change_role",
            target=str(officer_id),
            payload={"role": value, "username": current.username, "from": current.role},
            who=who,
            now=now,
            audit_action="officer.role_change_requested",
            audit_subject=f"officer:{current.username}",
            audit_detail=detail,
        )
    return _pending(session, action, officer=None)


def set_maker_checker(
    session: Session,
    *,
    value: bool,
    who: Principal,
    settings: IssuerSettings,
    now: dt.datetime,
) -> dict[str, Any]:
    """Switch the office's maker-checker on (at once) or ask a second admin to switch it off.

    Returns ``{"state": "done", "office_id", "maker_checker", "pending_action": None}``
    when it took effect (on; off when already off, or by the bootstrap key), else
    ``{"state": "pending", "office_id", "maker_checker": True, "pending_action": ...}``.
    Every switch is audited, even one that changes nothing. Raises Conflict (a request to
    switch off already waiting).
    """
    now = as_utc(now)
    office_id = _office(who)
    if value or who.officer_id is None or not maker_checker_on(session, office_id):
        with write(session):
            out = accounts.apply_maker_checker(
                session,
                office_id=office_id,
                value=value,
                settings=settings,
                actor=who.actor,
                detail={},
                now=now,
            )
        return {"state": "done", "pending_action": None, **out}

    with write(session):
        action = create_pending(
            session,
            kind="maker_checker_off",
            target=office_id,
            payload={"maker_checker": False},
            who=who,
            now=now,
            audit_action="office.settings_change_requested",
            audit_subject=office_id,
            audit_detail={"office_id": office_id, "maker_checker": {"from": True, "to": False}},
        )
    return _pending(session, action, office_id=office_id, maker_checker=True)
