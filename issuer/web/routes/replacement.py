"""Replacement (补发) and correction (换发): a valid certificate's next version, through
maker-checker like a revocation (``issuer.lifecycle.replacement``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from issuer import lifecycle
from issuer.issuance import CertificatePublic
from issuer.web.deps import DbSession, Now, Settings, SignerDep, Supervisor
from issuer.web.routes._common import AUTH, problems, stored_answer
from issuer.web.routes.lifecycle import PendingActionOut

router = APIRouter()
Number = Annotated[str, Path(pattern=r"^[0-9]{17}$", description="certificate number")]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=200)]

_BOUND = 1000
_REASONS = ", ".join(f"`{k}` ({v[1]})" for k, v in lifecycle.REPLACEMENT_REASONS.items())


class ReplacementBody(BaseModel):
    """Why a replacement (the same facts, the next version) is asked for."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"reason_code": "lost_document"}}
    )

    reason_code: str | None = Field(default=None, max_length=_BOUND, description=_REASONS)
    photo: str | None = Field(
        default=None,
        max_length=4 * 1024 * 1024,
        description="a new holder's photo for the new version (base64 of a JPEG or PNG, the"
        " rules of issuing); absent: the certificate's photo is kept",
    )


class CorrectionBody(BaseModel):
    """The corrected facts: only the fields that change (validated as when issuing).

    ``sex``, ``qualification_type`` and ``certified_on`` are part of the number or of the
    decision and are refused (``not_correctable``); an empty ``ethnicity`` removes it.
    """

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"name": "吴鸣", "subject": "思想政治"}}
    )

    name: str | None = Field(default=None, max_length=_BOUND, description="姓名")
    birth_date: str | None = Field(default=None, max_length=_BOUND, description="YYYY-MM-DD")
    ethnicity: str | None = Field(default=None, max_length=_BOUND, description="民族")
    id_type: str | None = Field(default=None, max_length=_BOUND)
    id_number: str | None = Field(default=None, max_length=_BOUND)
    subject: str | None = Field(default=None, max_length=_BOUND, description="任教学科")
    sex: str | None = Field(default=None, max_length=_BOUND, description="not correctable")
    qualification_type: str | None = Field(
        default=None, max_length=_BOUND, description="not correctable"
    )
    certified_on: str | None = Field(default=None, max_length=_BOUND, description="not correctable")


class SupersedeOut(BaseModel):
    """``pending`` (202): awaiting a second supervisor; ``done`` (200): the new version
    (maker-checker off)."""

    state: Literal["pending", "done"]
    pending_action: PendingActionOut | None
    certificate: CertificatePublic | None = None


_RESPONSES = {
    200: {"model": SupersedeOut, "description": "The new version (maker-checker off)"},
    **AUTH,
    **problems(404, 409),
}


@router.post(
    "/api/v1/certificates/{number}/replacement",
    response_model=SupersedeOut,
    status_code=202,
    responses=_RESPONSES,
    summary="Replace a lost or damaged certificate (补发): same facts, next version",
)
def replace(
    number: Number,
    body: ReplacementBody,
    session: DbSession,
    who: Supervisor,
    signer: SignerDep,
    settings: Settings,
    now: Now,
    idempotency_key: IdempotencyKey,
) -> Response:
    stored = lifecycle.request_replacement(
        session,
        number=number,
        reason_code=body.reason_code,
        photo=body.photo,
        keyed=lifecycle.Keyed(who.actor, idempotency_key),
        who=who,
        signer=signer,
        settings=settings,
        now=now,
    )
    return stored_answer(stored)


@router.post(
    "/api/v1/certificates/{number}/correction",
    response_model=SupersedeOut,
    status_code=202,
    responses=_RESPONSES,
    summary="Correct changed facts (换发): corrected facts, same number, next version",
)
def correct(
    number: Number,
    body: CorrectionBody,
    session: DbSession,
    who: Supervisor,
    signer: SignerDep,
    settings: Settings,
    now: Now,
    idempotency_key: IdempotencyKey,
) -> Response:
    stored = lifecycle.request_correction(
        session,
        number=number,
        changes=body.model_dump(exclude_unset=True),
        keyed=lifecycle.Keyed(who.actor, idempotency_key),
        who=who,
        signer=signer,
        settings=settings,
        now=now,
    )
    return stored_answer(stored)
