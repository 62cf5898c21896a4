"""``jiaozi issuer serve``, ``migrate``, ``publish``, ``export-public``, ``reconcile-status``
and ``jiaozi accounts
...``: run the office's service, its schema migrations, its publication job and its static
public artefacts, and manage its accounts from the machine it runs on.

Settings come from ``JIAOZI_*`` (``issuer.settings``); keys from the key store at
``$JIAOZI_HOME`` opened with ``$JIAOZI_KEY_PASSPHRASE`` (``keys``). Any error is one line
on stderr and exit code 1; usage errors exit 64 (``jiaozi.cli``'s group does that). An API
key is printed once, alone on stdout, and is never stored or shown again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import ops
from credential import CredentialError, PublicKey, Signer, cli_text
from issuer import accounts, console, lifecycle
from issuer.cli._common import cli_actor, cli_lang, writer_engine
from issuer.errors import IssuerError, ReconcileNeeded
from issuer.fields import ValidationFailed
from issuer.settings import IssuerSettings
from issuer.web.publisher import stored_trust_token
from keys import DocumentSigningKey, KeysError, KeyStore, office_document_key

__all__ = ["accounts_group", "issuer_group", "write_atomically"]

P = ParamSpec("P")
R = TypeVar("R")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _reports_errors(f: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors a command can meet into one line on stderr and exit code 1."""

    @functools.wraps(f)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return f(*args, **kwargs)
        except ValidationFailed as exc:
            msg = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
            raise click.ClickException(msg) from exc
        except IssuerError as exc:
            msg = f"{exc.title}: {exc.detail}" if exc.detail else exc.title
            raise click.ClickException(_one_line(msg)) from exc
        except ValidationError as exc:  # the settings
            msg = "; ".join(
                f"JIAOZI_{'.'.join(str(p) for p in e['loc']).upper() or 'SETTINGS'}: {e['msg']}"
                for e in exc.errors()
            )
            raise click.ClickException(_one_line(f"settings: {msg}")) from exc
        except (KeysError, CredentialError) as exc:
            raise click.ClickException(_one_line(str(exc))) from exc
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None) or exc
            first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(exc).__name__
            raise click.ClickException(f"database: {first}") from exc

    return wrapper


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- jiaozi issuer ---------------------------------------------------------------------------


@click.group("issuer")
def issuer_group() -> None:
    """The certification office's service."""


def proxy_options(settings: IssuerSettings) -> dict[str, Any]:
    """Return uvicorn's forwarding-header options: off. The app reads X-Forwarded-For and
    X-Forwarded-Proto itself, believed only from the configured proxies
    (``JIAOZI_TRUSTED_PROXIES``, none by default; ``issuer.web.app``), so the same rule
    holds under any server; uvicorn's own default would trust loopback, which let a caller
    choose the address lockouts count."""
    del settings  # the app applies them
    return {"proxy_headers": False}


def log_options(settings: IssuerSettings) -> dict[str, Any]:
    """Return uvicorn's logging options: every line in JIAOZI_LOG_FORMAT (JSON by default,
    ``ops.log_config``), and uvicorn's access log off (it writes the raw path, which may
    hold a certificate number; the app writes one line per request with the route)."""
    return {
        "log_config": ops.log_config("issuer", settings.log_format),
        "log_level": "info",
        "access_log": False,
    }


