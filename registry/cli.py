"""``jiaozi registry``: the registry's commands (``serve``, ``migrate``, ``feed-client``;
``accounts create-employer``, ``create-school``, ``list`` and ``deactivate`` for admission
checks); ``jiaozi feed follow``, the national feed's reference consumer
(registry/follow.py)."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time

import click
import sqlalchemy as sa

import ops
from credential import Signer, beijing_text, cli_language, cli_text

from .settings import RegistrySettings

__all__ = ["feed_group", "registry_group"]


def _lang() -> str:
    """Return the language of this command's messages: ``jiaozi --lang`` (the click
    context's meta), else ``JIAOZI_LANG``, else the locale's (``credential.cli_language``)."""
    ctx = click.get_current_context(silent=True)
    return cli_language(os.environ, ctx.meta.get("jiaozi.lang") if ctx is not None else None)


def _t(text_key: str, /, **fields: object) -> str:
    return cli_text(text_key, _lang(), **fields)


@click.group("registry")
def registry_group() -> None:
    """The national registry: the consolidated restricted list (docs/registry.md)."""


@registry_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8300, show_default=True, type=int, help="TCP port.")
def serve(host: str, port: int) -> None:
    """Serve the registry (settings from JIAOZI_* variables; docs/operations.md)."""
    import uvicorn

    from keys import KeyStore

    from .app import create_app

    try:
        settings = RegistrySettings()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    from .trust import TrustFileError, TrustSource

    try:  # fail at start, not at the first request, when there is no trust list
        trust = TrustSource(settings)
    except TrustFileError as exc:
        raise click.ClickException(_t("registry.no_trust", error=exc)) from exc
    engine = _open(settings)
    store = KeyStore.from_env()

    def signer() -> Signer:
        return store.active_signer(settings.registry_id, now=int(time.time()))

    signer()
    app = create_app(
        settings,
        engine=engine,
        signer_provider=signer,
        trust_provider=trust.current,
        trust_documents=trust.documents,
    )
    click.echo(_t("registry.serve", id=settings.registry_id, host=host, port=port, pid=os.getpid()))
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=False,
        log_level="info",
        # every line JSON (JIAOZI_LOG_FORMAT); uvicorn's access log (the raw path) off: the
        # app writes one line per request with the route (ops)
        log_config=ops.log_config("registry", settings.log_format),
        access_log=False,
    )


def _open(settings: RegistrySettings) -> sa.Engine:
    """Return the registry's engine, its schema upgraded first (JIAOZI_AUTO_MIGRATE) or
    checked; a schema this version cannot run on is a one-line error."""
    from .db import SchemaError, make_engine

    try:
        return make_engine(settings.database_url, migrate=settings.auto_migrate)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc


@registry_group.command("migrate")
@click.option("--check", is_flag=True, help="Change nothing: say where the schema stands.")
def migrate_command(check: bool) -> None:
    """Upgrade the registry's database schema to this version's (its Alembic revisions,
    version table rg_alembic_version), one process at a time; with --check only say where
    it stands and exit 1 if it is behind."""
    from .db import SchemaError, engine_for, migration_state, upgrade

    try:
        settings = RegistrySettings()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = engine_for(settings.database_url)
    try:
        current, target = migration_state(engine)
        if check:
            behind = current != target
            state = (
                _t("db.behind", command="jiaozi registry migrate") if behind else _t("db.current")
            )
            click.echo(
                _t(
                    "db.at",
                    service=_t("service.registry"),
                    current=current or _t("db.none"),
                    head=target,
                    state=state,
                )
            )
            sys.exit(1 if behind else 0)
        before, after = upgrade(engine)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    service = _t("service.registry")
    if before == after:
        click.echo(_t("db.already", service=service, after=after))
    else:
        click.echo(_t("db.upgraded", service=service, before=before or _t("db.none"), after=after))


@registry_group.command("feed-client")
@click.argument("name")
@click.option(
    "--identity", is_flag=True, help="This client may read identity numbers (authorised MIS)."
)
@click.option("--disable", is_flag=True, help="Disable this client: its key stops working.")
def feed_client(name: str, identity: bool, disable: bool) -> None:
    """Make a system client of the national feed and print its API key (shown once), or
    disable one."""
    if not 1 <= len(name) <= 64:
        raise click.BadParameter(_t("feed.name_length"), param_hint="NAME")
    import datetime as dt

    import sqlalchemy as sa

    from .feed import add_client, disable_client

    try:
        settings = RegistrySettings()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = _open(settings)
    if disable:
        if not disable_client(engine, name, now=dt.datetime.now(dt.UTC)):
            raise click.ClickException(_t("feed.no_client", name=name))
        click.echo(_t("feed.disabled", name=name))
        return
    try:
        key = add_client(engine, name, identity=identity, now=dt.datetime.now(dt.UTC))
    except sa.exc.IntegrityError:
        raise click.ClickException(_t("feed.exists", name=name)) from None
    click.echo(key)


@click.group("feed")
def feed_group() -> None:
    """The national feed for the teacher management information system."""


@feed_group.command("follow")
@click.option("--registry", "registry", required=True, help="The registry's URL.")
@click.option("--key", envvar="JIAOZI_FEED_KEY", required=True, help="This client's API key.")
@click.option("--into", "into", required=True, help="The target database URL.")
@click.option(
    "--limit",
    default=500,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Events asked for per request.",
)
@click.option(
    "--interval",
    default=10.0,
    show_default=True,
    type=float,
    help="Seconds to wait at the head before asking again.",
)
@click.option("--until-idle", is_flag=True, help="Stop once the feed is read to its head.")
def follow_command(
    registry: str, key: str, into: str, limit: int, interval: float, until_idle: bool
) -> None:
    """Keep the table `certificate_by_person` in INTO current from the national feed."""
    import httpx

    from .follow import ChainBroken, follow

    try:
        follow(
            registry, key, into, limit=limit, interval=interval, until_idle=until_idle,
            say=click.echo, lang=_lang(),
        )  # fmt: skip
    except ChainBroken as exc:
        raise click.ClickException(_t("feed.broken", error=exc)) from exc
    except httpx.HTTPError as exc:
        raise click.ClickException(_t("feed.answered", error=exc)) from exc


@registry_group.group("accounts")
def accounts_group() -> None:
    """School and employer accounts for admission checks (docs/registry.md)."""


def _create(kind: str, name: str) -> None:
    from .admission import create_account

    try:
        settings = RegistrySettings()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = _open(settings)
    try:
        account, key = create_account(engine, kind, name, dt.datetime.now(dt.UTC))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(
        _t("account.made", kind=_t(f"account.kind.{kind}"), id=account.id, name=account.name)
    )
    click.echo(_t("account.key", key=key))


@accounts_group.command("create-employer")
@click.argument("name")
def create_employer(name: str) -> None:
    """Create an employer account and print its API key, once."""
    _create("employer", name)


@accounts_group.command("create-school")
@click.argument("name")
def create_school(name: str) -> None:
    """Create a school account and print its API key, once."""
    _create("school", name)


def _engine_or_fail() -> sa.Engine:
    try:
        settings = RegistrySettings()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    return _open(settings)


@accounts_group.command("list")
@click.option("--active-only", is_flag=True, help="Leave out deactivated accounts.")
def list_command(active_only: bool) -> None:
    """List the accounts: id, kind, key prefix, active or not, created, name (never a key)."""
    from .admission import list_accounts

    engine = _engine_or_fail()
    try:
        rows = list_accounts(engine, include_inactive=not active_only)
    finally:
        engine.dispose()
    if not rows:
        click.echo(_t("account.none"))
        return
    lang = _lang()
    for r in rows:
        state = _t("account.active") if r.active else _t("account.inactive")
        click.echo(
            f"{r.id}\t{_t(f'account.kind.{r.kind}')}\tjzr_{r.key_prefix}_…\t{state}\t"
            f"{beijing_text(r.created_at, lang)}\t{r.name}"
        )


@accounts_group.command("deactivate")
@click.argument("account_id", type=int)
def deactivate_command(account_id: int) -> None:
    """Deactivate an account: its key is refused from the next request on."""
    from .admission import deactivate_account

    engine = _engine_or_fail()
    try:
        row = deactivate_account(engine, account_id=account_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    kind = _t(f"account.kind.{row.kind}")
    click.echo(_t("account.deactivated", kind=kind, id=row.id, name=row.name))
