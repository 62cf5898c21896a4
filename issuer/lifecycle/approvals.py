"""Maker-checker: acts that take effect only when a second supervisor approves (and
account changes that a second admin approves: ``issuer.lifecycle.account_requests``).

A revocation (``issuer.lifecycle.status``), a restricted-list entry and its removal
(``issuer.lifecycle.restrictions``) are requested here. With the office's maker-checker
on (the default) a request is recorded as a :class:`~issuer.db.models.PendingAction`;
:func:`approve` makes it take effect in the approving transaction, :func:`reject` ends it
with nothing else changed. With maker-checker off (switched off only with a second
admin's approval, ``issuer.lifecycle.account_requests``) the act takes effect at once.

The approver must be a different officer than the requester, and not one the requester
created, whose role the requester changed, or who holds a key the requester issued
(``issuer.accounts.refuse_ineligible_approver``); the requester may withdraw (reject)
their own request. Maker-checker needs personal accounts: the static bootstrap
key can neither request nor approve (it can act at once only where maker-checker is off).

This module sits above ``status`` and ``restrictions`` and imports both; neither imports
it. Lock order (PostgreSQL): the pending action row first, then as in
``issuer.lifecycle.transitions``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import Signer, as_utc, rfc3339
from issuer.accounts import (
    ACCOUNT_KINDS,
    Principal,
    apply_account_change,
    refuse_ineligible_approver,
)
from issuer.audit import chain as audit
from issuer.db import tables, write
from issuer.db.models import PendingAction
from issuer.errors import Conflict, Forbidden, NotFound
from issuer.fields.decisions import Decision
from issuer.lifecycle.inbox import pending_facts
from issuer.lifecycle.restriction_publication import publish_restrictions_after_change
from issuer.lifecycle.restrictions import (
    apply_removal,
    apply_restriction,
    lock_active,
    refuse_duplicate,
)
from issuer.lifecycle.status import revoke
from issuer.lifecycle.supersede import KINDS as SUPERSEDING
from issuer.lifecycle.supersede import take_effect as supersede_approved
from issuer.lifecycle.transitions import (
    NOT_FROM,
    certificate_state,
    change_status,
    lock_certificate,
    publish,
)
from issuer.settings import IssuerSettings

__all__ = [
    "REASON_MAX",
    "approve",
    "create_pending",
    "list_pending",
    "maker_checker_on",
    "pending_json",
    "reject",
    "request_removal",
    "request_restriction",
    "request_revocation",
]

_OFFICE = tables.OFFICE
_OFFICER = tables.OFFICER
_PENDING = tables.PENDING_ACTION
REASON_MAX = 500


# --- the office's setting ------------------------------------------------------------------


def maker_checker_on(session: Session, office_id: str | None) -> bool:
    """Return the office's maker-checker setting (on unless the office switched it off)."""
    if office_id is None:
        return True
    value = session.execute(
        sa.select(_OFFICE.c.maker_checker).where(_OFFICE.c.id == office_id)
    ).scalar_one_or_none()
    return True if value is None else bool(value)


# --- pending actions -----------------------------------------------------------------------


def _needs_officer(who: Principal) -> int:
    if who.officer_id is None:
        raise Forbidden(
            "Maker-checker needs a personal officer account",
            "双人复核需要使用个人账户",
            "The static bootstrap key cannot request or approve; use an officer's key.",
            "静态引导密钥不能提出或批准申请，请使用个人账户的密钥。",
        )
    return who.officer_id


def create_pending(
    session: Session,
    *,
    kind: str,
    target: str,
    payload: Mapping[str, Any],
    who: Principal,
    now: dt.datetime,
    audit_action: str,
    audit_subject: str,
    audit_detail: Mapping[str, Any],
) -> PendingAction:
    """Record a request awaiting a second supervisor (inside the caller's transaction)."""
    officer_id = _needs_officer(who)
    assert who.office_id is not None
    open_same = session.execute(
        sa.select(_PENDING.c.id).where(
            _PENDING.c.office_id == who.office_id,
            _PENDING.c.kind == kind,
            _PENDING.c.target == target,
            _PENDING.c.decision.is_(None),
        )
    ).first()
    if open_same is not None:
        raise Conflict(
            "The same request is already awaiting approval",
            "相同的申请已在等待批准",
            f"Pending action {open_same.id}.",
            f"待批准事项{open_same.id}。",
        )
    action = PendingAction(
        office_id=who.office_id,
        kind=kind,
        target=target,
        payload_json=json.dumps(dict(payload), ensure_ascii=False, sort_keys=True),
        requested_by=officer_id,
        requested_at=now,
    )
    session.add(action)
    session.flush()
    audit.append(
        session,
        actor=who.actor,
        action=audit_action,
        subject=audit_subject,
        detail={"pending_action": action.id, **audit_detail},
        at=now,
    )
    return action


