"""The office's side of the holder pages (JSON, in the OpenAPI document; docs/holder.md):
``POST /api/v1/certificates/{number}/claim-code`` makes the teacher's claim code (shown
once), ``GET /api/v1/certificates/{number}/copies`` lists the purpose copies made of a
certificate.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel

from credential import rfc3339
from issuer import holder
from issuer.web.deps import Clerk, DbSession, Now, Settings
from issuer.web.routes._common import AUTH, problems

__all__ = ["ClaimCodeIssued", "PurposeCopy", "router"]

router = APIRouter()


class ClaimCodeIssued(BaseModel):
    """A new claim code: give it to the teacher now; it is not shown again."""

    certificate_number: str
    claim_code: str
    expires_at: str
    holder_url: str
    replaced_previous: bool


class PurposeCopy(BaseModel):
    version: int
    purpose: str
    expires_at: str
    created_at: str
    token_sha256: str


@router.post(
    "/api/v1/certificates/{number}/claim-code",
    status_code=201,
    response_model=ClaimCodeIssued,
    responses={**AUTH, **problems(404)},
    summary="Make the teacher's claim code for the holder pages (shown once)",
    description=(
        "Returns a new claim code for the person holding this certificate; it opens all "
        "and only that person's certificates on the holder pages (`/holder`). Only a "
        "keyed hash is stored; a new code replaces the previous one. Audited."
    ),
)
def make_claim_code(
    number: Annotated[str, PathParam(pattern=r"^[0-9]{17}$")],
    session: DbSession,
    who: Clerk,
    settings: Settings,
    now: Now,
) -> Response:
    made = holder.issue_claim_code(
        session,
        number=number,
        office_id=who.office_id,
        settings=settings,
        actor=who.actor,
        now=now,
    )
    body = ClaimCodeIssued(
        certificate_number=made.certificate_number,
        claim_code=made.claim_code,
        expires_at=rfc3339(made.expires_at),
        holder_url=settings.holder_page_url,
        replaced_previous=made.replaced,
    )
    return Response(
        body.model_dump_json(),
        status_code=201,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/api/v1/certificates/{number}/copies",
    response_model=list[PurposeCopy],
    responses={**AUTH, **problems(404)},
    summary="The purpose-bound copies the teacher made of a certificate",
)
def list_copies(
    number: Annotated[str, PathParam(pattern=r"^[0-9]{17}$")],
    session: DbSession,
    who: Clerk,
) -> list[PurposeCopy]:
    # 404 for an unknown number and for another office's certificate
    return [PurposeCopy(**c) for c in holder.copies_of(session, number, office_id=who.office_id)]
