"""``jiaozi audit ...`` and ``jiaozi reissue``: checking the audit trail and recovering from
a compromised key, run on the office's machine against its database.

Settings come from ``JIAOZI_*`` (``issuer.settings``); keys from the key store at
``$JIAOZI_HOME`` opened with ``$JIAOZI_KEY_PASSPHRASE``. ``JIAOZI_NOW`` (POSIX seconds,
the hidden ``--now``) fixes the clock for tests, as in ``jiaozi keys``.

Exit codes: ``audit verify`` 0 when the trail holds, 1 when it was tampered with;
every command exits 2 when it could not do its work at all (settings, database, keys);
usage errors exit 64 (``jiaozi.cli``'s group).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from credential import Algorithm, CredentialError, PublicKey, cli_text, strict_json_loads
from issuer.audit.check import AuditReport, ChainBroken, verify_audit, write_checkpoint
from issuer.cli._common import cli_actor, cli_lang, writer_engine
from issuer.db.engine import make_engine
from issuer.issuance import ReissueError, SealedDataError, refresh_status_lists, reissue_by_key
from issuer.settings import IssuerSettings
from keys import KeysError, KeyStore

__all__ = ["audit_group", "reissue_command"]

P = ParamSpec("P")
R = TypeVar("R")
EXIT_TAMPERED = 1
EXIT_FAILED = 2


class _Failed(click.ClickException):
    """The command could not do its work (not a verdict on the data): exit 2."""

    exit_code = EXIT_FAILED


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _reports_errors(f: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors a command can meet into one line on stderr and exit code 2."""

    @functools.wraps(f)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return f(*args, **kwargs)
        except ValidationError as exc:  # the settings
            msg = "; ".join(
                f"JIAOZI_{'.'.join(str(p) for p in e['loc']).upper() or 'SETTINGS'}: {e['msg']}"
                for e in exc.errors()
            )
            raise _Failed(_one_line(cli_text("batch.settings", cli_lang(), error=msg))) from exc
        except (KeysError, CredentialError, ReissueError, SealedDataError) as exc:
            raise _Failed(_one_line(str(exc))) from exc
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None) or exc
            text = str(orig).strip()
            first = text.splitlines()[0] if text else type(exc).__name__
            raise _Failed(cli_text("db.error", cli_lang(), error=first)) from exc

    return wrapper


def _now_option(f: Callable[P, R]) -> Callable[P, R]:
    return click.option(
        "--now",
        "now_ts",
        type=int,
        envvar="JIAOZI_NOW",
        hidden=True,
        help="Current time in POSIX seconds (tests).",
    )(f)


def _now(now_ts: int | None) -> dt.datetime:
    ts = int(time.time()) if now_ts is None else now_ts
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def _jwks_keys(path: Path) -> list[PublicKey]:
    try:
        doc = strict_json_loads(path.read_bytes(), str(path))
    except OSError as exc:
        raise _Failed(cli_text("audit.cannot_read", cli_lang(), path=path, error=exc)) from exc
    items = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise _Failed(cli_text("audit.not_jwks", cli_lang(), path=path))
    return [PublicKey.from_jwk(k) for k in items]


# --- jiaozi audit ------------------------------------------------------------------------------


@click.group("audit")
def audit_group() -> None:
    """The audit trail: check it, sign checkpoints."""


_TEXT = {
    "records": ("Records checked", "已检查记录"),
    "head": ("Head row says", "链头记录"),
    "checkpoints": ("Checkpoints", "检查点"),
    "latest": ("latest valid at record", "最新有效检查点在第"),
    "none": ("none valid", "无有效检查点"),
    "first": ("First bad record", "第一条问题记录"),
    "problems": ("Problems found", "发现的问题"),
}


def _say(report: AuditReport, lang: str) -> list[str]:
    en = lang == "en"

    def t(key: str) -> str:
        return _TEXT[key][0 if en else 1]

    colon = ": " if en else "："
    lines = [report.message(lang)]
    lines.append(f"  {t('records')}{colon}{report.records_checked}")
    if report.head_seq is not None:
        lines.append(f"  {t('head')}{colon}{report.head_seq}")
    if report.latest_checkpoint_seq is not None:
        where = f"{t('latest')} {report.latest_checkpoint_seq}" + ("" if en else " 条")
    else:
        where = t("none")
    lines.append(
        f"  {t('checkpoints')}{colon}{report.checkpoints_checked}（{where}）"
        if not en
        else f"  {t('checkpoints')}{colon}{report.checkpoints_checked} ({where})"
    )
    if report.first_bad_seq is not None:
        lines.append(f"  {t('first')}{colon}{report.first_bad_seq}")
    if len(report.problems) > 1:
        lines.append(f"  {t('problems')}{colon.strip()}")
        for p in report.problems:
            lines.append(f"    - {p.message_en if en else p.message_zh}")
    return lines