# Payload members kept from answers (keyed hashes of the person).
_HIDDEN = frozenset({"person_ref", "id_hash", "sealed_facts", "photo"})


def pending_json(session: Session, action: PendingAction) -> dict[str, Any]:
    """Return the API form of ``action``, with ``facts`` (:func:`pending_facts`) and, once
    rejected, the reason given."""
    names = dict(
        session.execute(
            sa.select(_OFFICER.c.id, _OFFICER.c.username).where(
                _OFFICER.c.id.in_(
                    [i for i in (action.requested_by, action.decided_by) if i is not None]
                )
            )
        ).all()
    )
    payload = {k: v for k, v in json.loads(action.payload_json).items() if k not in _HIDDEN}
    return {
        "id": action.id,
        "kind": action.kind,
        "target": action.target,
        "payload": payload,
        "requested_by": names.get(action.requested_by),
        "requested_at": rfc3339(action.requested_at),
        "decision": action.decision,
        "decided_by": names.get(action.decided_by) if action.decided_by else None,
        "decided_at": rfc3339(action.decided_at) if action.decided_at else None,
        "decision_reason": action.decision_reason,
        "facts": pending_facts(session, action),
    }


def _pending_answer(session: Session, action: PendingAction, **rest: Any) -> dict[str, Any]:
    """Return the answer to a request left pending (the write committed)."""
    out = pending_json(session, action)
    session.rollback()
    return {"state": "pending", "pending_action": out, **rest}


# --- requests ------------------------------------------------------------------------------


