"""Decisions that change a certificate's status at once: suspend, reinstate, and revoke
where the office has switched maker-checker off.

A decision's grounds are a :class:`Decision` (reason code, decision date, legal basis);
the state machine itself is ``issuer.lifecycle.transitions``. A revocation that a second
supervisor must approve goes through ``issuer.lifecycle.approvals``, which calls
:func:`revoke` only when maker-checker is off.

Each decision is ONE write transaction (certificate, status list entry, audit record,
event), after which the status list is re-signed, so the change is public within the same
request.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from credential import Signer, as_utc
from issuer.accounts import Principal
from issuer.db import write
from issuer.fields.application import FieldError, ValidationFailed
from issuer.lifecycle.transitions import (
    certificate_state,
    change_status,
    lock_certificate,
    publish,
)
from issuer.settings import IssuerSettings

__all__ = [
    "LEGAL_BASIS_MAX",
    "REASON_CODES",
    "Decision",
    "parse_date",
    "reinstate",
    "revoke",
    "suspend",
    "text_field",
    "validate_decision",
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


# --- decisions taking effect at once -------------------------------------------------------


def _decide(
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
    now = as_utc(now)
    with write(session):
        cert = lock_certificate(session, number, who.office_id)
        list_id = change_status(
            session,
            cert,
            change=change,
            reason_code=decision.reason_code,
            actor=who.actor,
            detail={**decision.as_json(), **(detail or {})},
            now=now,
        )
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
    return _decide(
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
    return _decide(
        session,
        change="reinstate",
        number=number,
        decision=decision,
        who=who,
        signer=signer,
        settings=settings,
        now=now,
    )


def revoke(
    session: Session,
    *,
    number: str,
    decision: Decision,
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Revoke a valid or suspended certificate at once, ``detail`` added to its audit
    record; raises NotFound, Conflict.

    Only for an office with maker-checker off: a revocation is requested through
    ``issuer.lifecycle.approvals.request_revocation``, which decides.
    """
    return _decide(
        session,
        change="revoke",
        number=number,
        decision=decision,
        who=who,
        signer=signer,
        settings=settings,
        now=now,
        detail=detail,
    )
