"""Two-person rules on accounts: changes that grant power, the bootstrap key's end, and
who may approve whom.

Creating a supervisor or an admin and changing an officer's role take effect only when a
second admin approves (``issuer.lifecycle.account_requests`` records the request; the
functions here apply it inside the approving transaction). Who may approve any request is
decided here too: not an account the requester created, whose role the requester last
changed, or that holds an unrevoked key the requester issued (the requester knows its
text) or a console sign-in set with an enrolment code the requester issued
(``issuer.console``), nor the issuer of a key the requester held when asking. The static
bootstrap key acts only while its office has no active admin.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import issuer.accounts.rules as rules
from issuer.accounts.apikeys import NewApiKey, add_key, keys_of
from issuer.accounts.officers import add_officer, officer_public
from issuer.accounts.offices import officer_in
from issuer.accounts.principal import ROLES
from issuer.audit import chain as audit
from issuer.db import tables, write
from issuer.db.models import Office, Officer
from issuer.errors import Conflict, Forbidden
from issuer.settings import IssuerSettings

__all__ = [
    "ACCOUNT_KINDS",
    "POWER_ROLES",
    "apply_account_change",
    "apply_maker_checker",
    "change_role",
    "refuse_ineligible_approver",
    "replace_own_key",
    "role_change_fields",
]

POWER_ROLES = ("supervisor", "admin")
"""Roles that approve others' requests or manage accounts: granting one needs a second admin."""
ACCOUNT_KINDS = frozenset({"create_officer", "change_role", "maker_checker_off"})
"""Pending-action kinds that change accounts or the office's rules: a second admin approves."""

_OFFICER = tables.OFFICER
_KEY = tables.API_KEY


def role_change_fields(session: Session, *, officer_id: int, office_id: str, role: object) -> str:
    """Return ``role`` if officer ``officer_id`` of ``office_id`` may be asked to take it.

    Raises ValidationFailed (no such role), NotFound (no such officer in the office),
    Conflict (the officer is deactivated or already has that role).
    """
    value = rules.fields(role=lambda: rules.choice("role", role, ROLES, "角色"))["role"]
    officer = officer_in(session, officer_id, office_id)
    if not officer.active:
        raise Conflict(
            "The officer is deactivated",
            "该工作人员已停用",
            f"officer {officer.username} is deactivated",
            f"工作人员{officer.username}已停用",
        )
    if officer.role == value:
        raise Conflict(
            "The officer already has that role",
            "该工作人员已是此角色",
            f"officer {officer.username} is already {value}",
            f"工作人员{officer.username}已是{value}",
        )
    return value


def change_role(
    session: Session,
    *,
    officer_id: int,
    office_id: str,
    role: str,
    actor: str,
    changed_by: int | None,
    detail: Mapping[str, Any],
    now: dt.datetime,
) -> Officer:
    """Give officer ``officer_id`` the role ``role`` inside the caller's write transaction,
    audited; ``changed_by`` (the requester) is recorded on the officer.

    Raises NotFound, Conflict (deactivated, already that role, or the office's last active
    admin would lose the role: an office is never left without one).
    """
    role = role_change_fields(session, officer_id=officer_id, office_id=office_id, role=role)
    officer = session.execute(
        sa.select(Officer).where(_OFFICER.c.id == officer_id).with_for_update()
    ).scalar_one()
    old = officer.role
    if old == "admin":
        others = session.execute(
            sa.select(sa.func.count())
            .select_from(_OFFICER)
            .where(
                _OFFICER.c.office_id == office_id,
                _OFFICER.c.role == "admin",
                _OFFICER.c.active.is_(True),
                _OFFICER.c.id != officer_id,
            )
        ).scalar_one()
        if not others:
            raise Conflict(
                "The office's last admin cannot lose the role",
                "不能取消本机构最后一位管理员的角色",
            )
    officer.role, officer.role_changed_by = role, changed_by
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="officer.role_changed",
        subject=f"officer:{officer.username}",
        detail={
            "officer_id": officer.id,
            "office_id": office_id,
            "role": {"from": old, "to": role},
            **detail,
        },
        at=now,
    )
    return officer


