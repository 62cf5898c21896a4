"""Suspend, reinstate and revoke certificates, with maker-checker (issue 3 item 5).

State machine: ``valid -> suspended -> valid`` (reinstate); ``valid | suspended ->
revoked``, which is final: anything asked of a revoked certificate is a Conflict.

Each change is ONE transaction: the certificate's status columns, its status list entry
(SUSPENDED=2, INVALID=1, VALID=0) with the list's ``revision`` bumped, the audit record and
the feed event commit together or not at all. After the commit the list is re-signed and
the token cached (:func:`issuer.issuance.publish_status_list`), so the change is public
within the same request.

Revocations (and restricted-list entries, ``issuer.lifecycle.restrictions``) take effect only when a
second supervisor approves a :class:`~issuer.db.models.PendingAction`, unless the office has
switched maker-checker off (:func:`set_maker_checker`, itself audited). The approver must
be a different officer than the requester; the requester may withdraw (reject) their own
request. Maker-checker needs personal accounts: the static bootstrap key can neither
request nor approve (it can act at once only where maker-checker is off).

Lock order (PostgreSQL): pending action row, certificate rows, status list rows,
``audit_head``, ``event_head`` (see ``issuer.audit.events``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import Signer, StatusList, StatusValue
from issuer import issuance as services
from issuer.accounts import Principal
from issuer.audit import chain as audit
from issuer.audit import events
from issuer.db.engine import begin_write
from issuer.db.models import Certificate, Office, Officer, PendingAction, StatusListRow
from issuer.errors import Conflict, Forbidden, NotFound
from issuer.fields.application import FieldError, ValidationFailed
from issuer.settings import IssuerSettings

__all__ = [
    "LEGAL_BASIS_MAX",
    "REASON_CODES",
    "Decision",
    "approve",
    "certificate_state",
    "change_status",
    "create_pending",
    "list_pending",
    "lock_status_lists",
    "maker_checker_on",
    "parse_date",
    "pending_json",
    "publish",
    "reinstate",
    "reject",
    "request_revocation",
    "set_maker_checker",
    "suspend",
    "text_field",
    "validate_decision",
    "write",
]

# The reason codes (documented in the OpenAPI description of every decision body): what
# the decision was about, without its details, which stay in ``legal_basis`` on the
# issuer's side and never reach events or feeds.
REASON_CODES: dict[str, str] = {
    "misconduct": "违反职业道德",
    "fraud_in_application": "申请材料弄虚作假",
    "criminal_conviction": "受到刑事处罚",
    "administrative_error": "认定工作失误",
    "other": "其他",
}
LEGAL_BASIS_MAX = 500

T = TypeVar("T")
log = logging.getLogger("jiaozi.issuer")


# --- input ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """The grounds of a status change: reason code, decision date, legal basis."""

    reason_code: str
    decision_date: dt.date
    legal_basis: str

    def as_json(self) -> dict[str, str]:
        return {
            "reason_code": self.reason_code,
            "decision_date": self.decision_date.isoformat(),
            "legal_basis": self.legal_basis,
        }


# Control, surrogate, private-use and unassigned characters: never part of a legal text.
_REFUSED = frozenset({"Cc", "Cs", "Co", "Cn"})


def text_field(
    errors: list[FieldError],
    field: str,
    value: object,
    *,
    max_len: int,
    label_zh: str,
    required: bool = True,
) -> str | None:
    """Return ``value`` NFC-normalised and stripped, or None after adding its FieldError.

    Control characters are refused; an absent optional value is returned as ``""``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append(FieldError(field, "required", "must not be empty", f"{label_zh}不能为空"))
            return None
        return ""
    if not isinstance(value, str):
        errors.append(FieldError(field, "type", "must be text", f"{label_zh}应为文本"))
        return None
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > max_len:
        errors.append(
            FieldError(
                field,
                "too_long",
                f"must be at most {max_len} characters, got {len(text)}",
                f"{label_zh}最多{max_len}个字符，实际为{len(text)}个",
            )
        )
        return None
    if any(unicodedata.category(ch) in _REFUSED and ch not in "\n\t" for ch in text):
        errors.append(
            FieldError(
                field,
                "control_character",
                "contains a control character",
                f"{label_zh}含有控制字符",
            )
        )
        return None
    return text