@audit_group.command("verify")
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="Language of the report [default: jiaozi --lang, JIAOZI_LANG, else the locale's].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--jwks",
    "jwks_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The office's public keys (JWKS) instead of the key store's.",
)
@_reports_errors
def audit_verify(lang: str | None, as_json: bool, jwks_path: Path | None) -> None:
    """Recompute the audit chain from record 1 and check every signed checkpoint.

    Names the first record changed or deleted and a deleted tail. Exit 0 when the trail
    holds, 1 when it was tampered with.
    """
    settings = IssuerSettings()
    if jwks_path is not None:
        public_keys = _jwks_keys(jwks_path)
    else:
        public_keys = KeyStore.from_env().public_keys(settings.office_id)
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            report = verify_audit(session, public_keys=public_keys, office_id=settings.office_id)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        for line in _say(report, lang or cli_lang()):
            click.echo(line)
    if not report.ok:
        raise SystemExit(EXIT_TAMPERED)


@audit_group.command("checkpoint")
@_now_option
@_reports_errors
def audit_checkpoint(now_ts: int | None) -> None:
    """Sign a checkpoint of the audit chain's head with the office's active key."""
    settings = IssuerSettings()
    now = _now(now_ts)
    signer = KeyStore.from_env().active_signer(settings.office_id, now=int(now.timestamp()))
    engine = writer_engine(settings)
    try:
        with Session(engine) as session:
            try:
                cp = write_checkpoint(session, signer=signer, office_id=settings.office_id, now=now)
            except ChainBroken as exc:
                click.echo(exc.report.message(cli_lang()), err=True)
                raise SystemExit(EXIT_TAMPERED) from None
            click.echo(
                cli_text(
                    "audit.checkpoint",
                    cli_lang(),
                    id=cp.id,
                    seq=cp.audit_seq,
                    hash=cp.audit_hash,
                    kid=signer.kid,
                )
            )
    finally:
        engine.dispose()


# --- jiaozi reissue ---------------------------------------------------------------------------


@click.command("reissue")
@click.option("--key", "kid", required=True, help="Id of the compromised key, e.g. 11001-1.")
@click.option(
    "--chunk",
    type=click.IntRange(1, 10_000),
    default=200,
    show_default=True,
    help="Certificates per transaction.",
)
@_now_option
@_reports_errors
def reissue_command(kid: str, chunk: int, now_ts: int | None) -> None:
    """Re-sign every certificate that key KID signed, with the office's active key.

    Each keeps its number and status entry and gets the next version; the old tokens are
    kept as superseded versions, and the audit trail and the event feed record each one.
    Mark the key first (jiaozi keys compromise KID --at TIME) and rotate (jiaozi keys
    rotate --office ID). Safe to run again: what is done is skipped.
    """
    settings = IssuerSettings()
    say = cli_lang()
    now = _now(now_ts)
    store = KeyStore.from_env()
    found = store.find(kid)
    if found is None:
        raise _Failed(cli_text("reissue.no_key", say, kid=kid, dir=store.keys_dir))
    owner, key = found
    if owner != settings.office_id:
        raise _Failed(
            cli_text("reissue.not_ours", say, kid=kid, owner=owner, office=settings.office_id)
        )
    if key.compromised_at is None:
        raise _Failed(cli_text("reissue.not_compromised", say, kid=kid))
    signer = store.issuing_signer(settings.office_id, now=int(now.timestamp()))
    engine = writer_engine(settings)
    try:
        with Session(engine) as session:
            count = reissue_by_key(
                session,
                kid=kid,
                signer=signer,
                settings=settings,
                actor=cli_actor(),
                now=now,
                chunk_size=chunk,
                progress=lambda n: click.echo(cli_text("reissue.progress", say, n=n), err=True),
                sm2=key.alg is Algorithm.SM2SM3,
            )
            # The status lists too: one signed by the compromised key after its
            # compromise time is refused, so every list is re-signed by the new key now.
            refresh_status_lists(session, signer=signer, settings=settings, now=now, every=True)
    finally:
        engine.dispose()
    click.echo(cli_text("reissue.done", say, count=count, kid=kid, new=signer.kid))
