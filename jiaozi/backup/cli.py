"""``jiaozi backup <service> --out FILE`` and ``jiaozi restore <service> FILE``.

One command per service under one verb, each reading that service's own settings
(``JIAOZI_*``, as its ``serve`` does) and home (``$JIAOZI_HOME``): the operator backs up
and restores on the service's machine, with its environment, the way it runs. The archive's
passphrase comes from ``--passphrase-file`` or ``$JIAOZI_BACKUP_PASSPHRASE``; the issuer's
backup also needs ``$JIAOZI_KEY_PASSPHRASE`` (it signs an audit checkpoint).

Exit codes: 0 done; 1 the restored audit chain does not verify; 2 the backup or restore
could not be done (nothing was changed by a refused restore); 64 usage.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

__all__ = ["backup_group", "restore_group"]

P = ParamSpec("P")
R = TypeVar("R")


def _lang() -> str:
    """Return the language of this command's messages: ``jiaozi --lang`` (the click
    context's meta), else ``JIAOZI_LANG``, else the locale's (``credential.cli_language``)."""
    from credential import cli_language

    ctx = click.get_current_context(silent=True)
    return cli_language(os.environ, ctx.meta.get("jiaozi.lang") if ctx is not None else None)


def _t(text_key: str, /, **fields: object) -> str:
    from credential import cli_text

    return cli_text(text_key, _lang(), **fields)


def _when(created_at: object) -> str:
    """Return a manifest's ``created_at`` (RFC 3339) in Beijing time, as every command
    line prints a time; what does not parse is shown as it is."""
    from credential import beijing_text

    try:
        at = dt.datetime.fromisoformat(str(created_at).replace("Z", "+00:00"))
    except ValueError:
        return str(created_at)
    return beijing_text(at if at.tzinfo else at.replace(tzinfo=dt.UTC), _lang())


# the fields of a coded error that are POSIX seconds (keys/'s) or a service's name
_TIME_FIELDS = ("now", "nbf", "since", "at")
_SERVICE_FIELDS = ("found", "service")


def _said(exc: BaseException) -> str:
    """Return the message of a BackupError or KeysError in the command's language: its
    ``backup.error.<code>`` or ``keys.error.<code>`` text, an error among its fields said
    the same way; an error without a code (or a code without a text) by its English
    message, on one line."""
    from credential import CLI_TEXT, beijing_text
    from jiaozi.backup.archive import BackupError

    code, fields = getattr(exc, "code", None), getattr(exc, "fields", None)
    key = f"{'backup' if isinstance(exc, BackupError) else 'keys'}.error.{code}"
    if code is None or not isinstance(fields, dict) or key not in CLI_TEXT:
        return " ".join(str(exc).split())
    values: dict[str, object] = {}
    for name, value in fields.items():
        if isinstance(value, BaseException):
            value = _said(value)
        elif name in _TIME_FIELDS and isinstance(value, int):
            value = beijing_text(dt.datetime.fromtimestamp(value, dt.UTC), _lang())
        elif name in _SERVICE_FIELDS and f"service.{value}" in CLI_TEXT:
            value = _t(f"service.{value}")
        values[name] = value
    return " ".join(_t(key, **values).split())


class _Failed(click.ClickException):
    exit_code = 2


def _reports(f: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors a backup or restore meets into one line on stderr and exit 2."""

    @functools.wraps(f)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from pydantic import ValidationError
        from sqlalchemy.exc import SQLAlchemyError

        from jiaozi.backup.archive import BackupError
        from keys import KeysError

        try:
            return f(*args, **kwargs)
        except (BackupError, KeysError) as exc:
            raise _Failed(_said(exc)) from exc
        except ValidationError as exc:
            raise _Failed(_t("batch.settings", error=exc.errors()[0]["msg"])) from exc
        except ValueError as exc:  # settings refusing production values
            raise _Failed(" ".join(str(exc).split())) from exc
        except SQLAlchemyError as exc:
            text = str(getattr(exc, "orig", None) or exc).strip()
            raise _Failed(_t("db.error", error=text.splitlines()[0] if text else exc)) from exc

    return wrapper


def _production(service: str) -> bool:
    if service == "issuer":
        from issuer.settings import IssuerSettings

        return IssuerSettings().env == "production"
    if service == "registry":
        from registry.settings import RegistrySettings

        return RegistrySettings().env == "production"
    from verifier.settings import VerifierSettings

    return VerifierSettings().env == "production"


def _passphrase(service: str, passphrase_file: Path | None) -> bytes:
    from jiaozi.backup.archive import backup_passphrase

    return backup_passphrase(passphrase_file, production=_production(service))


_OUT = click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write (0600; replaced if it exists).",
)
_PASSFILE = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File whose first line is the archive passphrase (else $JIAOZI_BACKUP_PASSPHRASE).",
)
_ARCHIVE = click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_FORCE = click.option("--force", is_flag=True, help="Replace a database or home that is not empty.")


def _done(manifest: dict[str, object], out: Path) -> None:
    members = manifest.get("members")
    n = len(members) if isinstance(members, dict) else 0
    service = _t(f"service.{manifest['service']}")
    click.echo(_t("backup.done", service=service, out=out, n=n, at=_when(manifest["created_at"])))


@click.group("backup")
def backup_group() -> None:
    """Back up a service into one encrypted archive (docs/operations.md)."""


