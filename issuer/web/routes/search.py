"""Finding a certificate and its record (issue 13 point 3), for any officer of the office.

``GET /api/v1/certificates`` searches by number, name with birth date, batch and status;
``POST /api/v1/certificates/search`` takes the same criteria in a JSON body and is the
only way to search by identity number: a query string lands in access logs and browser
histories, a body does not. A name and birth date are personal data too: clients that
can should send them in the body as well. ``GET /api/v1/certificates/{number}/record`` is
everything about one certificate. The rules and the audit records of person searches
are ``issuer.search``'s.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from issuer import search
from issuer.fields import FieldError, ValidationFailed
from issuer.search import CertificateRecord, Page
from issuer.web.deps import Clerk, DbSession, Now, Settings
from issuer.web.routes._common import AUTH, problems

router = APIRouter()

_BOUND = 200


class SearchIn(BaseModel):
    """A search's criteria, all optional and combined (every one given must match)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"id_type": "resident_id", "id_number": "110105197609062469"}
        },
    )

    number: str | None = Field(default=None, max_length=_BOUND, description="17 digits or a prefix")
    name: str | None = Field(default=None, max_length=_BOUND, description="only with birth_date")
    birth_date: str | None = Field(default=None, max_length=_BOUND, description="YYYY-MM-DD")
    id_type: str | None = Field(default=None, max_length=_BOUND, description="resident_id, ...")
    id_number: str | None = Field(default=None, max_length=_BOUND, description="exact")
    batch: int | None = Field(default=None, description="a batch id")
    status: str | None = Field(
        default=None, max_length=_BOUND, description="valid|suspended|revoked"
    )
    limit: int = Field(default=search.DEFAULT_LIMIT, description=f"1-{search.MAX_LIMIT}")
    cursor: str | None = Field(default=None, max_length=_BOUND, description="a page's next_cursor")


def _search(body: SearchIn, session: DbSession, who: Clerk, settings: Settings, now: Now) -> Page:
    assert who.office_id is not None  # an officer of this office (Clerk)
    return search.find_certificates(
        session,
        office_id=who.office_id,
        settings=settings,
        actor=who.actor,
        now=now,
        number=body.number,
        name=body.name,
        birth_date=body.birth_date,
        id_type=body.id_type,
        id_number=body.id_number,
        batch_id=body.batch,
        status=body.status,
        limit=body.limit,
        cursor=body.cursor,
    )


Text = Annotated[str | None, Query(max_length=_BOUND)]


@router.get(
    "/api/v1/certificates",
    response_model=Page,
    responses=AUTH,
    summary="Find certificates by number, name and birth date, batch or status",
)
def list_certificates(
    session: DbSession,
    who: Clerk,
    settings: Settings,
    now: Now,
    number: Text = None,
    name: Text = None,
    birth_date: Text = None,
    batch: Annotated[int | None, Query()] = None,
    status: Text = None,
    limit: Annotated[int, Query()] = search.DEFAULT_LIMIT,
    cursor: Text = None,
    id_number: Annotated[
        str | None, Query(description="refused: send it to POST /api/v1/certificates/search")
    ] = None,
) -> Page:
    if id_number is not None:
        raise ValidationFailed(
            [
                FieldError(
                    "id_number",
                    "not_in_query",
                    "an identity number is searched with POST /api/v1/certificates/search "
                    "(a query string is logged)",
                    "证件号码须通过 POST /api/v1/certificates/search 的请求体查询"
                    "（查询字符串会被记录）",
                )
            ]
        )
    body = SearchIn(
        number=number,
        name=name,
        birth_date=birth_date,
        batch=batch,
        status=status,
        limit=limit,
        cursor=cursor,
    )
    return _search(body, session, who, settings, now)


@router.post(
    "/api/v1/certificates/search",
    response_model=Page,
    responses=AUTH,
    summary="Find certificates, the criteria in the body (the only way by identity number)",
)
def search_certificates(
    body: SearchIn, session: DbSession, who: Clerk, settings: Settings, now: Now
) -> Page:
    return _search(body, session, who, settings, now)


@router.get(
    "/api/v1/certificates/{number}/record",
    response_model=CertificateRecord,
    responses={**AUTH, **problems(404)},
    summary="Everything about one certificate: facts, status history, audit trail",
)
def read_record(
    number: Annotated[str, Path(pattern=r"^[0-9]{17}$")],
    session: DbSession,
    who: Clerk,
) -> CertificateRecord:
    assert who.office_id is not None
    return search.certificate_record(session, office_id=who.office_id, number=number)
