"""Suspend, reinstate, revoke; pending actions (maker-checker); the office's settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from credential import beijing_date
from issuer import lifecycle
from issuer.fields.decisions import rejection_reason
from issuer.web.deps import Admin, DbSession, Now, Settings, SignerDep, Supervisor
from issuer.web.routes._common import AUTH, problems

router = APIRouter()
Number = Annotated[str, Path(pattern=r"^[0-9]{17}$", description="certificate number")]
ActionId = Annotated[int, Path(ge=1, le=2**31 - 1)]

_BOUND = 2000
_REASONS = ", ".join(f"`{k}` ({v})" for k, v in lifecycle.REASON_CODES.items())


class DecisionBody(BaseModel):
    """The grounds of a suspension, reinstatement or revocation."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "reason_code": "misconduct",
                "decision_date": "2026-11-20",
                "legal_basis": "《教师资格条例》第十九条",
            }
        },
    )

    reason_code: str | None = Field(default=None, max_length=_BOUND, description=_REASONS)
    decision_date: str | None = Field(
        default=None, max_length=_BOUND, description="YYYY-MM-DD, not in the future"
    )
    legal_basis: str | None = Field(default=None, max_length=_BOUND, description="1-500 characters")


class StatusRefOut(BaseModel):
    uri: str
    idx: int


class CertificateState(BaseModel):
    """A certificate's status after a change."""

    certificate_number: str
    version: int
    status: Literal["valid", "suspended", "revoked"]
    status_reason: str | None
    status_changed_at: str | None
    status_list: StatusRefOut


class PendingActionOut(BaseModel):
    """A request awaiting (or past) a second supervisor's decision (a second admin's for
    ``create_officer``, ``change_role`` and ``maker_checker_off``)."""

    id: int
    kind: Literal[
        "revoke",
        "restrict",
        "unrestrict",
        "replace",
        "correct",
        "create_officer",
        "change_role",
        "maker_checker_off",
    ]
    target: str
    payload: dict[str, Any]
    requested_by: str | None
    requested_at: str
    decision: Literal["approved", "rejected"] | None
    decided_by: str | None
    decided_at: str | None
    decision_reason: str | None = None
    facts: dict[str, Any] | None = Field(
        default=None,
        description="What the request is about: the certificate's holder (name, masked "
        "identity number, qualification, subject, status, office), the person to restrict, "
        "or the entry to lift",
    )
    result: dict[str, Any] | None = None


class RejectBody(BaseModel):
    """Why the request is rejected (optional; the requester reads it)."""

    reason: str | None = Field(default=None, max_length=_BOUND, description="1-500 characters")


class RevocationOut(BaseModel):
    """``pending`` (202): awaiting approval; ``done`` (200): maker-checker is off."""

    state: Literal["pending", "done"]
    pending_action: PendingActionOut | None
    certificate: CertificateState | None


class OfficeSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    maker_checker: bool


class OfficeSettingsOut(BaseModel):
    """``done`` (200): the switch is as asked; ``pending`` (202): switching maker-checker
    off awaits a second admin (``maker_checker`` is still on)."""

    state: Literal["pending", "done"]
    office_id: str
    maker_checker: bool
    pending_action: PendingActionOut | None


def _decision(body: DecisionBody, now: Any) -> lifecycle.Decision:
    return lifecycle.validate_decision(body.model_dump(), today=beijing_date(now))


@router.post(
    "/api/v1/certificates/{number}/suspend",
    response_model=CertificateState,
    responses={**AUTH, **problems(404, 409)},
    summary="Suspend a valid certificate (under investigation; can be reinstated)",
)
def suspend(
    number: Number,
    body: DecisionBody,
    session: DbSession,
    who: Supervisor,
    signer: SignerDep,
    settings: Settings,
    now: Now,
) -> dict[str, Any]:
    return lifecycle.suspend(
        session,
        number=number,
        decision=_decision(body, now),
        who=who,
        signer=signer,
        settings=settings,
        now=now,
    )


