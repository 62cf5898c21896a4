"""Public, cacheable endpoints: status lists, the office's JWKS and the national trust list
as this office last received it (no authentication)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from issuer import issuance
from issuer.errors import NotFound
from issuer.web.deps import DbSession, Now, Settings, SignerDep
from issuer.web.routes._common import problems
from keys import KeysError, current_trust_token, jiaozi_home

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
    token = issuance.status_list_token(
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


TRUST_LIST_MEDIA_TYPE = "application/jiaozi-trustlist+jwt"


@router.get(
    "/trust-list.jwt",
    responses={
        200: {"content": {TRUST_LIST_MEDIA_TYPE: {}}, "description": "Root-signed trust list"},
        **problems(404),
    },
    summary="The national trust list (signed by the root; verifiers check it themselves)",
)
def read_trust_list() -> Response:
    # Served as stored under JIAOZI_HOME/trust (what `jiaozi trust export` wrote); it is
    # verified before serving, and verifiers verify it again against their pinned root.
    try:
        token = current_trust_token(jiaozi_home())
    except KeysError as exc:
        raise NotFound(
            "No trust list here",
            "本机构尚无信任列表",
            f"this issuer holds no valid trust list: {exc}",
            "本签发服务没有有效的信任列表",
        ) from exc
    return Response(
        token,
        media_type=TRUST_LIST_MEDIA_TYPE,
        headers={"Cache-Control": "public, max-age=300"},
    )
