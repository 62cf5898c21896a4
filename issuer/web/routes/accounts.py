"""Accounts: officers, service clients and API keys (admins only).

An admin acts for their own office: officers of another office are answered 404 exactly
like missing ones, so their existence does not leak. Service clients (verifiers, the
teacher MIS) belong to the office this issuer serves and only its admins manage them.
A key's text is in the 201 answer that made it and nowhere else.

Two-person rules (``issuer.lifecycle.account_requests``): a supervisor or admin is
created, and a role changed, only when a second admin approves the pending action; an
officer created on approval has no key until an admin gives it one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from issuer import accounts, lifecycle
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
from issuer.web.deps import Actor, AnyOfficeAdmin, DbSession, Now, Principal, Settings
from issuer.web.routes._common import AUTH, problems
from issuer.web.routes.lifecycle import PendingActionOut

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


class AccountRequestOut(BaseModel):
    """A supervisor or admin to be created, or a role change, awaiting a second admin."""

    state: Literal["pending"]
    pending_action: PendingActionOut
    officer: None = None


class RoleChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(max_length=200, description="clerk, supervisor or admin")


class RoleChangeOut(BaseModel):
    """``pending`` (202): awaiting a second admin; ``done`` (200): the bootstrap key."""

    state: Literal["pending", "done"]
    pending_action: PendingActionOut | None
    officer: OfficerPublic | None


@router.post(
    "/api/v1/officers",
    status_code=201,
    response_model=OfficerCreated | AccountRequestOut,
    responses={
        202: {"model": AccountRequestOut, "description": "A supervisor or admin: pending"},
        **AUTH,
        **problems(409),
    },
    summary="Create an officer of your office: a clerk at once (its API key is shown only "
    "here), a supervisor or admin once a second admin approves",
)
def create_officer(
    body: OfficerCreate,
    session: DbSession,
    who: AnyOfficeAdmin,
    settings: Settings,
    now: Now,
    response: Response,
) -> OfficerCreated | dict[str, Any]:
    office_id = _own_office(who)
    if office_id == settings.office_id:
        accounts.ensure_office(session, settings=settings, now=now)
    out = lifecycle.request_officer(
        session,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        who=who,
        now=now,
    )
    if out["state"] == "pending":
        response.status_code = 202
        return out
    created: OfficerCreated = out["officer"]
    return created


@router.post(
    "/api/v1/officers/{officer_id}/role",
    response_model=RoleChangeOut,
    status_code=202,
    responses={
        200: {"model": RoleChangeOut, "description": "Changed at once (bootstrap key)"},
        **AUTH,
        **problems(404, 409),
    },
    summary="Change an officer's role: awaits a second admin's approval",
)
def change_role(
    officer_id: OfficerId,
    body: RoleChangeIn,
    session: DbSession,
    who: AnyOfficeAdmin,
    now: Now,
    response: Response,
) -> dict[str, Any]:
    out = lifecycle.request_role_change(
        session, officer_id=officer_id, role=body.role, who=who, now=now
    )
    response.status_code = 202 if out["state"] == "pending" else 200
    return out


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
        session,
        officer_id=officer_id,
        office_id=_own_office(who),
        actor=who.actor,
        issued_by=who.officer_id,  # who sees the key: its holder may not approve them
        now=now,
    )
    return accounts.key_created(session, new)


@router.post(
    "/api/v1/me/api-key",
    status_code=201,
    response_model=ApiKeyCreated,
    responses=AUTH,
    summary="Replace your own API key with one only you know (all your other keys revoked)",
)
def replace_own_key(session: DbSession, who: Actor, now: Now) -> ApiKeyCreated:
    if who.officer_id is None:
        raise Forbidden(
            "Only an officer's personal key can be replaced here",
            "只有工作人员的个人密钥可以在此更换",
        )
    new = accounts.replace_own_key(session, officer_id=who.officer_id, actor=who.actor, now=now)
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