@backup_group.command("issuer")
@_OUT
@_PASSFILE
@click.option(
    "--serials",
    type=click.IntRange(1, 999_999),
    default=50_000,
    show_default=True,
    help="Serials the office may allocate before the next backup.",
)
@click.option(
    "--lists",
    type=click.IntRange(1, 1000),
    default=2,
    show_default=True,
    help="New status lists the office may make before the next backup.",
)
@click.option(
    "--feeds",
    type=click.IntRange(1, 1 << 40),
    default=None,
    help="Event and restricted-list sequence numbers before the next backup "
    "[default: 4 per serial].",
)
@_reports
def backup_issuer_command(
    out: Path, passphrase_file: Path | None, serials: int, lists: int, feeds: int | None
) -> None:
    """The office: database, key store home, a signed audit checkpoint, the fence."""
    from jiaozi.backup.services import backup_issuer
    from keys import jiaozi_home, passphrase_from_env

    manifest = backup_issuer(
        out,
        passphrase=_passphrase("issuer", passphrase_file),
        home=jiaozi_home(),
        key_passphrase=passphrase_from_env(),
        serials=serials,
        lists=lists,
        feeds=feeds,
    )
    _done(manifest, out)
    cp = manifest.get("audit_checkpoint")
    if isinstance(cp, dict):
        click.echo(_t("backup.checkpoint", seq=cp["audit_seq"]))
    else:
        click.echo(_t("backup.no_checkpoint", problem=manifest.get("audit_problem")), err=True)


@backup_group.command("registry")
@_OUT
@_PASSFILE
@_reports
def backup_registry_command(out: Path, passphrase_file: Path | None) -> None:
    """The registry: database, home (its key, the trust list)."""
    from jiaozi.backup.services import backup_registry
    from keys import jiaozi_home

    manifest = backup_registry(
        out, passphrase=_passphrase("registry", passphrase_file), home=jiaozi_home()
    )
    _done(manifest, out)


@backup_group.command("verifier")
@_OUT
@_PASSFILE
@_reports
def backup_verifier_command(out: Path, passphrase_file: Path | None) -> None:
    """The verifier: database and the pinned root keys."""
    from jiaozi.backup.services import backup_verifier

    manifest = backup_verifier(out, passphrase=_passphrase("verifier", passphrase_file))
    _done(manifest, out)


@click.group("restore")
def restore_group() -> None:
    """Restore a service from an archive: stop the service first."""


def _report(done: object) -> None:
    from jiaozi.backup.services import Restored

    assert isinstance(done, Restored)
    service = _t(f"service.{done.manifest['service']}")
    click.echo(_t("restore.done", service=service, at=_when(done.manifest["created_at"])))
    for path in done.kept_aside:
        click.echo(_t("restore.kept", what=path.name.split(".before-restore-")[0], path=path))
    for note in done.notes_zh if _lang() == "zh" and done.notes_zh else done.notes:
        click.echo(note)
    if done.audit_ok is False:
        raise SystemExit(1)


@restore_group.command("issuer")
@_ARCHIVE
@_PASSFILE
@_FORCE
@click.option(
    "--extra-serials",
    type=click.IntRange(0),
    default=0,
    help="Restoring an OLDER "
    "archive: the serial allowances of every backup taken after it, summed.",
)
@click.option(
    "--extra-lists",
    type=click.IntRange(0),
    default=0,
    help="Restoring an OLDER archive: the list allowances of every backup taken after it, summed.",
)
@click.option(
    "--extra-feeds",
    type=click.IntRange(0),
    default=0,
    help="Restoring an OLDER archive: the feed allowances of every backup taken after it, summed.",
)
@_reports
def restore_issuer_command(
    archive: Path,
    passphrase_file: Path | None,
    force: bool,
    extra_serials: int,
    extra_lists: int,
    extra_feeds: int,
) -> None:
    """The office; then steps past every number and status list the backup's fence allowed
    (no number or status entry handed out after the backup is handed out again)."""
    from issuer.cli._common import cli_actor
    from jiaozi.backup.services import restore_issuer
    from keys import jiaozi_home

    done = restore_issuer(
        archive,
        passphrase=_passphrase("issuer", passphrase_file),
        home=jiaozi_home(),
        force=force,
        extra_serials=extra_serials,
        extra_lists=extra_lists,
        extra_feeds=extra_feeds,
        actor=cli_actor(),
    )
    _report(done)


@restore_group.command("registry")
@_ARCHIVE
@_PASSFILE
@_FORCE
@_reports
def restore_registry_command(archive: Path, passphrase_file: Path | None, force: bool) -> None:
    """The registry."""
    from jiaozi.backup.services import restore_registry
    from keys import jiaozi_home

    done = restore_registry(
        archive,
        passphrase=_passphrase("registry", passphrase_file),
        home=jiaozi_home(),
        force=force,
    )
    _report(done)


@restore_group.command("verifier")
@_ARCHIVE
@_PASSFILE
@_FORCE
@_reports
def restore_verifier_command(archive: Path, passphrase_file: Path | None, force: bool) -> None:
    """The verifier."""
    from jiaozi.backup.services import restore_verifier

    done = restore_verifier(
        archive, passphrase=_passphrase("verifier", passphrase_file), force=force
    )
    _report(done)
