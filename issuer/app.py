"""The issuer's HTTP API: a thin FastAPI shell over ``issuer.services``.

Authentication in this slice is one static bearer key (``JIAOZI_API_KEY``) acting for the
configured office; accounts, roles and hashed per-officer keys replace it later
(issue 3 item 2). The signing key is injected: tests pass a ``credential.KeySigner``,
the service will pass the key store's signer.
"""

import datetime as dt
import hmac
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Response
from sqlalchemy.orm import Session

from credential import PublicKey, Signer

from . import problems, services
from .db import make_engine, upgrade
from .errors import Unauthorized
from .schemas import CertificateCreate, CertificatePublic, Problem
from .settings import IssuerSettings

__all__ = ["create_app"]

API_ACTOR = "apikey:static"
STATUS_LIST_MEDIA_TYPE = "application/statuslist+jwt"

_PROBLEM = {"model": Problem, "content": {"application/problem+json": {}}}
_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {**_PROBLEM, "description": "Missing or wrong API key"},
    422: {**_PROBLEM, "description": "Invalid request (field errors listed)"},
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: IssuerSettings | None = None,
    *,
    signer: Signer | None = None,
    public_keys: list[PublicKey] | None = None,
) -> FastAPI:
    """Return the issuer app. ``signer`` signs everything; ``public_keys`` (default: the
    signer's own) are published at ``/.well-known/jwks.json``."""
    settings = settings or IssuerSettings()
    if signer is None:
        raise RuntimeError("create_app needs a signer (the key store hook comes later)")
    if public_keys is None:
        own = getattr(signer, "public_key", None)
        public_keys = [own()] if callable(own) else []
    engine = make_engine(settings.database_url)
    if settings.auto_migrate:
        upgrade(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="Jiaozi issuer",
        version="0.1.0",
        lifespan=lifespan,
        description="Certification office service: issue teacher-qualification e-licences.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.signer = signer
    problems.install(app)
    jwks = {"keys": [k.to_jwk() for k in public_keys]}

    def session_dep() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    def actor_dep(authorization: Annotated[str | None, Header()] = None) -> str:
        scheme, _, token = (authorization or "").partition(" ")
        expected = settings.api_key.get_secret_value().encode("utf-8")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode("utf-8"), expected
        ):
            raise Unauthorized("Missing or wrong API key", "缺少或错误的API密钥")
        return API_ACTOR

    DbSession = Annotated[Session, Depends(session_dep)]
    Actor = Annotated[str, Depends(actor_dep)]

    @app.post(
        "/api/v1/certificates",
        status_code=201,
        response_model=CertificatePublic,
        responses={
            **_AUTH_ERRORS,
            409: {**_PROBLEM, "description": "Same Idempotency-Key still in progress"},
        },
        summary="Issue one certificate",
    )
    def create_certificate(
        body: CertificateCreate,
        session: DbSession,
        actor: Actor,
        idempotency_key: Annotated[
            str, Header(alias="Idempotency-Key", min_length=1, max_length=200)
        ],
    ) -> Response:
        stored = services.issue_certificate_idempotent(
            session,
            key=idempotency_key,
            principal=actor,
            request=body,
            signer=signer,
            settings=settings,
            actor=actor,
            now=_now(),
        )
        headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
        return Response(
            stored.body,
            status_code=stored.status_code,
            media_type="application/json",
            headers=headers,
        )

    @app.get(
        "/api/v1/certificates/{number}",
        response_model=CertificatePublic,
        responses={**_AUTH_ERRORS, 404: {**_PROBLEM, "description": "No such certificate"}},
        summary="One certificate with its tokens",
    )
    def read_certificate(
        number: Annotated[str, Path(pattern=r"^[0-9]{17}$")], session: DbSession, actor: Actor
    ) -> CertificatePublic:
        return services.get_certificate(session, number=number, settings=settings)

    @app.get(
        "/statuslists/{list_id}",
        responses={
            200: {"content": {STATUS_LIST_MEDIA_TYPE: {}}, "description": "Signed status list"},
            404: {**_PROBLEM, "description": "No such status list"},
            422: {**_PROBLEM, "description": "Malformed list id"},
        },
        summary="A signed Token Status List (public, cacheable)",
    )
    def read_status_list(
        list_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: DbSession
    ) -> Response:
        token = services.status_list_token(
            session, list_id=list_id, signer=signer, settings=settings, now=_now()
        )
        return Response(
            token,
            media_type=STATUS_LIST_MEDIA_TYPE,
            headers={"Cache-Control": f"public, max-age={settings.status_ttl_seconds}"},
        )

    @app.get("/.well-known/jwks.json", summary="The office's public keys")
    def read_jwks() -> Response:
        return Response(
            _json(jwks),
            media_type="application/json",
            headers={"Cache-Control": "public, max-age=300"},
        )

    return app


def _json(value: object) -> bytes:
    import json

    return json.dumps(value, separators=(",", ":")).encode("ascii")
