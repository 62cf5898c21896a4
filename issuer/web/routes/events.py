"""The event feed for the teacher management information system (``issuer.audit.events``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from issuer.audit import events
from issuer.web.deps import DbSession, MisClient
from issuer.web.routes._common import problems

router = APIRouter()


class EventPage(BaseModel):
    """One page of the feed; ask again with ``after=next`` for what follows."""

    events: list[dict[str, Any]]
    next: int


@router.get(
    "/api/v1/events",
    response_model=EventPage,
    responses=problems(401, 403, 422),
    summary="Events after a cursor, in order (teacher MIS feed)",
    description=(
        "Types: issued, suspended, reinstated, revoked, restricted, unrestricted, reissued, "
        "replaced, corrected (a new version; the previous one is revoked as superseded). "
        "`seq` is gapless and commits in order: polling with `after` set to the last `next` "
        "sees every event exactly once. Events carry codes only, never a name or an "
        "identity number. A service client reads every office's events; an admin, only "
        "their own office's."
    ),
)
def read_events(
    session: DbSession,
    who: MisClient,
    after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=events.MAX_LIMIT)] = 100,
) -> EventPage:
    # A service client (no office) follows every office sharing this database; an admin
    # reads only their own office's events.
    office_id = who.office_id if who.is_officer else None
    page, nxt = events.list_events(session, after=after, limit=limit, office_id=office_id)
    return EventPage(events=page, next=nxt)
