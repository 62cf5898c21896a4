"""The issuer's HTTP API: an app factory over thin routers (``issuer.web.routes``).

The signing key is injected: tests pass a ``credential.KeySigner``; ``jiaozi issuer serve``
passes a provider that asks the key store for the active key on every use, so a rotation
done from the command line takes effect without a restart. The app's lifespan runs the
publication job (``issuer.web.publisher``) every ``publish_interval_seconds``.

``public_only=True`` makes an app with no key at all: only the public routes (status
lists, JWKS, trust list), served from what the publication job stored in the database.
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
from issuer.web import office_pages, problems
from issuer.web.apidocs import install_docs
from issuer.web.deps import utf8_json_body
from issuer.web.hosts import HostCheck
from issuer.web.limits import BodyLimit
from issuer.web.observe import install_ops
from issuer.web.publisher import Publisher, stored_trust_token
from issuer.web.routes import ROUTERS, public
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
    trust_token_provider: Callable[[], str | None] | None = None,
    public_only: bool = False,
) -> FastAPI:
    """Return the issuer app.

    Give either ``signer`` (a fixed key; tests) or ``signer_provider`` (called per use).
    ``public_keys``/``public_keys_provider`` are published at ``/.well-known/jwks.json``
    (default: the fixed signer's own key). ``document_key_provider`` gives the office's
    PDF-signing key (``keys.office_document_key``); without it the PDF endpoints answer
    503. ``trust_provider`` gives the trust list the registry's signature is checked
    against (default: the one stored under ``$JIAOZI_HOME/trust``); with
    ``JIAOZI_REGISTRY_URL`` set and a sync interval, the app runs a national-list round
    every interval while it serves. ``trust_token_provider`` gives the trust list to serve
    and publish (default: the one stored under ``JIAOZI_HOME/trust``; None when there is
    none).

    With ``public_only`` give no key or provider at all: the app serves only the public
    routes, from the database (what the publication job stored). Raises RuntimeError
    without a signer, or with one in public-only mode.
    """
    settings = settings or IssuerSettings()
    if public_only:
        if signer or signer_provider or public_keys or public_keys_provider:
            raise RuntimeError("a public-only app takes no signer and no keys")
        if document_key_provider or trust_token_provider:
            raise RuntimeError("a public-only app takes no signer and no keys")
        return _app(settings, public_only=True)
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
    app = _app(
        settings,
        public_only=False,
        signer_provider=signer_provider,
        public_keys_provider=public_keys_provider,
        trust_token_provider=trust_token_provider or stored_trust_token,
        trust_provider=trust_provider,
    )
    app.state.document_key_provider = document_key_provider
    return app


def _app(
    settings: IssuerSettings,
    *,
    public_only: bool,
    signer_provider: Callable[[], Signer] | None = None,
    public_keys_provider: Callable[[], list[PublicKey]] | None = None,
    trust_token_provider: Callable[[], str | None] | None = None,
    trust_provider: Callable[[], TrustList] | None = None,
) -> FastAPI:
    engine = make_engine(settings.database_url)
    if settings.auto_migrate:
        upgrade(engine)
    publisher = None
    if signer_provider is not None and settings.publish_interval_seconds > 0:
        publisher = Publisher(
            engine,
            settings=settings,
            signer_provider=signer_provider,
            public_keys_provider=public_keys_provider,
            trust_token_provider=trust_token_provider,
        )

    trust = trust_provider or _default_trust
    provider = signer_provider  # None in public-only mode: no national rounds there

    async def national_loop() -> None:
        assert provider is not None
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
        if publisher is not None:
            publisher.start()
        task = None
        if provider is not None and settings.registry_url and settings.national_sync_interval > 0:
            task = asyncio.create_task(national_loop())
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if publisher is not None:
                publisher.stop()
            engine.dispose()

    app = FastAPI(
        title="Jiaozi issuer",
        version="0.1.0",
        lifespan=lifespan,
        # Any operation can meet a body that cannot even be parsed (not UTF-8, not JSON).
        responses=problems_for(400),
        dependencies=[Depends(utf8_json_body)],
        description="Certification office service: issue teacher-qualification e-licences.",
        docs_url=None,  # served from local assets below (install_docs)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.public_only = public_only
    app.state.signer_provider = signer_provider
    app.state.public_keys_provider = public_keys_provider
    app.state.trust_token_provider = trust_token_provider
    app.state.document_key_provider = None
    app.state.trust_provider = trust
    app.state.publisher = publisher
    problems.install(app)
    install_docs(app)
    office_pages.install(app)  # the console's sign-in redirect and refusal pages
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
    for router in (public.router,) if public_only else ROUTERS:
        app.include_router(router)
    # /healthz, /readyz, /metrics, and outside everything the request id, the access log
    # and the HTTP metrics (docs/operations.md, "Health, metrics and logs")
    install_ops(app, settings, engine, signer_provider)
    return app
