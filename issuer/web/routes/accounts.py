"""Accounts: officers, service clients and API keys (admins only).

An admin acts for their own office: officers of another office are answered 404 exactly
like missing ones, so their existence does not leak. Service clients (verifiers, the
teacher MIS) belong to the office this issuer serves and only its admins manage them.
A key's text is in the 201 answer that made it and nowhere else.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from issuer import accounts
from issuer.accounts import (
    ApiKeyCreated,
    ClientCreate,
    ClientCreated,
    ClientPublic,
    OfficerCreate,
    OfficerCreated,
    OfficerPublic,
)
from issuer.errors import Forbidden
from issuer.settings import IssuerSettings
from issuer.web.deps import AnyOfficeAdmin, DbSession, Now, Principal, Settings
from issuer.web.routes._common import AUTH, problems

router = APIRouter(tags=["accounts"])
OfficerId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Prefix = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]


def _own_office(who: Principal) -> str:
    if who.office_id is None:  # pragma: no cover - AnyOfficeAdmin admits officers only
        raise Forbidden("This account may not do that", "该账户无权执行此操作")
    return who.office_id


def _home_admin(who: Principal, settings: IssuerSettings) -> None:
    if who.office_id != settings.office_id:
        raise Forbidden(
            "Only an admin of this issuer's office manages service clients",
            "只有本签发机构的管理员可以管理服务客户端",
        )


@router.post(
    "/api/v1/officers",
    status_code=201,
    response_model=OfficerCreated,
    responses={**AUTH, **problems(409)},
    summary="Create an officer of your office (its API key is shown only here)",
)
def create_officer(
    body: OfficerCreate, session: DbSession, who: AnyOfficeAdmin, settings: Settings, now: Now
) -> OfficerCreated:
    office_id = _own_office(who)
    if office_id == settings.office_id:
        accounts.ensure_office(session, settings=settings, now=now)
    officer, new = accounts.create_officer(
        session,
        office_id=office_id,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        actor=who.actor,
        now=now,
    )
    return accounts.officer_created(session, officer, new)


@router.get(
    "/api/v1/officers",
    response_model=list[OfficerPublic],
    responses=AUTH,
    summary="The officers of your office, with their keys' prefixes",
)
def list_officers(session: DbSession, who: AnyOfficeAdmin) -> list[OfficerPublic]:
    return accounts.list_officers(session, office_id=_own_office(who))


@router.post(
    "/api/v1/officers/{officer_id}/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    responses={**AUTH, **problems(404, 409)},
    summary="Give an officer a new API key (shown only here)",
)
def create_officer_key(
    officer_id: OfficerId, session: DbSession, who: AnyOfficeAdmin, now: Now
) -> ApiKeyCreated:
    new = accounts.issue_api_key(
        session, officer_id=officer_id, office_id=_own_office(who), actor=who.actor, now=now
    )
    return accounts.key_created(session, new)


@router.delete(
    "/api/v1/api-keys/{prefix}",
    status_code=204,
    response_class=Response,
    responses={**AUTH, **problems(404)},
    summary="Revoke an API key (of your office's officers or this office's clients)",
)
def revoke_key(
    prefix: Prefix, session: DbSession, who: AnyOfficeAdmin, settings: Settings, now: Now
) -> Response:
    office_id = _own_office(who)
    accounts.revoke_api_key(
        session,
        prefix=prefix,
        office_id=office_id,
        clients=office_id == settings.office_id,
        actor=who.actor,
        now=now,
    )
    return Response(status_code=204)


@router.post(
    "/api/v1/officers/{officer_id}/deactivate",
    response_model=OfficerPublic,
    responses={**AUTH, **problems(404, 409)},
    summary="Deactivate an officer of your office (their keys stop working)",
)
def deactivate_officer(
    officer_id: OfficerId, session: DbSession, who: AnyOfficeAdmin, now: Now
) -> OfficerPublic:
    office_id = _own_office(who)
    accounts.deactivate_officer(
        session, officer_id=officer_id, office_id=office_id, actor=who.actor, now=now
    )
    return accounts.get_officer(session, officer_id=officer_id, office_id=office_id)


@router.post(
    "/api/v1/clients",
    status_code=201,
    response_model=ClientCreated,
    responses={**AUTH, **problems(409)},
    summary="Create a service client: a verifier or the teacher MIS (key shown only here)",
)
def create_client(
    body: ClientCreate, session: DbSession, who: AnyOfficeAdmin, settings: Settings, now: Now
) -> ClientCreated:
    _home_admin(who, settings)
    svc, new = accounts.create_client(
        session, name=body.name, kind=body.kind, actor=who.actor, now=now
    )
    return accounts.client_created(session, svc, new)


@router.get(
    "/api/v1/clients",
    response_model=list[ClientPublic],
    responses=AUTH,
    summary="The service clients, with their keys' prefixes",
)
def list_clients(session: DbSession, who: AnyOfficeAdmin, settings: Settings) -> list[ClientPublic]:
    _home_admin(who, settings)
    return accounts.list_clients(session)