def _may_act_as(session: Session, officer_id: int, *, at: dt.datetime | None) -> set[int]:
    """Return the officers whose keys ``officer_id`` may know: those it issued a key to, and
    theirs in turn (keys unrevoked now, or valid at ``at`` when given)."""
    valid = (
        _KEY.c.revoked_at.is_(None)
        if at is None
        else sa.and_(
            _KEY.c.created_at <= at, sa.or_(_KEY.c.revoked_at.is_(None), _KEY.c.revoked_at >= at)
        )
    )
    known, frontier = {officer_id}, {officer_id}
    while frontier:
        holders = session.execute(
            sa.select(_KEY.c.officer_id).where(
                _KEY.c.issued_by.in_(frontier), _KEY.c.officer_id.is_not(None), valid
            )
        ).scalars()
        # Console sign-ins work like keys: whoever issued the enrolment code an officer's
        # sign-in was set with, or a code still waiting, could be signing in as them.
        cred = tables.OFFICER_CREDENTIAL
        enrolled = session.execute(
            sa.select(cred.c.officer_id).where(
                sa.or_(
                    cred.c.set_via_code_of.in_(frontier),
                    sa.and_(
                        cred.c.enrolment_issued_by.in_(frontier),
                        cred.c.enrolment_hash.is_not(None),
                    ),
                )
            )
        ).scalars()
        frontier = {h for h in (*holders, *enrolled) if h not in known}
        known |= frontier
    return known


def refuse_ineligible_approver(
    session: Session,
    *,
    approver_id: int,
    requester_id: int,
    requested_at: dt.datetime,
    kind: str,
) -> None:
    """Raise Forbidden unless officer ``approver_id`` may approve a request of
    ``requester_id`` of ``kind``.

    Refused: the requester themself; an officer the requester created, whose role the
    requester last changed, or who holds an unrevoked key the requester issued (the
    requester knows its text), or who issued a key the requester held at ``requested_at``
    (the request may be the approver's own), through any chain of such keys; and, for
    account kinds (``ACCOUNT_KINDS``), anyone but an admin.
    """
    if approver_id == requester_id:
        raise Forbidden(
            "The approver must be a different officer than the requester",
            "批准人不能是申请人本人",
            "Maker-checker: a second supervisor must approve.",
            "双人复核：须由另一名审核人员批准。",
        )
    approver = session.get(Officer, approver_id)
    if approver is None:  # pragma: no cover - the approver's key was just checked
        raise Forbidden("This account may not do that", "该账户无权执行此操作")
    if kind in ACCOUNT_KINDS and approver.role != "admin":
        raise Forbidden(
            "Only a second admin approves an account change",
            "账户变更须由另一位管理员批准",
            "Creating a supervisor or admin, changing a role and switching maker-checker "
            "off need an admin other than the requester.",
            "新建审核人员或管理员、变更角色、关闭双人复核须由申请人以外的管理员批准。",
        )
    # A key's issuer knows its text and may act as its holder, and as whoever that holder
    # gave keys to in turn: the requester may be acting as the approver (keys unrevoked
    # now), or the approver may have made the request (keys valid when it was made;
    # revoking one since does not undo that).
    shared_key = approver_id in _may_act_as(session, requester_id, at=None) or (
        requester_id in _may_act_as(session, approver_id, at=requested_at)
    )
    if requester_id in (approver.created_by, approver.role_changed_by) or shared_key:
        raise Forbidden(
            "The approver's account was created or changed by the requester",
            "批准人的账户由申请人创建或变更",
            "Two-person rule: an account the requester created, whose role the requester "
            "changed, or holding a key the requester issued cannot approve the requester's "
            "requests.",
            "双人规则：由申请人创建、变更角色或持有申请人签发密钥的账户，不能批准该申请人的申请。",
        )