@router.post(
    "/api/v1/certificates/{number}/reinstate",
    response_model=CertificateState,
    responses={**AUTH, **problems(404, 409)},
    summary="Reinstate a suspended certificate",
)
def reinstate(
    number: Number,
    body: DecisionBody,
    session: DbSession,
    who: Supervisor,
    signer: SignerDep,
    settings: Settings,
    now: Now,
) -> dict[str, Any]:
    return lifecycle.reinstate(
        session,
        number=number,
        decision=_decision(body, now),
        who=who,
        signer=signer,
        settings=settings,
        now=now,
    )


@router.post(
    "/api/v1/certificates/{number}/revocations",
    response_model=RevocationOut,
    status_code=202,
    responses={
        200: {"model": RevocationOut, "description": "Revoked at once (maker-checker off)"},
        **AUTH,
        **problems(404, 409),
    },
    summary="Revoke (final): awaits a second supervisor unless maker-checker is off",
)
def revoke(
    number: Number,
    body: DecisionBody,
    session: DbSession,
    who: Supervisor,
    signer: SignerDep,
    settings: Settings,
    now: Now,
    response: Response,
) -> dict[str, Any]:
    out = lifecycle.request_revocation(
        session,
        number=number,
        decision=_decision(body, now),
        who=who,
        signer=signer,
        settings=settings,
        now=now,
    )
    response.status_code = 202 if out["state"] == "pending" else 200
    return out


@router.get(
    "/api/v1/pending-actions",
    response_model=list[PendingActionOut],
    responses=AUTH,
    summary="The office's requests awaiting (or past) approval",
)
def read_pending(
    session: DbSession,
    who: Supervisor,
    state: Annotated[Literal["pending", "decided", "all"], Query()] = "pending",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    mine: Annotated[bool, Query(description="Only the caller's own requests")] = False,
) -> list[dict[str, Any]]:
    return lifecycle.list_pending(session, who=who, state=state, limit=limit, mine=mine)


@router.post(
    "/api/v1/pending-actions/{action_id}/approve",
    response_model=PendingActionOut,
    responses={**AUTH, **problems(404, 409)},
    summary="Approve: a second supervisor (an admin for account changes), not the requester "
    "nor an account the requester made or changed; it takes effect at once",
)
def approve(
    action_id: ActionId,
    session: DbSession,
    who: Supervisor,
    signer: SignerDep,
    settings: Settings,
    now: Now,
) -> dict[str, Any]:
    return lifecycle.approve(
        session, action_id=action_id, who=who, signer=signer, settings=settings, now=now
    )


@router.post(
    "/api/v1/pending-actions/{action_id}/reject",
    response_model=PendingActionOut,
    responses={**AUTH, **problems(404, 409)},
    summary="Reject (or, by the requester, withdraw): nothing else changes",
)
def reject(
    action_id: ActionId,
    session: DbSession,
    who: Supervisor,
    now: Now,
    body: RejectBody | None = None,
) -> dict[str, Any]:
    reason = None
    if body is not None and body.reason is not None:
        reason = rejection_reason(body.reason)
    return lifecycle.reject(session, action_id=action_id, who=who, now=now, reason=reason)


@router.put(
    "/api/v1/office/settings",
    response_model=OfficeSettingsOut,
    responses={
        202: {"model": OfficeSettingsOut, "description": "Switching off awaits a second admin"},
        **AUTH,
        **problems(409),
    },
    summary="Switch maker-checker on (at once) or off (a second admin approves); audited",
)
def put_office_settings(
    body: OfficeSettingsIn,
    session: DbSession,
    who: Admin,
    settings: Settings,
    now: Now,
    response: Response,
) -> dict[str, Any]:
    out = lifecycle.set_maker_checker(
        session, value=body.maker_checker, who=who, settings=settings, now=now
    )
    response.status_code = 202 if out["state"] == "pending" else 200
    return out
