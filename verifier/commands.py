"""``jiaozi verifier ...``: run the verifier service and administer it.

    jiaozi verifier serve [--host H --port P]      the HTTP service (uvicorn)
    jiaozi verifier migrate [--check]              upgrade the schema (or say where it is)
    jiaozi verifier sync [--status-uri URI ...]    one sync round, then exit (1 if any failed)
    jiaozi verifier bundle export FILE / import FILE    offline bundles

Settings come from ``JIAOZI_*`` variables (``verifier.settings``). Only click is imported
here at load time, so ``jiaozi --help`` stays fast.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .settings import VerifierSettings

__all__ = ["verifier_group"]


def _now() -> dt.datetime:
    ts = os.environ.get("JIAOZI_NOW")
    if ts:
        return dt.datetime.fromtimestamp(int(ts), dt.UTC)
    return dt.datetime.now(dt.UTC)


def _lang() -> str:
    """Return the language of this command's messages: ``jiaozi --lang`` (the click
    context's meta), else ``JIAOZI_LANG``, else the locale's (``credential.cli_language``)."""
    from credential import cli_language

    ctx = click.get_current_context(silent=True)
    return cli_language(os.environ, ctx.meta.get("jiaozi.lang") if ctx is not None else None)


def _t(text_key: str, /, **fields: object) -> str:
    from credential import cli_text

    return cli_text(text_key, _lang(), **fields)


def _said(text: str) -> str:
    """Return a sync or import line's ``what`` or outcome in the command's language: the
    trust list, a status list or a restricted-list source by its URL; an outcome code."""
    for prefix, key in (("status ", "sync.status"), ("restrictions ", "sync.restrictions")):
        if text.startswith(prefix):
            return _t(key, uri=text[len(prefix) :])
    if text == "trust":
        return _t("sync.trust")
    if text == "kept newer or same":
        return _t("sync.kept")
    if text.startswith("refused: un-revokes "):
        return _t("sync.unrevokes", n=text.split()[2])
    if text in _OUTCOMES:
        return _t(f"sync.{text}")
    return text


_DETAILS = {
    "a newer copy arrived meanwhile": "sync.newer_copy",
    "a newer list arrived meanwhile": "sync.newer_list",
    "no API key for the restricted list": "sync.no_api_key",
    "no trust list URL configured": "sync.no_trust_url",
    "no trust list held": "sync.no_trust",
    "not under a configured issuer": "sync.not_configured",
}


def _detail(text: str) -> str:
    """Return a sync outcome's detail in the command's language: a sequence number, an
    issue time (Beijing time), a known phrase; what a lower layer said is kept as it is."""
    from credential import beijing_text

    head, _, rest = text.partition(" ")
    if head == "seq" and rest.isdigit():
        return _t("sync.seq", n=rest)
    if head == "iat" and rest.isdigit():
        at = dt.datetime.fromtimestamp(int(rest), dt.UTC)
        return _t("sync.iat", at=beijing_text(at, _lang()))
    if text.startswith("rollback: "):
        return _t("sync.rollback", error=text.removeprefix("rollback: "))
    return _t(_DETAILS[text]) if text in _DETAILS else text


_OUTCOMES = frozenset(
    {"updated", "not_modified", "unchanged", "refused", "failed", "skipped", "imported"}
)


def _settings() -> Any:
    from pydantic import ValidationError

    from .settings import VerifierSettings

    try:
        return VerifierSettings()
    except ValidationError as exc:  # one line, naming the variable (JIAOZI_ENV and all)
        msg = "; ".join(
            f"JIAOZI_{'.'.join(str(p) for p in e['loc']).upper() or 'SETTINGS'}: {e['msg']}"
            for e in exc.errors()
        )
        raise click.ClickException(" ".join(_t("batch.settings", error=msg).split())) from exc


def _verifier() -> Any:
    from ._offline import OfflineDataError, load_root_keys
    from .app import Verifier
    from .db import SchemaError

    settings = _settings()
    try:
        roots = load_root_keys(settings.root_jwks)
    except OfflineDataError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        return Verifier(settings, None, _now, roots)
    except SchemaError as exc:  # JIAOZI_AUTO_MIGRATE=false and the schema behind
        raise click.ClickException(str(exc)) from exc


@click.group("verifier")
def verifier_group() -> None:
    """The public verifier service: serve, sync, offline bundles."""


@verifier_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8200, show_default=True, type=int, help="TCP port.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the verifier API (settings from JIAOZI_* variables)."""
    import uvicorn

    import ops

    settings = _settings()  # refuse bad or insecure settings before binding the port
    if not settings.auto_migrate:  # each worker migrates otherwise; else say it here, once
        _require_current_schema(settings.database_url)
    uvicorn.run(
        "verifier.commands:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # every line JSON (JIAOZI_LOG_FORMAT); uvicorn's access log (the raw path) off: the
        # app writes one line per request with the route (ops)
        log_config=ops.log_config("verifier", settings.log_format),
        access_log=False,
        **proxy_options(settings),
    )


