"""Reading the restricted list (issue 13 point 6): this office's entries with their
national state, other offices' national entries, and one person looked up on both.
Recording and removal stay in ``restrictions`` (each through approval)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel

from credential import beijing_date
from issuer.fields.restrictions import validate_person
from issuer.lifecycle import restriction_list
from issuer.web.deps import Clerk, DbSession, Now, Settings, Supervisor
from issuer.web.routes._common import AUTH

router = APIRouter()

_State = Annotated[Literal["active", "removed", "all"], Query()]
_Limit = Annotated[int, Query(ge=1, le=restriction_list.MAX_LIMIT)]


class RestrictionListPage(BaseModel):
    """This office's entries, newest first; ``before`` asks for the next page."""

    items: list[dict[str, Any]]
    before: int | None


class NationalListPage(BaseModel):
    """Other offices' entries as pulled from the registry; ``before`` for the next page."""

    items: list[dict[str, Any]]
    before: str | None


class PersonQuery(BaseModel):
    """The person to look up: document type and number (never in a query string)."""

    id_type: str | None = None
    id_number: str | None = None


@router.get(
    "/api/v1/restrictions",
    response_model=RestrictionListPage,
    responses=AUTH,
    summary="This office's entries, newest first, each with where it stands nationally "
    "(waiting, at_registry, refused)",
)
def read_restrictions(
    session: DbSession,
    who: Supervisor,
    state: _State = "active",
    category: Annotated[Literal["lost", "revoked"] | None, Query()] = None,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: _Limit = 50,
) -> RestrictionListPage:
    page = restriction_list.list_restrictions(
        session, state=state, category=category, before=before, limit=limit
    )
    return RestrictionListPage(items=page.items, before=page.before)


@router.get(
    "/api/v1/national-restrictions",
    response_model=NationalListPage,
    responses=AUTH,
    summary="Entries other offices recorded, as pulled from the registry (no person "
    "reference; how many of this office's certificates name the person)",
)
def read_national(
    session: DbSession,
    who: Supervisor,
    settings: Settings,
    state: _State = "active",
    office: Annotated[str | None, Query(max_length=200)] = None,
    before: Annotated[str | None, Query(max_length=320)] = None,
    limit: _Limit = 50,
) -> NationalListPage:
    items, nxt = restriction_list.list_national(
        session,
        own_office=settings.office_id,
        state=state,
        office=office,
        before=before,
        limit=limit,
    )
    return NationalListPage(items=items, before=nxt)


@router.post(
    "/api/v1/restrictions/search",
    responses=AUTH,
    summary="One person on this office's list and the national list, and whether issuing "
    "would refuse them today (audited)",
)
def search_person(
    session: DbSession,
    who: Clerk,
    settings: Settings,
    now: Now,
    body: Annotated[PersonQuery, Body()],
) -> dict[str, Any]:
    kind, number = validate_person(body.model_dump(), today=beijing_date(now))
    return restriction_list.find_person(
        session, settings=settings, id_type=kind, id_number=number, actor=who.actor, now=now
    )
