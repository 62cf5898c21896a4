"""The issuer's HTTP API: an app factory over thin routers (``issuer.web.routes``).

The signing key is injected: tests pass a ``credential.KeySigner``; ``jiaozi issuer serve``
passes a provider that asks the key store for the active key on every use, so a rotation
done from the command line takes effect without a restart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from credential import PublicKey, Signer
from issuer.db.engine import make_engine, upgrade
from issuer.issuance import DocumentKeyProvider
from issuer.settings import IssuerSettings
from issuer.web import problems
from issuer.web.deps import utf8_json_body
from issuer.web.hosts import HostCheck
from issuer.web.limits import BodyLimit
from issuer.web.routes import ROUTERS
from issuer.web.routes._common import problems as problems_for

__all__ = ["create_app"]


def create_app(
    settings: IssuerSettings | None = None,
    *,
    signer: Signer | None = None,
    public_keys: list[PublicKey] | None = None,
    signer_provider: Callable[[], Signer] | None = None,
    public_keys_provider: Callable[[], list[PublicKey]] | None = None,
    document_key_provider: DocumentKeyProvider | None = None,
) -> FastAPI:
    """Return the issuer app.

    Give either ``signer`` (a fixed key; tests) or ``signer_provider`` (called per use).
    ``public_keys``/``public_keys_provider`` are published at ``/.well-known/jwks.json``
    (default: the fixed signer's own key). ``document_key_provider`` gives the office's
    PDF-signing key (``keys.office_document_key``); without it the PDF endpoints answer
    503. Raises RuntimeError without a signer.
    """
    settings = settings or IssuerSettings()
    if signer_provider is None:
        if signer is None:
            raise RuntimeError("create_app needs a signer or a signer_provider")
        fixed = signer
        signer_provider = lambda: fixed  # noqa: E731
    if public_keys_provider is None:
        if public_keys is None:
            own = getattr(signer, "public_key", None)
            public_keys = [own()] if callable(own) else []
        keys = list(public_keys)
        public_keys_provider = lambda: keys  # noqa: E731
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
        # Any operation can meet a body that cannot even be parsed (not UTF-8, not JSON).
        responses=problems_for(400),
        dependencies=[Depends(utf8_json_body)],
        description="Certification office service: issue teacher-qualification e-licences.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.signer_provider = signer_provider
    app.state.public_keys_provider = public_keys_provider
    app.state.document_key_provider = document_key_provider
    problems.install(app)
    # Outside every route and dependency: a body over its cap is refused before anything
    # (authentication included) reads it.
    app.add_middleware(BodyLimit, settings=settings)
    # Outside that (the last added runs first): a foreign Host or Origin is refused before
    # the body is read; and outside everything, the one reader of the forwarding headers,
    # believed only from the configured proxies (the client address lockouts and the audit
    # trail record, and the scheme).
    app.add_middleware(HostCheck, settings=settings)
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    for router in ROUTERS:
        app.include_router(router)
    return app