def _require_current_schema(url: str) -> None:
    from .db import engine_for, migration_state

    engine = engine_for(url)
    try:
        current, head = migration_state(engine)
    finally:
        engine.dispose()
    if current != head:
        raise click.ClickException(
            _t("verifier.schema_behind", current=current or _t("db.none"), head=head)
        )


def proxy_options(settings: VerifierSettings) -> dict[str, Any]:
    """Return uvicorn's forwarding-header options: off. The app reads X-Forwarded-For and
    X-Forwarded-Proto itself, once, believed only from the configured proxies
    (``JIAOZI_TRUSTED_PROXIES``, none by default; ``verifier.app.routes``), so the address
    the rate limit counts is the same under any server."""
    del settings  # the app applies them
    return {"proxy_headers": False}


def app_factory() -> Any:
    """Return the app for uvicorn (one per worker process)."""
    from .app import create_app

    return create_app(_settings())


@verifier_group.command("migrate")
@click.option("--check", is_flag=True, help="Change nothing: say where the schema stands.")
def migrate(check: bool) -> None:
    """Upgrade the verifier's database schema to this version's (its Alembic revisions,
    version table vf_alembic_version), one replica at a time; with --check only say where
    it stands and exit 1 if it is behind."""
    from .db import SchemaError, engine_for, migration_state, upgrade

    engine = engine_for(_settings().database_url)
    try:
        current, target = migration_state(engine)
        if check:
            behind = current != target
            state = (
                _t("db.behind", command="jiaozi verifier migrate") if behind else _t("db.current")
            )
            click.echo(
                _t(
                    "db.at",
                    service=_t("service.verifier"),
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
    service = _t("service.verifier")
    if before == after:
        click.echo(_t("db.already", service=service, after=after))
    else:
        click.echo(_t("db.upgraded", service=service, before=before or _t("db.none"), after=after))


@verifier_group.command("sync")
@click.option("--status-uri", "status_uris", multiple=True, help="Also fetch this status list.")
def sync(status_uris: tuple[str, ...]) -> None:
    """Run one sync round: trust list, status lists, restricted list."""
    v = _verifier()
    try:
        report = v.syncer.run_once(extra_status=list(status_uris))
    finally:
        v.close()
    for o in report.outcomes:
        detail = _t("sync.detail", detail=_detail(o.detail)) if o.detail else ""
        click.echo(_t("sync.line", what=_said(o.what), outcome=_said(o.outcome), detail=detail))
    sys.exit(0 if report.ok else 1)


@verifier_group.group("bundle")
def bundle() -> None:
    """Offline bundles of the signed trust list, status lists and restricted list."""


@bundle.command("export")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def export_cmd(file: Path) -> None:
    """Write everything held to FILE (JSON of the original signed documents)."""
    from .bundle import BundleError, export_bundle

    v = _verifier()
    try:
        doc = export_bundle(v.engine, _now())
    except BundleError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        v.close()
    file.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    click.echo(
        _t(
            "bundle.wrote",
            file=file,
            lists=len(doc["status_lists"]),
            sources=len(doc["restrictions"]),
        )
    )


@bundle.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
def import_cmd(file: Path) -> None:
    """Verify every document in FILE against the pinned root and hold what is newer."""
    from .bundle import BundleError, import_bundle, read_bundle

    v = _verifier()
    try:
        held = v.store.current()
        b = read_bundle(file.read_bytes(), v.store.roots, previous=held.trust)
        done = import_bundle(v.engine, b, held, _now())
    except (BundleError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        v.close()
    for what, outcome in done:
        click.echo(_t("sync.line", what=_said(what), outcome=_said(outcome), detail=""))