def parse_date(
    errors: list[FieldError], field: str, value: object, *, today: dt.date, label_zh: str
) -> dt.date | None:
    """Return ``value`` (YYYY-MM-DD, not after ``today``) or None after adding its error."""
    if value is None or value == "":
        errors.append(FieldError(field, "required", "must not be empty", f"{label_zh}不能为空"))
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        day = dt.date.fromisoformat(value)
    except ValueError:
        errors.append(
            FieldError(
                field,
                "date_format",
                "must be a date YYYY-MM-DD",
                f"{label_zh}应为YYYY-MM-DD格式的日期",
            )
        )
        return None
    if day > today:
        errors.append(
            FieldError(field, "in_future", "must not be in the future", f"{label_zh}不能晚于今天")
        )
        return None
    if day < dt.date(1950, 1, 1):
        errors.append(FieldError(field, "too_early", "is implausibly early", f"{label_zh}过早"))
        return None
    return day


def _reason(errors: list[FieldError], value: object) -> str | None:
    if value in REASON_CODES:
        assert isinstance(value, str)
        return value
    codes = ", ".join(REASON_CODES)
    errors.append(
        FieldError(
            "reason_code",
            "unknown_reason_code",
            f"must be one of: {codes}",
            f"原因代码应为以下之一：{codes}",
        )
    )
    return None


def validate_decision(body: Mapping[str, object], *, today: dt.date) -> Decision:
    """Return the Decision in ``body``; raises ValidationFailed listing every bad field."""
    errors: list[FieldError] = []
    reason = _reason(errors, body.get("reason_code"))
    day = parse_date(
        errors, "decision_date", body.get("decision_date"), today=today, label_zh="决定日期"
    )
    basis = text_field(
        errors, "legal_basis", body.get("legal_basis"), max_len=LEGAL_BASIS_MAX, label_zh="法律依据"
    )
    if errors:
        raise ValidationFailed(errors)
    assert reason is not None and day is not None and basis is not None
    return Decision(reason, day, basis)


# --- transactions --------------------------------------------------------------------------


def write(session: Session, work: Callable[[], T]) -> T:
    """Run ``work`` in one write transaction (``BEGIN IMMEDIATE`` on SQLite) and commit.

    Any read transaction the request already opened (the API key lookup) is ended first,
    so the write lock is taken at BEGIN. On any error everything is rolled back.
    """
    if session.in_transaction():
        session.rollback()
    begin_write(session)
    try:
        result = work()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return result


