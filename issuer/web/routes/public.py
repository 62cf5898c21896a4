"""Public, cacheable endpoints: status lists, the office's JWKS and the national trust list
as this office last received it (no authentication).

None of them signs or needs a signing key: a status list is served as the publication job
stored it (``issuer.lifecycle.publication``), even past its ``exp`` when the job is down
(verifiers judge its age themselves: ``status_stale``, ``cannot_determine``). In a
public-only app (no key store) the JWKS and the trust list come from the database too.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from issuer import issuance, lifecycle
from issuer.errors import NotFound
from issuer.lifecycle.publication import (
    JWKS,
    JWKS_MEDIA_TYPE,
    STATUS_LIST_MEDIA_TYPE,
    TRUST_LIST,
    TRUST_LIST_MEDIA_TYPE,
    jwks_body,
)
from issuer.web.deps import DbSession, Now, Settings
from issuer.web.routes._common import problems

router = APIRouter()
log = logging.getLogger("jiaozi.issuer.publication")

__all__ = ["STATUS_LIST_MEDIA_TYPE", "TRUST_LIST_MEDIA_TYPE", "router"]


@router.get(
    "/statuslists/{list_id}",
    responses={
        200: {"content": {STATUS_LIST_MEDIA_TYPE: {}}, "description": "Signed status list"},
        **problems(404, 422, 503),
    },
    summary="A signed Token Status List (public, cacheable)",
)
def read_status_list(
    list_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: DbSession,
    settings: Settings,
    now: Now,
) -> Response:
    stored = issuance.stored_status_list(session, list_id=list_id, settings=settings)
    # The job re-signs a list at half its ttl, so a cache may keep it the other half.
    cache = f"public, max-age={settings.status_ttl_seconds // 2}"
    if stored.expires_at <= now:
        log.warning(
            "serving status list %s past its exp %s: is the publication job running?",
            list_id,
            stored.expires_at.isoformat(),
        )
        cache = "no-cache"
    elif not stored.current:
        log.warning("serving status list %s behind a change not yet published", list_id)
        cache = "no-cache"
    return Response(
        stored.token, media_type=STATUS_LIST_MEDIA_TYPE, headers={"Cache-Control": cache}
    )


def _stored(session: DbSession, name: str) -> tuple[bytes, str]:
    doc = lifecycle.read_document(session, name)
    if doc is None:
        raise NotFound(
            "Not published yet",
            "尚未发布",
            f"{name} has not been published by the publication job",
            f"{name} 尚未由发布任务发布",
        )
    return doc.body, doc.media_type


@router.get("/.well-known/jwks.json", summary="The office's public keys")
def read_jwks(request: Request, session: DbSession) -> Response:
    provider = request.app.state.public_keys_provider
    if provider is None:  # public-only: as the job stored it
        body, media = _stored(session, JWKS)
    else:
        body, media = jwks_body(provider()), JWKS_MEDIA_TYPE
    return Response(body, media_type=media, headers={"Cache-Control": "public, max-age=300"})


@router.get(
    "/trust-list.jwt",
    responses={
        200: {"content": {TRUST_LIST_MEDIA_TYPE: {}}, "description": "Root-signed trust list"},
        **problems(404),
    },
    summary="The national trust list (signed by the root; verifiers check it themselves)",
)
def read_trust_list(request: Request, session: DbSession) -> Response:
    # Served as the key ceremony signed it (`jiaozi trust export` wrote it under
    # JIAOZI_HOME/trust, verified before serving), or in a public-only app as the job
    # stored it; verifiers verify it again against their pinned root.
    provider = request.app.state.trust_token_provider
    if provider is None:
        body, _ = _stored(session, TRUST_LIST)
        token = body.decode("ascii")
    else:
        found = provider()
        if found is None:
            raise NotFound(
                "No trust list here",
                "本机构尚无信任列表",
                "this issuer holds no valid trust list",
                "本签发服务没有有效的信任列表",
            )
        token = found
    return Response(
        token,
        media_type=TRUST_LIST_MEDIA_TYPE,
        headers={"Cache-Control": "public, max-age=300"},
    )