@issuer_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8100, show_default=True, help="TCP port."
)
@click.option(
    "--public-only",
    is_flag=True,
    help="Serve only the public routes (status lists, JWKS, trust list) from the database, "
    "with no key store: for a public front that holds no key.",
)
@_reports_errors
def serve_command(host: str, port: int, public_only: bool) -> None:
    """Serve the issuer API (settings from JIAOZI_*; stops cleanly on SIGTERM/Ctrl-C).

    Signs with the office's active key in the key store, asked on every use, so a
    ``jiaozi keys rotate`` takes effect without a restart; runs the publication job once
    before serving and then every JIAOZI_PUBLISH_INTERVAL_SECONDS. With --public-only no
    key store is opened and nothing can sign.
    """
    import uvicorn

    from issuer.web.app import create_app

    settings = IssuerSettings()
    office = settings.office_id
    say = cli_lang()
    if public_only:
        app = create_app(settings, public_only=True)
        click.echo(cli_text("serve.public", say, office=office, host=host, port=port), err=True)
        uvicorn.run(app, host=host, port=port, **log_options(settings), **proxy_options(settings))
        return
    store = KeyStore.from_env()  # built once: keyrings are cached and re-read on change

    def signer_provider() -> Signer:
        return store.issuing_signer(office, now=int(time.time()))

    def public_keys_provider() -> list[PublicKey]:
        return store.public_keys(office)

    # Opening the keys costs a passphrase key derivation: once per five minutes, not per
    # PDF; a certificate installed by `jiaozi keys install` is picked up within that time.
    # Only the office's own document key and certificate are read: no root private key.
    cached: list[tuple[float, DocumentSigningKey]] = []

    def document_key_provider() -> DocumentSigningKey:
        now = time.monotonic()
        if not cached or now - cached[0][0] > 300:
            cached[:] = [(now, office_document_key(store, office, now=int(time.time())))]
        return cached[0][1]

    # Fail now, with the key store's own one-line reason, rather than on the first request.
    signer_provider()
    public_keys_provider()
    document_key_provider()
    app = create_app(
        settings,
        signer_provider=signer_provider,
        public_keys_provider=public_keys_provider,
        document_key_provider=document_key_provider,
    )
    with Session(app.state.engine) as session:
        accounts.ensure_office(session, settings=settings, now=_now())
        # What went stale while the service was down is fresh before the first request.
        try:
            lifecycle.publish_all(
                session,
                signer=signer_provider(),
                settings=settings,
                now=_now(),
                public_keys=public_keys_provider(),
                trust_token=stored_trust_token(),
            )
        except ReconcileNeeded as exc:  # it serves; it publishes once reconciled
            click.echo(
                cli_text("serve.nothing_published", say, error=_one_line(exc.detail)), err=True
            )
    click.echo(cli_text("serve.start", say, office=office, host=host, port=port), err=True)
    uvicorn.run(app, host=host, port=port, **log_options(settings), **proxy_options(settings))


@issuer_group.command("migrate")
@click.option("--check", is_flag=True, help="Change nothing: say where the schema stands.")
@_reports_errors
def migrate_command(check: bool) -> None:
    """Upgrade the office's database schema to this version's (its Alembic revisions,
    version table alembic_version), as `serve` and the commands that write do at start
    unless JIAOZI_AUTO_MIGRATE=false; with --check only say where it stands and exit 1 if
    it is behind."""
    import sys

    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from issuer.db.engine import alembic_config, make_engine, upgrade

    settings = IssuerSettings()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = make_engine(settings.database_url)

    def current() -> str | None:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    try:
        before = current()
        if check:
            behind = before != head
            state = "behind: run `jiaozi issuer migrate`" if behind else "current"
            click.echo(f"issuer database at {before or 'none'}, head {head} ({state})")
            sys.exit(1 if behind else 0)
        upgrade(engine)
        after = current()
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"issuer database already at {after}")
    else:
        click.echo(f"issuer database upgraded from {before or 'none'} to {after}")


@issuer_group.command("sync-national")
@_reports_errors
def sync_national_command() -> None:
    """One national restricted-list round: send this office's entries waiting in the
    outbox to the registry (JIAOZI_REGISTRY_URL), then pull the national list.
    Exits 1 if the round met an error (what it did is kept; the next round goes on)."""
    from issuer.web.app import national_round
    from keys import current_trust_list, jiaozi_home

    settings = IssuerSettings()
    if settings.registry_url is None:
        raise click.ClickException("JIAOZI_REGISTRY_URL is not set")
    store = KeyStore.from_env()
    signer = store.active_signer(settings.office_id, now=int(time.time()))
    engine = writer_engine(settings)
    try:
        report = national_round(
            settings, engine, signer=signer, trust=current_trust_list(jiaozi_home())
        )
    finally:
        engine.dispose()
    click.echo(
        f"sent {report.sent}, pending {report.pending}, applied {report.applied}, "
        f"revoked {len(report.revoked)}, cursor {report.cursor}"
    )
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise SystemExit(1)