def request_revocation(
    session: Session,
    *,
    number: str,
    decision: Decision,
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> dict[str, Any]:
    """Ask for the revocation of ``number``.

    With maker-checker on (the default) this records a pending action and returns
    ``{"state": "pending", "pending_action": ...}``; with it off the certificate is revoked
    at once: ``{"state": "done", "certificate": ...}``. Raises NotFound, Conflict (already
    revoked, or a revocation already awaiting approval), Forbidden (static key).
    """
    now = as_utc(now)
    if not maker_checker_on(session, who.office_id):
        state = revoke(
            session,
            number=number,
            decision=decision,
            who=who,
            signer=signer,
            settings=settings,
            now=now,
            detail={"maker_checker": False},
        )
        return {"state": "done", "certificate": state, "pending_action": None}

    with write(session):
        cert = lock_certificate(session, number, who.office_id)
        if cert.status == "revoked":
            raise Conflict(
                *NOT_FROM["revoke"],
                f"Certificate {number} is revoked.",
                f"证书{number}已撤销。",
            )
        action = create_pending(
            session,
            kind="revoke",
            target=number,
            payload=decision.as_json(),
            who=who,
            now=now,
            audit_action="certificate.revocation_requested",
            audit_subject=number,
            audit_detail={"certificate_number": number, **decision.as_json()},
        )
    return _pending_answer(session, action, certificate=None)


def request_restriction(
    session: Session,
    *,
    payload: dict[str, Any],
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> dict[str, Any]:
    """Record a new restricted-list entry: pending approval, or at once where
    maker-checker is off.

    Returns ``{"state": "pending", "pending_action": ...}`` or ``{"state": "done",
    "restriction": ...}``. Raises Conflict (an active entry of that category, or the same
    request already waiting), Forbidden (static key with maker-checker on).
    """
    now = as_utc(now)
    office_id = who.office_id or settings.office_id
    if not maker_checker_on(session, who.office_id):
        with write(session):
            list_ids, result = apply_restriction(
                session,
                payload={**payload, "office_id": office_id},
                actor=who.actor,
                approval={"maker_checker": False},
                now=now,
            )
        publish(session, list_ids, signer=signer, settings=settings, now=now)
        publish_restrictions_after_change(session, signer=signer, settings=settings, now=now)
        return {"state": "done", "pending_action": None, **result}

    with write(session):
        refuse_duplicate(session, payload["person_ref"], payload["category"])
        action = create_pending(
            session,
            kind="restrict",
            target=payload["person_ref"],
            payload={**payload, "office_id": office_id},
            who=who,
            now=now,
            audit_action="restriction.requested",
            audit_subject=f"person:{payload['id_number_masked']}",
            audit_detail={
                k: payload[k] for k in ("id_type", "id_number_masked", "category", "decision_date")
            },
        )
    return _pending_answer(session, action, restriction=None)


def request_removal(
    session: Session,
    *,
    restriction_id: int,
    payload: dict[str, Any],
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> dict[str, Any]:
    """Remove a restricted-list entry after review: pending approval, or at once without
    maker-checker.

    Does not reinstate any certificate (revocation is final). Raises NotFound, Conflict
    (already removed, or a removal already waiting), Forbidden (static key, maker-checker on).
    """
    now = as_utc(now)
    office_id = who.office_id or settings.office_id
    if not maker_checker_on(session, who.office_id):
        with write(session):
            _, result = apply_removal(
                session,
                restriction_id=restriction_id,
                payload={**payload, "office_id": office_id},
                actor=who.actor,
                approval={"maker_checker": False},
                now=now,
            )
        publish_restrictions_after_change(session, signer=signer, settings=settings, now=now)
        return {"state": "done", "pending_action": None, **result}

    with write(session):
        lock_active(session, restriction_id)
        action = create_pending(
            session,
            kind="unrestrict",
            target=str(restriction_id),
            payload={**payload, "office_id": office_id},
            who=who,
            now=now,
            audit_action="restriction.removal_requested",
            audit_subject=f"restriction:{restriction_id}",
            audit_detail={"restriction_id": restriction_id, **payload},
        )
    return _pending_answer(session, action, restriction=None)


# --- decisions -----------------------------------------------------------------------------


def _lock_pending(session: Session, action_id: int, who: Principal) -> PendingAction:
    action = session.execute(
        sa.select(PendingAction)
        .where(_PENDING.c.id == action_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if action is None or action.office_id != who.office_id:
        raise NotFound("No such pending action", "待批准事项不存在")
    if action.decision is not None:
        raise Conflict(
            "This request has already been decided",
            "该申请已处理",
            f"It was {action.decision}.",
            f"处理结果：{'已批准' if action.decision == 'approved' else '已驳回'}。",
        )
    return action


def _take_effect(
    session: Session,
    action: PendingAction,
    *,
    who: Principal,
    approval: Mapping[str, Any],
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> tuple[list[int], dict[str, Any]]:
    """Apply the approved ``action``; return (status list ids to publish, result)."""
    payload = json.loads(action.payload_json)
    if action.kind in SUPERSEDING:  # replacement, correction (issuer.lifecycle.supersede)
        return supersede_approved(
            session,
            kind=action.kind,
            number=action.target,
            office_id=who.office_id,
            payload=payload,
            actor=who.actor,
            approval=approval,
            signer=signer,
            settings=settings,
            now=now,
        )
    if action.kind == "revoke":
        cert = lock_certificate(session, action.target, who.office_id)
        list_id = change_status(
            session,
            cert,
            change="revoke",
            reason_code=payload["reason_code"],
            actor=who.actor,
            detail={**payload, **approval},
            now=now,
        )
        return [list_id], {"certificate_number": action.target}
    if action.kind == "restrict":
        return apply_restriction(
            session, payload=payload, actor=who.actor, approval=approval, now=now
        )
    if action.kind == "unrestrict":
        return apply_removal(
            session,
            restriction_id=int(action.target),
            payload=payload,
            actor=who.actor,
            approval=approval,
            now=now,
        )
    raise Conflict("Unknown kind of request", "未知的申请类型")  # pragma: no cover


def approve(
    session: Session,
    *,
    action_id: int,
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> dict[str, Any]:
    """Approve pending action ``action_id``: it takes effect in the same transaction.

    Raises NotFound, Conflict (already decided, or the target's state no longer allows
    the act: then nothing changes and the request stays pending, to be rejected),
    Forbidden (the requester approving their own request, an approver the requester
    created, changed or issued a key to, anyone but an admin approving an account change,
    or the static key).
    """
    now = as_utc(now)
    approver = _needs_officer(who)

    with write(session):
        action = _lock_pending(session, action_id, who)
        # two-person rules: not the requester, nor an account the requester made or changed
        refuse_ineligible_approver(
            session,
            approver_id=approver,
            requester_id=action.requested_by,
            requested_at=action.requested_at,
            kind=action.kind,
        )
        approval = {
            "pending_action": action.id,
            "requested_by": action.requested_by,
            "approved_by": approver,
        }
        if action.kind in ACCOUNT_KINDS:  # issuer.lifecycle.account_requests
            list_ids: list[int] = []
            result = apply_account_change(
                session,
                kind=action.kind,
                target=action.target,
                payload=json.loads(action.payload_json),
                office_id=action.office_id,
                requested_by=action.requested_by,
                actor=who.actor,
                approval=approval,
                settings=settings,
                now=now,
            )
        else:
            list_ids, result = _take_effect(
                session,
                action,
                who=who,
                approval=approval,
                signer=signer,
                settings=settings,
                now=now,
            )
        action.decision, action.decided_by, action.decided_at = "approved", approver, now
        session.flush()
        audit.append(
            session,
            actor=who.actor,
            action="pending_action.approved",
            subject=str(action.id),
            detail={"pending_action": action.id, "kind": action.kind, "target": action.target},
            at=now,
        )

    publish(session, list_ids, signer=signer, settings=settings, now=now)
    if action.kind in ("restrict", "unrestrict"):
        publish_restrictions_after_change(session, signer=signer, settings=settings, now=now)
    out = pending_json(session, action)
    if action.kind == "revoke":
        result = {"certificate": certificate_state(session, action.target)}
    session.rollback()
    out["result"] = result
    return out


def reject(
    session: Session,
    *,
    action_id: int,
    who: Principal,
    now: dt.datetime,
    reason: str | None = None,
) -> dict[str, Any]:
    """Reject pending action ``action_id`` (or withdraw one's own): nothing else changes.
    ``reason`` (already validated: at most ``REASON_MAX`` characters) is kept on the
    action, where the requester reads it, and in the audit record.

    Raises NotFound, Conflict (already decided), Forbidden (static key).
    """
    now = as_utc(now)
    officer = _needs_officer(who)

    with write(session):
        action = _lock_pending(session, action_id, who)
        action.decision, action.decided_by, action.decided_at = "rejected", officer, now
        action.decision_reason = reason
        session.flush()
        audit.append(
            session,
            actor=who.actor,
            action="pending_action.rejected",
            subject=str(action.id),
            detail={
                "pending_action": action.id,
                "kind": action.kind,
                "target": action.target,
                "withdrawn": action.requested_by == officer,
                "reason": reason,
            },
            at=now,
        )
    out = pending_json(session, action)
    session.rollback()
    out["result"] = None
    return out


def list_pending(
    session: Session,
    *,
    who: Principal,
    state: str = "pending",
    limit: int = 100,
    mine: bool = False,
) -> list[dict[str, Any]]:
    """Return the office's pending actions (``state``: pending | decided | all), newest
    last; with ``mine``, only those ``who`` requested (how a requester learns the outcome).
    """
    q = sa.select(PendingAction).where(_PENDING.c.office_id == who.office_id)
    if mine:
        q = q.where(_PENDING.c.requested_by == (who.officer_id or -1))
    if state == "pending":
        q = q.where(_PENDING.c.decision.is_(None))
    elif state == "decided":
        q = q.where(_PENDING.c.decision.is_not(None))
    rows = session.execute(q.order_by(_PENDING.c.id.desc()).limit(limit)).scalars().all()
    out = [pending_json(session, a) for a in reversed(rows)]
    session.rollback()
    return out
