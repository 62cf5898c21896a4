"""Issuing and reading certificates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Response

from issuer import issuance
from issuer.issuance import CertificateCreate, CertificatePublic, printing
from issuer.web.deps import Clerk, DbSession, DocumentKey, Now, Settings, SignerDep
from issuer.web.routes._common import AUTH, problems, stored_answer

router = APIRouter()


@router.post(
    "/api/v1/certificates",
    status_code=201,
    response_model=CertificatePublic,
    responses={**AUTH, **problems(409)},
    summary="Issue one certificate",
)
def create_certificate(
    body: CertificateCreate,
    session: DbSession,
    who: Clerk,
    signer: SignerDep,
    settings: Settings,
    now: Now,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=200)],
) -> Response:
    stored = issuance.issue_certificate_idempotent(
        session,
        key=idempotency_key,
        principal=who.actor,
        request=body,
        signer=signer,
        settings=settings,
        actor=who.actor,
        now=now,
    )
    return stored_answer(stored)


@router.get(
    "/api/v1/certificates/{number}",
    response_model=CertificatePublic,
    responses={**AUTH, **problems(404)},
    summary="One certificate with its tokens",
)
def read_certificate(
    number: Annotated[str, Path(pattern=r"^[0-9]{17}$")],
    session: DbSession,
    who: Clerk,
    settings: Settings,
) -> CertificatePublic:
    return issuance.get_certificate(
        session, number=number, office_id=who.office_id, settings=settings
    )


@router.get(
    "/api/v1/certificates/{number}/pdf",
    response_class=Response,
    responses={
        **AUTH,
        **problems(404, 422, 503),
        200: {"content": {"application/pdf": {}}, "description": "The signed certificate PDF"},
    },
    summary="The signed, printable PDF of a certificate",
)
def read_certificate_pdf(
    number: Annotated[str, Path(pattern=r"^[0-9]{17}$")],
    session: DbSession,
    who: Clerk,
    settings: Settings,
    document_key: DocumentKey,
) -> Response:
    row = issuance.certificate_row(session, number=number, office_id=who.office_id)
    pdf = printing.certificate_pdf(row, settings=settings, document_key=document_key())
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{number}.pdf"'},
    )
