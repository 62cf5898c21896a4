"""The issuer's HTTP API: an app factory over thin routers (``issuer.web.routes``).

The signing key is injected: tests pass a ``credential.KeySigner``; ``jiaozi issuer serve``
passes a provider that asks the key store for the active key on every use, so a rotation
done from the command line takes effect without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from credential import PublicKey, Signer, TrustList
from issuer.db.engine import make_engine, upgrade
from issuer.issuance import DocumentKeyProvider
from issuer.lifecycle import RegistryClient, SyncReport, sync_national
from issuer.settings import IssuerSettings
from issuer.web import problems
from issuer.web.deps import utf8_json_body
from issuer.web.hosts import HostCheck
from issuer.web.limits import BodyLimit
from issuer.web.routes import ROUTERS
from issuer.web.routes._common import problems as problems_for

__all__ = ["create_app", "national_round"]

log = logging.getLogger("jiaozi.issuer")


def national_round(
    settings: IssuerSettings,
    engine: Engine,
    *,
    signer: Signer,
    trust: TrustList,
    client: RegistryClient | None = None,
) -> SyncReport:
    """Run one national-list round (push the outbox, pull the list) against
    ``settings.registry_url``; returns what it did (``issuer.lifecycle.national``)."""
    assert settings.registry_url is not None
    own = client is None
    client = client or RegistryClient(settings.registry_url, timeout=settings.national_sync_timeout)
    try:
        with Session(engine) as session:
            return sync_national(
                session,
                client,
                signer=signer,
                settings=settings,
                trust=trust,
                now=dt.datetime.now(dt.UTC).replace(microsecond=0),
            )
    finally:
        if own:
            client.close()


def _default_trust() -> TrustList:
    from keys import current_trust_list, jiaozi_home

    return current_trust_list(jiaozi_home())


def create_app(
    settings: IssuerSettings | None = None,
    *,
    signer: Signer | None = None,
    public_keys: list[PublicKey] | None = None,
    signer_provider: Callable[[], Signer] | None = None,
    public_keys_provider: Callable[[], list[PublicKey]] | None = None,
    document_key_provider: DocumentKeyProvider | None = None,
    trust_provider: Callable[[], TrustList] | None = None,
) -> FastAPI:
    """Return the issuer app.

    Give either ``signer`` (a fixed key; tests) or ``signer_provider`` (called per use).
    ``public_keys``/``public_keys_provider`` are published at ``/.well-known/jwks.json``
    (default: the fixed signer's own key). ``document_key_provider`` gives the office's
    PDF-signing key (``keys.office_document_key``); without it the PDF endpoints answer
    503. ``trust_provider`` gives the trust list the registry's signature is checked
    against (default: the one stored under ``$JIAOZI_HOME/trust``); with
    ``JIAOZI_REGISTRY_URL`` set and a sync interval, the app runs a national-list round
    every interval while it serves. Raises RuntimeError without a signer.
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

    trust = trust_provider or _default_trust
    provider: Callable[[], Signer] = signer_provider

    async def national_loop() -> None:
        while True:
            try:
                await asyncio.to_thread(
                    national_round, settings, engine, signer=provider(), trust=trust()
                )
            except Exception:  # a round that fails is logged and tried again
                log.exception("national list round failed")
            await asyncio.sleep(settings.national_sync_interval)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = None
        if settings.registry_url and settings.national_sync_interval > 0:
            task = asyncio.create_task(national_loop())
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
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
    app.state.trust_provider = trust
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