def publish(
    session: Session,
    list_ids: Iterable[int],
    *,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> None:
    """Re-sign and cache the given status lists (after the change committed).

    Best effort: the change is already committed, and a list whose cache is behind its
    revision is re-signed on the next GET, so a failure here is logged, not raised.
    """
    for list_id in sorted(set(list_ids)):
        try:
            services.publish_status_list(
                session, list_id=list_id, signer=signer, settings=settings, now=now
            )
        except Exception:  # the change is committed; GET re-signs (revision is ahead)
            session.rollback()
            log.exception("re-signing status list %s after a change failed", list_id)


_CERT: sa.Table = Certificate.__table__  # type: ignore[attr-defined]
_LIST: sa.Table = StatusListRow.__table__  # type: ignore[attr-defined]
_PENDING: sa.Table = PendingAction.__table__  # type: ignore[attr-defined]


def _no_certificate(number: str) -> NotFound:
    return NotFound(
        "No such certificate",
        "证书不存在",
        f"No certificate numbered {number}.",
        "没有该号码的证书。",
    )


def _lock_certificate(session: Session, number: str, office_id: str | None) -> Certificate:
    cert = session.execute(
        sa.select(Certificate)
        .where(_CERT.c.certificate_number == number)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if cert is None or cert.office_id != office_id:
        raise _no_certificate(number)  # another office's certificate is not revealed
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


# what, from which states, to which state, list value, event type
_CHANGES: dict[str, tuple[frozenset[str], str, StatusValue, str]] = {
    "suspend": (frozenset({"valid"}), "suspended", StatusValue.SUSPENDED, "suspended"),
    "reinstate": (frozenset({"suspended"}), "valid", StatusValue.VALID, "reinstated"),
    "revoke": (frozenset({"valid", "suspended"}), "revoked", StatusValue.INVALID, "revoked"),
}

_NOT_FROM = {
    "suspend": ("Only a valid certificate can be suspended", "只有有效的证书才能暂停"),
    "reinstate": ("Only a suspended certificate can be reinstated", "只有已暂停的证书才能恢复"),
    "revoke": ("A revoked certificate stays revoked", "已撤销的证书不能再次撤销"),
}


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
        title = _NOT_FROM[change]
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
        "status_changed_at": _iso(changed) if changed is not None else None,
        "status_list": {"uri": row.uri, "idx": row.status_idx},
    }


def _iso(at: dt.datetime) -> str:
    at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _now(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC)


def _direct(
    session: Session,
    *,
    change: str,
    number: str,
    decision: Decision,
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    now = _now(now)

    def work() -> int:
        cert = _lock_certificate(session, number, who.office_id)
        return change_status(
            session,
            cert,
            change=change,
            reason_code=decision.reason_code,
            actor=who.actor,
            detail={**decision.as_json(), **(detail or {})},
            now=now,
        )

    list_id = write(session, work)
    publish(session, [list_id], signer=signer, settings=settings, now=now)
    state = certificate_state(session, number)
    session.rollback()
    return state


def suspend(
    session: Session,
    *,
    number: str,
    decision: Decision,
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> dict[str, Any]:
    """Suspend a valid certificate (under investigation); raises NotFound, Conflict."""
    return _direct(
        session,
        change="suspend",
        number=number,
        decision=decision,
        who=who,
        signer=signer,
        settings=settings,
        now=now,
    )


def reinstate(
    session: Session,
    *,
    number: str,
    decision: Decision,
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> dict[str, Any]:
    """Make a suspended certificate valid again; raises NotFound, Conflict."""
    return _direct(
        session,
        change="reinstate",
        number=number,
        decision=decision,
        who=who,
        signer=signer,
        settings=settings,
        now=now,
    )


# --- maker-checker -------------------------------------------------------------------------


def maker_checker_on(session: Session, office_id: str | None) -> bool:
    """Return the office's maker-checker setting (on unless the office switched it off)."""
    if office_id is None:
        return True
    value = session.execute(
        sa.select(Office.__table__.c.maker_checker).where(  # type: ignore[attr-defined]
            Office.__table__.c.id == office_id  # type: ignore[attr-defined]
        )
    ).scalar_one_or_none()
    return True if value is None else bool(value)


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
_HIDDEN = frozenset({"person_ref", "id_hash"})


def pending_json(session: Session, action: PendingAction) -> dict[str, Any]:
    """Return the API form of ``action``."""
    names = dict(
        session.execute(
            sa.select(Officer.__table__.c.id, Officer.__table__.c.username).where(  # type: ignore[attr-defined]
                Officer.__table__.c.id.in_(  # type: ignore[attr-defined]
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
        "requested_at": _iso(action.requested_at),
        "decision": action.decision,
        "decided_by": names.get(action.decided_by) if action.decided_by else None,
        "decided_at": _iso(action.decided_at) if action.decided_at else None,
    }


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
    now = _now(now)
    if not maker_checker_on(session, who.office_id):
        state = _direct(
            session,
            change="revoke",
            number=number,
            decision=decision,
            who=who,
            signer=signer,
            settings=settings,
            now=now,
            detail={"maker_checker": False},
        )
        return {"state": "done", "certificate": state, "pending_action": None}

    def work() -> PendingAction:
        cert = _lock_certificate(session, number, who.office_id)
        if cert.status == "revoked":
            raise Conflict(
                *_NOT_FROM["revoke"],
                f"Certificate {number} is revoked.",
                f"证书{number}已撤销。",
            )
        return create_pending(
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

    action = write(session, work)
    out = pending_json(session, action)
    session.rollback()
    return {"state": "pending", "pending_action": out, "certificate": None}


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
    Forbidden (the requester approving their own request, or the static key).
    """
    from issuer.lifecycle import restrictions

    now = _now(now)
    approver = _needs_officer(who)

    def work() -> tuple[PendingAction, list[int], dict[str, Any]]:
        action = _lock_pending(session, action_id, who)
        if action.requested_by == approver:
            raise Forbidden(
                "The approver must be a different officer than the requester",
                "批准人不能是申请人本人",
                "Maker-checker: a second supervisor must approve.",
                "双人复核：须由另一名审核人员批准。",
            )
        payload = json.loads(action.payload_json)
        approval = {
            "pending_action": action.id,
            "requested_by": action.requested_by,
            "approved_by": approver,
        }
        result: dict[str, Any]
        if action.kind == "revoke":
            cert = _lock_certificate(session, action.target, who.office_id)
            list_ids = [
                change_status(
                    session,
                    cert,
                    change="revoke",
                    reason_code=payload["reason_code"],
                    actor=who.actor,
                    detail={**payload, **approval},
                    now=now,
                )
            ]
            result = {"certificate_number": action.target}
        elif action.kind == "restrict":
            list_ids, result = restrictions.apply_restriction(
                session, payload=payload, actor=who.actor, approval=approval, now=now
            )
        elif action.kind == "unrestrict":
            list_ids, result = restrictions.apply_removal(
                session,
                restriction_id=int(action.target),
                payload=payload,
                actor=who.actor,
                approval=approval,
                now=now,
            )
        else:  # pragma: no cover - only the kinds above are ever created
            raise Conflict("Unknown kind of request", "未知的申请类型")
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
        return action, list_ids, result

    action, list_ids, result = write(session, work)
    publish(session, list_ids, signer=signer, settings=settings, now=now)
    out = pending_json(session, action)
    if action.kind == "revoke":
        result = {"certificate": certificate_state(session, action.target)}
    session.rollback()
    out["result"] = result
    return out


def reject(session: Session, *, action_id: int, who: Principal, now: dt.datetime) -> dict[str, Any]:
    """Reject pending action ``action_id`` (or withdraw one's own): nothing else changes.

    Raises NotFound, Conflict (already decided), Forbidden (static key).
    """
    now = _now(now)
    officer = _needs_officer(who)

    def work() -> PendingAction:
        action = _lock_pending(session, action_id, who)
        action.decision, action.decided_by, action.decided_at = "rejected", officer, now
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
            },
            at=now,
        )
        return action

    action = write(session, work)
    out = pending_json(session, action)
    session.rollback()
    out["result"] = None
    return out


def list_pending(
    session: Session, *, who: Principal, state: str = "pending", limit: int = 100
) -> list[dict[str, Any]]:
    """Return the office's pending actions (``state``: pending | decided | all), newest last."""
    q = sa.select(PendingAction).where(_PENDING.c.office_id == who.office_id)
    if state == "pending":
        q = q.where(_PENDING.c.decision.is_(None))
    elif state == "decided":
        q = q.where(_PENDING.c.decision.is_not(None))
    rows = session.execute(q.order_by(_PENDING.c.id.desc()).limit(limit)).scalars().all()
    out = [pending_json(session, a) for a in reversed(rows)]
    session.rollback()
    return out


def set_maker_checker(
    session: Session,
    *,
    value: bool,
    who: Principal,
    settings: IssuerSettings,
    now: dt.datetime,
) -> dict[str, Any]:
    """Switch the office's maker-checker on or off; audited (even when unchanged)."""
    now = _now(now)
    office_id = who.office_id
    if office_id is None:  # pragma: no cover - admins always act for an office
        raise Forbidden("No office", "没有所属机构")

    def work() -> bool:
        t: sa.Table = Office.__table__  # type: ignore[attr-defined]
        old = session.execute(
            sa.select(t.c.maker_checker).where(t.c.id == office_id).with_for_update(key_share=True)
        ).scalar_one_or_none()
        if old is None:
            # The office of a fresh install (static key) may not have its row yet.
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
            session.execute(sa.update(t).where(t.c.id == office_id).values(maker_checker=value))
        session.flush()
        audit.append(
            session,
            actor=who.actor,
            action="office.settings_changed",
            subject=office_id,
            detail={"office_id": office_id, "maker_checker": {"from": bool(old), "to": value}},
            at=now,
        )
        return bool(old)

    write(session, work)
    return {"office_id": office_id, "maker_checker": value}
