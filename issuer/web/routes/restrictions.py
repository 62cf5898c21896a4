"""The restricted-qualification list: record and remove entries (supervisors, with
maker-checker), and the signed feed for verifiers (never public), served as the
publication job stored it: these GETs sign nothing."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from credential import beijing_date
from issuer import lifecycle
from issuer.web.deps import DbSession, Now, Settings, SignerDep, Supervisor, VerifierClient
from issuer.web.routes._common import AUTH, problems
from issuer.web.routes.lifecycle import PendingActionOut

router = APIRouter()
RestrictionId = Annotated[int, Path(ge=1, le=2**31 - 1)]
FEED_MEDIA_TYPE = "application/jwt"

_BOUND = 2000


class RestrictionIn(BaseModel):
    """A new entry. The identity number is used to derive the person reference and is
    never stored or echoed (only masked)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "name": "吴鸣",
                "id_type": "resident_id",
                "id_number": "110105197609062469",
                "category": "revoked",
                "decision_date": "2026-11-20",
                "legal_basis": "《教师资格条例》第十九条",
            }
        },
    )

    name: str | None = Field(default=None, max_length=_BOUND)
    id_type: str | None = Field(default=None, max_length=_BOUND)
    id_number: str | None = Field(default=None, max_length=_BOUND)
    category: str | None = Field(
        default=None, max_length=_BOUND, description="lost (丧失) | revoked (撤销)"
    )
    decision_date: str | None = Field(default=None, max_length=_BOUND, description="YYYY-MM-DD")
    legal_basis: str | None = Field(default=None, max_length=_BOUND, description="1-500 chars")
    deciding_office: str | None = Field(
        default=None, max_length=_BOUND, description="default: the requester's office"
    )


class RemovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=_BOUND, description="1-500 characters")
    decision_date: str | None = Field(
        default=None, max_length=_BOUND, description="date of the review decision"
    )


class RestrictionOut(BaseModel):
    """An entry as the office sees it (the feed omits legal basis and removal reason)."""

    id: int
    person_ref: str
    category: Literal["lost", "revoked"]
    decision_date: str
    bar_until: str | None
    deciding_office: str
    affected: list[str]
    id_type: str
    legal_basis: str
    removed: bool
    removal_reason: str | None


class RestrictionResult(BaseModel):
    """``pending`` (202): awaiting a second supervisor; ``done`` (200): maker-checker off."""

    state: Literal["pending", "done"]
    pending_action: PendingActionOut | None
    restriction: RestrictionOut | None


_FEED: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {FEED_MEDIA_TYPE: {}},
        "description": (
            "A compact JWS, typ jiaozi-restrictions+jwt, signed by the office key when the"
            " list changed (never on request)"
        ),
    }
}


@router.post(
    "/api/v1/restrictions",
    response_model=RestrictionResult,
    status_code=202,
    responses={
        200: {"model": RestrictionResult, "description": "Recorded at once (maker-checker off)"},
        **AUTH,
        **problems(409),
    },
    summary="Record a person on the restricted list (their certificates become INVALID)",
)
def create_restriction(
    body: RestrictionIn,
    session: DbSession,
    who: Supervisor,
    signer: SignerDep,
    settings: Settings,
    now: Now,
    response: Response,
) -> dict[str, Any]:
    payload = lifecycle.validate_restriction(
        body.model_dump(), who=who, settings=settings, today=beijing_date(now)
    )
    out = lifecycle.request_restriction(
        session, payload=payload, who=who, signer=signer, settings=settings, now=now
    )
    response.status_code = 202 if out["state"] == "pending" else 200
    return out


@router.post(
    "/api/v1/restrictions/{restriction_id}/removal",
    response_model=RestrictionResult,
    status_code=202,
    responses={
        200: {"model": RestrictionResult, "description": "Removed at once (maker-checker off)"},
        **AUTH,
        **problems(404, 409),
    },
    summary="Remove an entry after review (certificates stay revoked: revocation is final)",
)
def remove_restriction(
    restriction_id: RestrictionId,
    body: RemovalIn,
    session: DbSession,
    who: Supervisor,
    signer: SignerDep,
    settings: Settings,
    now: Now,
    response: Response,
) -> dict[str, Any]:
    payload = lifecycle.validate_removal(body.model_dump(), today=beijing_date(now))
    out = lifecycle.request_removal(
        session,
        restriction_id=restriction_id,
        payload=payload,
        who=who,
        signer=signer,
        settings=settings,
        now=now,
    )
    response.status_code = 202 if out["state"] == "pending" else 200
    return out


@router.get(
    "/api/v1/restrictions/snapshot",
    response_class=Response,
    responses={**_FEED, **problems(401, 403, 404)},
    summary="Snapshot of the active entries, with the cursor to follow (verifiers; as published)",
)
def read_snapshot(session: DbSession, who: VerifierClient) -> Response:
    token = lifecycle.stored_snapshot(session)
    return Response(token, media_type=FEED_MEDIA_TYPE, headers={"Cache-Control": "no-store"})


@router.get(
    "/api/v1/restrictions/changes",
    response_class=Response,
    responses={**_FEED, **problems(401, 403, 404, 422)},
    summary="The change after a cursor, or the empty page at the head (verifiers; as published)",
)
def read_changes(
    session: DbSession,
    who: VerifierClient,
    after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Response:
    token = lifecycle.stored_changes(session, after=after)
    return Response(token, media_type=FEED_MEDIA_TYPE, headers={"Cache-Control": "no-store"})


@router.get(
    "/api/v1/restrictions/{restriction_id}",
    response_model=RestrictionOut,
    responses={**AUTH, **problems(404)},
    summary="One entry with its legal basis (the office's view)",
)
def read_restriction(
    restriction_id: RestrictionId, session: DbSession, who: Supervisor
) -> dict[str, Any]:
    return lifecycle.get_restriction(session, restriction_id)