@issuer_group.command("publish")
@_reports_errors
def publish_command() -> None:
    """Run the publication job once (for cron, or a host where `serve` does not run it):
    re-sign the status lists that are due and store a changed JWKS or trust list.

    Safe beside running services and other runs (compare-and-set); prints what it did.
    """
    settings = IssuerSettings()
    store = KeyStore.from_env()
    now = _now()
    signer = store.active_signer(settings.office_id, now=int(now.timestamp()))
    engine = writer_engine(settings)
    try:
        with Session(engine) as session:
            done = lifecycle.publish_all(
                session,
                signer=signer,
                settings=settings,
                now=now,
                public_keys=store.public_keys(settings.office_id),
                trust_token=stored_trust_token(),
            )
    finally:
        engine.dispose()
    lists = ", ".join(str(i) for i in done.status_lists) or "none"
    docs = ", ".join(done.documents) or "none"
    restricted = "signed" if done.restrictions else "unchanged"
    click.echo(
        f"signed status lists: {lists}; restricted list: {restricted}; "
        f"stored documents: {docs} / 发布完成"
    )


def write_atomically(path: Path, body: bytes) -> bool:
    """Write ``body`` to ``path`` through a temporary file in the same directory and a
    rename, so a reader sees the old bytes or the new, never a part; return False (and
    leave the file and its mtime, which conditional requests use) if it already holds
    ``body``."""
    if path.is_file() and path.read_bytes() == body:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # public artefacts: the web server reads them
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


@issuer_group.command("export-public")
@click.argument("directory", type=click.Path(file_okay=False, writable=True, path_type=Path))
@_reports_errors
def export_public_command(directory: Path) -> None:
    """Write the published artefacts to DIRECTORY for any static web server: status lists
    at statuslists/<id>, .well-known/jwks.json and trust-list.jwt, each replaced
    atomically. Opens no key store and signs nothing: run `publish` (or `serve`) for
    that; JIAOZI_PUBLIC_URL must be the URL the directory is served at.
    """
    settings = IssuerSettings()
    engine = writer_engine(settings)
    try:
        with Session(engine) as session:
            artefacts = lifecycle.public_artefacts(session, settings=settings)
    finally:
        engine.dispose()
    root = directory.resolve()
    written = 0
    for art in artefacts:
        target = (root / art.path).resolve()
        if not target.is_relative_to(root):  # names are ours; checked all the same
            raise click.ClickException(f"refusing to write outside {root}: {art.path}")
        written += write_atomically(target, art.body)
    click.echo(f"{len(artefacts)} artefact(s) in {root}, {written} written / 已导出")


def _published_tokens(source: str, list_uris: list[str]) -> list[str]:
    """Return the status list tokens published at ``source``: an export directory (every
    file under ``statuslists/``) or a public base URL (``<url>/statuslists/<id>`` for each
    list the restored database holds; a 404 is a list never published). Raises
    click.ClickException if the source cannot be read."""
    if source.startswith(("http://", "https://")):
        import httpx

        base = source.rstrip("/")
        out: list[str] = []
        with httpx.Client(timeout=10.0, follow_redirects=False) as http:
            for uri in list_uris:
                url = f"{base}/statuslists/{uri.rsplit('/', 1)[-1]}"
                try:
                    r = http.get(url)
                except httpx.HTTPError as exc:
                    raise click.ClickException(f"{url}: {type(exc).__name__}: {exc}") from exc
                if r.status_code == 404:
                    continue
                if r.status_code != 200:
                    raise click.ClickException(f"{url}: HTTP {r.status_code}")
                out.append(r.text)
        return out
    folder = Path(source) / "statuslists"
    if not folder.is_dir():
        raise click.ClickException(f"{folder} is not a directory of published status lists")
    return [
        f.read_text("ascii")
        for f in sorted(folder.iterdir())
        if f.is_file() and not f.name.startswith(".")
    ]


