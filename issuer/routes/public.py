"""Public, cacheable endpoints: status lists and the office's JWKS (no authentication)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from .. import services
from ..deps import DbSession, Now, Settings, SignerDep
from ._common import problems

router = APIRouter()
STATUS_LIST_MEDIA_TYPE = "application/statuslist+jwt"


@router.get(
    "/statuslists/{list_id}",
    responses={
        200: {"content": {STATUS_LIST_MEDIA_TYPE: {}}, "description": "Signed status list"},
        **problems(404, 422),
    },
    summary="A signed Token Status List (public, cacheable)",
)
def read_status_list(
    list_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: DbSession,
    signer: SignerDep,
    settings: Settings,
    now: Now,
) -> Response:
    token = services.status_list_token(
        session, list_id=list_id, signer=signer, settings=settings, now=now
    )
    return Response(
        token,
        media_type=STATUS_LIST_MEDIA_TYPE,
        # The issuer serves a cached token up to ttl/2 old, so a cache may keep it ttl/2 more.
        headers={"Cache-Control": f"public, max-age={settings.status_ttl_seconds // 2}"},
    )


@router.get("/.well-known/jwks.json", summary="The office's public keys")
def read_jwks(request: Request) -> Response:
    keys = request.app.state.public_keys_provider()
    body = json.dumps({"keys": [k.to_jwk() for k in keys]}, separators=(",", ":"))
    return Response(
        body.encode("ascii"),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )
