"""The audit trail: sign a checkpoint of its head, check the whole trail, and browse or
export its records by officer, action, subject and date (admins)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from credential import rfc3339
from issuer.audit import browse
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


class AuditRecordOut(BaseModel):
    """One audit record: sequence number, time, who, what, on what, details."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class AuditRecordPage(BaseModel):
    """Records newest first; ask again with ``before`` for older ones (None: no more)."""

    records: list[AuditRecordOut]
    before: int | None


def _filter(
    actor: str | None,
    action: str | None,
    subject: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> browse.AuditFilter:
    def aware(t: dt.datetime | None) -> dt.datetime | None:
        # A time without a zone is Beijing time, as the office's clerks read clocks.
        if t is None or t.tzinfo is not None:
            return t
        return t.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))

    return browse.AuditFilter(actor, action, subject, aware(since), aware(until))


_Text = Annotated[str | None, Query(max_length=200)]
_When = Annotated[dt.datetime | None, Query(description="RFC 3339; no zone means Beijing time")]


@router.get(
    "/api/v1/audit/records",
    response_model=AuditRecordPage,
    responses=AUTH,
    summary="Audit records, newest first, filtered by officer, action, subject and time",
    description=(
        "`actor` e.g. `officer:3`; `action` exact or a family ending in `.*` "
        "(`certificate.*`); `subject` exact (a certificate number, `officer:3`, a batch id); "
        "`since` inclusive, `until` exclusive."
    ),
)
def read_records(
    session: DbSession,
    who: Admin,
    settings: Settings,
    actor: _Text = None,
    action: _Text = None,
    subject: _Text = None,
    since: _When = None,
    until: _When = None,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=browse.MAX_LIMIT)] = 50,
) -> AuditRecordPage:
    _own_office(who, settings.office_id)
    page = browse.find_records(
        session, flt=_filter(actor, action, subject, since, until), before=before, limit=limit
    )
    return AuditRecordPage(
        records=[AuditRecordOut.model_validate(r.to_json()) for r in page.records],
        before=page.before,
    )


@router.get(
    "/api/v1/audit/records.csv",
    responses={**AUTH, 200: {"content": {"text/csv": {}}}},
    response_class=StreamingResponse,
    summary="The same records as CSV (UTF-8 with BOM, formula-guarded), all pages",
)
def export_records(
    session: DbSession,
    who: Admin,
    settings: Settings,
    now: Now,
    actor: _Text = None,
    action: _Text = None,
    subject: _Text = None,
    since: _When = None,
    until: _When = None,
) -> StreamingResponse:
    _own_office(who, settings.office_id)
    flt = _filter(actor, action, subject, since, until)
    name = f"audit-{now.strftime('%Y%m%d-%H%M%S')}.csv"
    return StreamingResponse(
        browse.records_csv(session, flt=flt),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