def _since(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return int(dt.datetime.fromisoformat(value).astimezone(dt.UTC).timestamp())
    except ValueError as exc:
        raise click.BadParameter(f"not a POSIX time or ISO 8601 time: {value}") from exc


@issuer_group.command("reconcile-status")
@click.option(
    "--published",
    "source",
    default=None,
    help="The directory `export-public` wrote, or the public base URL it is served at.",
)
@click.option(
    "--none-published",
    is_flag=True,
    help="The office never published a status list: clear the restore's gate without "
    "reading any (audited as such).",
)
@click.option(
    "--since",
    default=None,
    help="The backup's time (POSIX seconds or ISO 8601); default: the last restore's.",
)
@_reports_errors
def reconcile_status_command(source: str | None, none_published: bool, since: str | None) -> None:
    """After `jiaozi restore issuer` and the fresh backup, before the service publishes:
    take the status of every certificate from the status lists published after the
    backup (signatures checked against the restored trust list), so that a certificate
    revoked, suspended or reinstated since is so again, then re-sign the lists changed.
    Until it has run (or `--none-published`), nothing signs or serves a status list.
    """
    if none_published == (source is not None):
        raise click.UsageError("give exactly one of --published DIR_OR_URL and --none-published")
    if source is None:
        _none_published()
        return
    from issuer.issuance import publish_status_list
    from issuer.lifecycle.reconcile import held_list_uris
    from keys import current_trust_list, jiaozi_home

    settings = IssuerSettings()
    store = KeyStore.from_env()
    now = _now()
    signer = store.active_signer(settings.office_id, now=int(now.timestamp()))
    trust = current_trust_list(jiaozi_home())
    engine = writer_engine(settings)
    try:
        with Session(engine) as session:
            uris = held_list_uris(session, settings.office_id)
            tokens = _published_tokens(source, uris)
            done = lifecycle.reconcile_status(
                session,
                tokens=tokens,
                trust=trust,
                settings=settings,
                actor=cli_actor(),
                now=now,
                backup_at=_since(since),
            )
            for list_id in sorted(done.list_ids):
                publish_status_list(
                    session, list_id=list_id, signer=signer, settings=settings, now=now
                )
    finally:
        engine.dispose()
    for c in done.changed:
        click.echo(
            f"{c.certificate_number}: {c.before} -> {c.after} (published iat {c.published_iat})"
        )
    for number in done.kept_revoked:
        click.echo(f"{number}: revoked here, kept revoked (INVALID is final)")
    for uri, n in done.retained.items():
        click.echo(f"{uri}: {n} entr{'y' if n == 1 else 'ies'} of certificates not restored kept")
    for uri in done.unknown:
        click.echo(f"{uri}: not in the restored database (a list made after the backup)")
    click.echo(
        f"{len(tokens)} published list(s) read, {len(done.taken)} newer than the backup, "
        f"{len(done.changed)} certificate(s) reconciled, "
        f"{sum(done.retained.values())} entr(ies) retained; "
        f"re-signed lists: {', '.join(str(i) for i in sorted(done.list_ids)) or 'none'} / 核对完成"
    )
    if done.gate_cleared:
        click.echo("the restore is reconciled: status lists may be published again / 可以发布")


def _none_published() -> None:
    settings = IssuerSettings()
    engine = writer_engine(settings)
    try:
        with Session(engine) as session:
            cleared = lifecycle.none_published(
                session, settings=settings, actor=cli_actor(), now=_now()
            )
    finally:
        engine.dispose()
    if not cleared:
        click.echo("no restore is waiting for a reconcile: nothing changed / 无需核对")
        return
    click.echo(
        "WARNING: cleared without reading any published status list (recorded in the audit "
        "chain as status.reconcile_none_published). If this office published a list after "
        "the backup, its next publication undoes those changes for verifiers new to them: "
        "run `jiaozi issuer reconcile-status --published DIR_OR_URL` instead. / "
        "警告：未读取任何已发布的状态列表即已放行",
        err=True,
    )
    click.echo("status lists may be published again / 可以重新发布状态列表")


# --- jiaozi accounts -------------------------------------------------------------------------


@click.group("accounts")
def accounts_group() -> None:
    """Officers and service clients of the configured office."""


def _show_key(text: str, what: str) -> None:
    click.echo(text)
    click.echo(
        f"{what}. The API key above will not be shown again: store it now "
        "(API密钥仅显示这一次，请立即妥善保存).",
        err=True,
    )


def _create_officer(username: str, name: str, role: str) -> None:
    settings = IssuerSettings()
    engine = writer_engine(settings)
    try:
        with Session(engine) as session:
            accounts.ensure_office(session, settings=settings, now=_now())
            officer, new = accounts.create_officer(
                session,
                office_id=settings.office_id,
                username=username,
                display_name=name,
                role=role,
                actor=cli_actor(),
                now=_now(),
            )
            what = f"Created {role} {officer.username} (id {officer.id}) of {settings.office_id}"
    finally:
        engine.dispose()
    _show_key(new.text, what)


@accounts_group.command("create-admin")
@click.option("--username", required=True, help="Login name: a-z 0-9 . _ - (1-64).")
@click.option("--name", required=True, help="The admin's name as shown.")
@_reports_errors
def create_admin_command(username: str, name: str) -> None:
    """Bootstrap an admin of the configured office and print its API key once."""
    _create_officer(username, name, "admin")


@accounts_group.command("create-officer")
@click.option("--username", required=True, help="Login name: a-z 0-9 . _ - (1-64).")
@click.option("--name", required=True, help="The officer's name as shown.")
@click.option("--role", required=True, type=click.Choice(accounts.ROLES), help="Role.")
@_reports_errors
def create_officer_command(username: str, name: str, role: str) -> None:
    """Create an officer of the configured office and print its API key once."""
    _create_officer(username, name, role)


@accounts_group.command("console-code")
@click.option("--username", required=True, help="The officer's login name.")
@_reports_errors
def console_code_command(username: str) -> None:
    """Print a one-time enrolment code for an officer of the configured office to set
    their console password and TOTP at /office/enrol (also the reset: their sign-in and
    sessions end). A deployment act, like create-admin: how the first admin gets in."""
    settings = IssuerSettings()
    engine = writer_engine(settings)
    try:
        with Session(engine) as session:
            found = [
                o
                for o in accounts.list_officers(session, office_id=settings.office_id)
                if o.username == username.strip().lower()
            ]
            if not found:
                raise click.ClickException(f"no officer {username!r} in {settings.office_id}")
            code = console.issue_enrolment(
                session,
                officer_id=found[0].id,
                office_id=settings.office_id,
                issued_by=None,
                actor=cli_actor(),
                settings=settings,
                now=_now(),
            )
    finally:
        engine.dispose()
    click.echo(code)
    click.echo(
        f"Enrolment code for {found[0].username}, good for {settings.console_enrolment_hours} "
        "hours; it will not be shown again (设置码仅显示这一次).",
        err=True,
    )


@accounts_group.command("create-client")
@click.option("--name", required=True, help="Client name: a-z 0-9 . _ - (1-64).")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(accounts.CLIENT_KINDS),
    help="verifier (restricted list) or mis (event feed).",
)
@_reports_errors
def create_client_command(name: str, kind: str) -> None:
    """Create a service client and print its API key once."""
    settings = IssuerSettings()
    engine = writer_engine(settings)
    try:
        with Session(engine) as session:
            svc, new = accounts.create_client(
                session, name=name, kind=kind, actor=cli_actor(), now=_now()
            )
            what = f"Created {kind} client {svc.name} (id {svc.id})"
    finally:
        engine.dispose()
    _show_key(new.text, what)