def apply_maker_checker(
    session: Session,
    *,
    office_id: str,
    value: bool,
    settings: IssuerSettings,
    actor: str,
    detail: Mapping[str, Any],
    now: dt.datetime,
) -> dict[str, Any]:
    """Set the office's maker-checker switch inside the caller's write transaction,
    audited even when unchanged; return ``{"office_id", "maker_checker"}``."""
    old = session.execute(
        sa.select(tables.OFFICE.c.maker_checker)
        .where(tables.OFFICE.c.id == office_id)
        .with_for_update(key_share=True)
    ).scalar_one_or_none()
    if old is None:
        # The office of a fresh install (bootstrap key) may not have its row yet.
        session.add(
            Office(
                id=office_id,
                name=settings.office_name,
                province=settings.province,
                office_code=settings.office_code,
                maker_checker=value,
                created_at=now,
            )
        )
        old = True
    else:
        session.execute(
            sa.update(tables.OFFICE)
            .where(tables.OFFICE.c.id == office_id)
            .values(maker_checker=value)
        )
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="office.settings_changed",
        subject=office_id,
        detail={
            "office_id": office_id,
            "maker_checker": {"from": bool(old), "to": value},
            **detail,
        },
        at=now,
    )
    return {"office_id": office_id, "maker_checker": value}


def apply_account_change(
    session: Session,
    *,
    kind: str,
    target: str,
    payload: Mapping[str, Any],
    office_id: str,
    requested_by: int,
    actor: str,
    approval: Mapping[str, Any],
    settings: IssuerSettings,
    now: dt.datetime,
) -> dict[str, Any]:
    """Apply an approved account request (``kind`` in ``ACCOUNT_KINDS``) inside the
    approving transaction; return its result for the answer.

    An officer made this way has no key yet: an admin gives one (and is then recorded as
    its issuer), so the approver never learns a key of an account they could use.
    Raises Conflict (username taken meanwhile, role no longer applicable), NotFound.
    """
    if kind == "create_officer":
        try:
            officer, _ = add_officer(
                session,
                office_id=office_id,
                fields={k: payload[k] for k in ("username", "display_name", "role")},
                actor=actor,
                created_by=requested_by,
                with_key=False,
                detail=approval,
                now=now,
            )
        except IntegrityError:
            # a concurrent insert took the username after add_officer's check: the
            # approval fails as a whole (the request stays pending, to be rejected)
            raise rules.taken("username", payload["username"], "an officer", "工作人员") from None
    elif kind == "change_role":
        officer = change_role(
            session,
            officer_id=int(target),
            office_id=office_id,
            role=payload["role"],
            actor=actor,
            changed_by=requested_by,
            detail=approval,
            now=now,
        )
    elif kind == "maker_checker_off":
        return apply_maker_checker(
            session,
            office_id=office_id,
            value=False,
            settings=settings,
            actor=actor,
            detail=approval,
            now=now,
        )
    else:  # pragma: no cover - the caller dispatches ACCOUNT_KINDS only
        raise Conflict("Unknown kind of request", "未知的申请类型")
    assert officer.id is not None
    keys = keys_of(session, _KEY.c.officer_id, [officer.id])[officer.id]
    return {"officer": officer_public(officer, keys).model_dump(mode="json")}


def replace_own_key(
    session: Session, *, officer_id: int, actor: str, now: dt.datetime
) -> NewApiKey:
    """Give officer ``officer_id`` a key only they know, revoking all their other keys
    (audited): keys an admin issued them no longer tie them to that admin
    (:func:`refuse_ineligible_approver`). Return the new key (its text shown once).

    Raises Conflict for a deactivated officer, NotFound for a missing one.
    """
    with write(session):
        officer = officer_in(session, officer_id, None)
        if not officer.active:  # pragma: no cover - a deactivated officer cannot authenticate
            raise Conflict("The officer is deactivated", "该工作人员已停用")
        old = session.execute(
            sa.update(_KEY)
            .where(_KEY.c.officer_id == officer_id, _KEY.c.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(_KEY.c.prefix)
        ).scalars()
        revoked = sorted(old)
        _, new = add_key(session, officer_id=officer_id, issued_by=officer_id, now=now)
        audit.append(
            session,
            actor=actor,
            action="api_key.replaced_by_holder",
            subject=f"officer:{officer.username}",
            detail={
                "officer_id": officer_id,
                "api_key_prefix": new.prefix,
                "revoked_prefixes": revoked,
            },
            at=now,
        )
    return new
