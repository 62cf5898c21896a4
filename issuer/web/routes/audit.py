"""The audit trail: sign a checkpoint of its head, and check the whole trail (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from credential import rfc3339
from issuer.audit.check import ChainBroken, verify_audit, write_checkpoint
from issuer.errors import Conflict, Forbidden
from issuer.web.deps import Admin, DbSession, Now, Principal, Settings, SignerDep
from issuer.web.routes._common import AUTH, problems

router = APIRouter()


class CheckpointOut(BaseModel):
    """A signed statement of the audit chain's head."""

    id: int
    seq: int
    hash: str
    at: str
    kid: str
    jws: str


class AuditProblemOut(BaseModel):
    code: str
    seq: int | None
    message_en: str
    message_zh: str
    checkpoint_id: int | None = None


class AuditReportOut(BaseModel):
    """The outcome of checking the whole audit trail (see issuer.audit.check)."""

    ok: bool
    records_checked: int
    first_bad_seq: int | None
    reason: str | None
    message_en: str
    message_zh: str
    latest_checkpoint_seq: int | None
    checkpoints_checked: int
    head_seq: int | None
    problems: list[AuditProblemOut]


def _own_office(who: Principal, office_id: str) -> None:
    if who.office_id != office_id:
        raise Forbidden(
            "Only this office's admins may do that",
            "只有本机构的管理员可以执行此操作",
        )


@router.post(
    "/api/v1/audit/checkpoints",
    status_code=201,
    response_model=CheckpointOut,
    responses={**AUTH, **problems(409)},
    summary="Sign a checkpoint of the audit chain's head",
)
def create_checkpoint(
    session: DbSession, who: Admin, signer: SignerDep, settings: Settings, now: Now
) -> CheckpointOut:
    _own_office(who, settings.office_id)
    try:
        cp = write_checkpoint(session, signer=signer, office_id=settings.office_id, now=now)
    except ChainBroken as exc:
        raise Conflict(
            "The audit chain does not hold; no checkpoint signed",
            "审计链不完整，未签署检查点",
            exc.report.message_en,
            exc.report.message_zh,
        ) from None
    assert cp.id is not None
    return CheckpointOut(
        id=cp.id,
        seq=cp.audit_seq,
        hash=cp.audit_hash,
        at=rfc3339(cp.at),
        kid=signer.kid,
        jws=cp.signed_jws,
    )


@router.get(
    "/api/v1/audit/verify",
    response_model=AuditReportOut,
    responses=AUTH,
    summary="Check the whole audit trail: changed, missing or forged records and checkpoints",
)
def verify_trail(
    request: Request, session: DbSession, who: Admin, settings: Settings
) -> AuditReportOut:
    _own_office(who, settings.office_id)
    keys = request.app.state.public_keys_provider()
    report = verify_audit(session, public_keys=keys, office_id=settings.office_id)
    return AuditReportOut.model_validate(report.to_json())
