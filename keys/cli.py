"""``jiaozi trust ...`` and ``jiaozi keys ...``: the national authority's offline commands
(and an office's, for its own keys).

They speak the language ``jiaozi --lang`` (or ``JIAOZI_LANG``, or the locale) chooses, with
the texts of ``credential.CLI_TEXT`` (``trust.*``, ``keys.*``) and times in Beijing time; a
KeysError with a ``code`` is said with ``keys.error.<code>``.

Settings come from the environment: ``JIAOZI_HOME`` (default ``var/``),
``JIAOZI_KEY_PASSPHRASE`` (required for anything that creates or uses a private key) and,
for tests, ``JIAOZI_NOW`` (POSIX seconds; also the hidden ``--now`` option). A KeysError
or CredentialError is printed as one line on stderr with exit code 1; usage errors exit 64
(``jiaozi.cli``'s group does that).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from credential import (
    Algorithm,
    CredentialError,
    InvalidFieldError,
    PublicKey,
    QualificationType,
    TrustList,
    beijing_text,
    cli_language,
    cli_text,
    strict_json_loads,
)

from ._ceremony import (
    ANSWER_FORMAT,
    REQUEST_FORMAT,
    init_office,
    install_answer,
    onboard,
    read_exchange_file,
    revoke_document_certificate,
)
from ._errors import (
    InvalidJwksError,
    KeyNotFoundError,
    KeysError,
    NoActiveKeyError,
    TrustAdminError,
)
from ._files import jiaozi_home, passphrase_from_env, write_atomic
from ._store import ROOT_OWNER, KeyStore
from ._trustadmin import (
    DOCSIGN_CRL_FILE,
    ROOT_JWKS_FILE,
    TRUST_DIR,
    TRUST_LIST_FILE,
    add_office,
    current_trust_list,
    current_trust_token,
    export_trust,
    init_trust,
    is_initialised,
    mark_compromised,
    root_keys,
    rotate_office,
    sync_office_keys,
)
from ._x509 import ROOT_CERT_FILE, root_signing_key

__all__ = ["keys_group", "trust_group"]

P = ParamSpec("P")
R = TypeVar("R")

_ALG_CHOICE = click.Choice([a.value for a in Algorithm])


def _lang() -> str:
    """Return the language of this command's messages: ``jiaozi --lang`` (the click
    context's meta), else ``JIAOZI_LANG``, else the locale's (``credential.cli_language``)."""
    ctx = click.get_current_context(silent=True)
    return cli_language(os.environ, ctx.meta.get("jiaozi.lang") if ctx is not None else None)


def _t(text_key: str, /, **fields: object) -> str:
    return cli_text(text_key, _lang(), **fields)


# KeysError fields that are POSIX seconds (shown in Beijing time) or a key owner
_TIME_FIELDS = ("now", "nbf", "since", "at")


def _error_text(exc: KeysError | CredentialError) -> str:
    """Return the message of ``exc`` in the command's language: its ``keys.error.<code>``
    text, else the message of a credential field error it wraps, else its own
    English message (click puts 错误： or Error: before it)."""
    code = getattr(exc, "code", None)
    if isinstance(exc, KeysError) and code is not None:
        fields = dict(exc.fields)
        for name in _TIME_FIELDS:
            if isinstance(fields.get(name), int):
                fields[name] = _time(fields[name])  # type: ignore[arg-type]
        if fields.get("owner") == ROOT_OWNER:
            fields["owner"] = _t("keys.root")
        return _t(f"keys.error.{code}", **fields)
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, InvalidFieldError):  # without the field's code before it
            return cause.message_zh if _lang() == "zh" else cause.message
        cause = cause.__cause__
    return str(exc)


def _reports_errors(f: Callable[P, R]) -> Callable[P, R]:
    """Turn a KeysError or CredentialError into a one-line message and exit code 1."""

    @functools.wraps(f)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return f(*args, **kwargs)
        except (KeysError, CredentialError) as exc:
            raise click.ClickException(_error_text(exc)) from exc

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


def _now(now_ts: int | None) -> int:
    return int(time.time()) if now_ts is None else now_ts


def _store() -> KeyStore:
    return KeyStore(jiaozi_home(), passphrase_from_env())


def _time(ts: int | None) -> str:
    """Return POSIX seconds in Beijing time (``keys.open`` for no limit)."""
    if ts is None:
        return _t("keys.open")
    return beijing_text(dt.datetime.fromtimestamp(ts, dt.UTC), _lang())


def _owner(owner: str) -> str:
    return _t("keys.root") if owner == ROOT_OWNER else owner


def _scope(types: frozenset[QualificationType]) -> str:
    """Return an office's scope as people read it: each type's number (what ``--types``
    takes) and name, never the code."""
    lang = _lang()
    return _t("keys.scope_joiner").join(
        _t("keys.scope_item", n=q.value, name=q.short_zh if lang == "zh" else q.name_en)
        for q in sorted(types)
    )


def _parse_time(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """Return a point in time given as POSIX seconds or RFC 3339 with a UTC offset."""
    text = value.strip()
    if re.fullmatch(r"[0-9]{1,12}", text):
        return int(text)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(_t("keys.bad_time", value=text), ctx, param) from None
    if parsed.tzinfo is None:
        raise click.BadParameter(_t("keys.time_no_offset", value=text), ctx, param)
    seconds = int(parsed.timestamp())
    if seconds < 0:
        raise click.BadParameter(_t("keys.time_before_1970", value=text), ctx, param)
    return seconds


def _key_line(key: PublicKey, *, active: bool = False) -> str:
    line = _t("keys.line", kid=key.kid, alg=key.alg.value, nbf=_time(key.nbf), exp=_time(key.exp))
    if key.compromised_at is not None:
        line += _t("keys.line_compromised", at=_time(key.compromised_at))
    if active:
        line += _t("keys.line_signing")
    return line


def _active_kid(keys: tuple[PublicKey, ...] | list[PublicKey], now: int) -> str | None:
    usable = [k for k in keys if k.compromised_at is None and k.covers(now) is None]
    if not usable:
        return None
    return max(usable, key=lambda k: k.nbf if k.nbf is not None else -(2**63)).kid


def _resigned(trust_list: TrustList | None) -> str:
    if trust_list is None:
        return ""
    return _t("keys.resigned_tail", seq=trust_list.sequence)


# --- jiaozi trust ----------------------------------------------------------------------


@click.group("trust")
def trust_group() -> None:
    """National trust list: init, add offices, show, export (offline, root key)."""


@trust_group.command("init")
@click.option("--force", is_flag=True, help="Replace an existing trust list with an empty one.")
@click.option(
    "--alg",
    type=_ALG_CHOICE,
    default="ES256",
    show_default=True,
    help="Root key (ES256: PDF validators such as pdfsig/NSS accept no Ed25519 CA).",
)
@_now_option
@_reports_errors
def trust_init(force: bool, alg: str, now_ts: int | None) -> None:
    """Create the root key (if none), its CA certificate, and sign an empty trust list.

    Run in the ROOT home of the key ceremony (an offline machine), never an office's.
    """
    store, now = _store(), _now(now_ts)
    trust_list = init_trust(store, now=now, force=force, alg=Algorithm(alg))
    root = store.active_key(ROOT_OWNER, now=now)
    root_signing_key(store, now=now)
    directory = store.home / TRUST_DIR
    click.echo(_t("trust.initialised", seq=trust_list.sequence, kid=root.kid, alg=root.alg.value))
    click.echo(_t("trust.file", path=directory / TRUST_LIST_FILE))
    click.echo(_t("trust.file_pinned", path=directory / ROOT_JWKS_FILE))
    click.echo(_t("trust.file_root_cert", path=directory / ROOT_CERT_FILE))


def _write_exchange(out: Path, doc: dict[str, Any]) -> None:
    data = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    try:
        write_atomic(out, data, mode=0o644)
    except OSError as exc:
        raise TrustAdminError(f"cannot write {out}: {exc}") from exc


@trust_group.command("onboard")
@click.argument("request", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the answer for the office (`jiaozi keys install ANSWER`).",
)
@click.option(
    "--days",
    type=click.IntRange(1, 1830),
    default=730,
    show_default=True,
    help="Validity of the document-signing certificate.",
)
@_now_option
@_reports_errors
def trust_onboard(request: Path, out: Path, days: int, now_ts: int | None) -> None:
    """Answer an office's onboarding REQUEST: list it, certify its document-signing key."""
    store, now = _store(), _now(now_ts)
    answer = onboard(store, read_exchange_file(request, REQUEST_FORMAT), now=now, days=days)
    _write_exchange(out, answer)
    click.echo(
        _t(
            "trust.onboarded",
            office=answer["office_id"],
            seq=answer["trust_list_seq"],
            serial=answer["serial"],
        )
    )
    click.echo(_t("trust.answer_written", out=out, name=out.name))


@trust_group.command("revoke-docsign")
@click.argument("serial")
@_now_option
@_reports_errors
def trust_revoke_docsign(serial: str, now_ts: int | None) -> None:
    """Revoke the document-signing certificate SERIAL (hexadecimal) from now on."""
    store, now = _store(), _now(now_ts)
    cert, _crl = revoke_document_certificate(store, serial, now=now)
    subject = cert.subject.rfc4514_string()
    click.echo(_t("trust.docsign_revoked", serial=f"{cert.serial_number:x}", subject=subject))
    click.echo(_t("trust.docsign_crl", path=store.home / TRUST_DIR / DOCSIGN_CRL_FILE))


def _read_jwks(path: Path) -> dict[str, Any]:
    try:
        doc = strict_json_loads(path.read_bytes(), str(path))
    except OSError as exc:
        raise InvalidJwksError(f"cannot read {path}: {exc}") from exc
    except CredentialError as exc:
        raise InvalidJwksError(str(exc)) from exc
    if not isinstance(doc, dict):
        raise InvalidJwksError(f'{path}: not a JWKS (an object with "keys")')
    return doc


@trust_group.command("add-office")
@click.option("--id", "office_id", required=True, help="Office id, e.g. urn:jiaozi:office:11001.")
@click.option("--name", required=True, help="Office name, as its certificates print it.")
@click.option("--province", required=True, help="2-digit province code (GB/T 2260), e.g. 11.")
@click.option("--office-code", required=True, help="3-digit office code, e.g. 001.")
@click.option(
    "--types",
    required=True,
    help="Qualification types it may issue, comma-separated: kindergarten,primary,... or 1-7.",
)
@click.option("--alg", type=_ALG_CHOICE, default="EdDSA", show_default=True, help="New key.")
@click.option(
    "--jwks",
    "jwks_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The office's own public keys (JWKS) instead of a key generated here.",
)
@_now_option
@_reports_errors
def trust_add_office(
    office_id: str,
    name: str,
    province: str,
    office_code: str,
    types: str,
    alg: str,
    jwks_path: Path | None,
    now_ts: int | None,
) -> None:
    """Add (or update) an office: scope and keys; re-signs the trust list."""
    store, now = _store(), _now(now_ts)
    jwks = _read_jwks(jwks_path) if jwks_path is not None else None
    was_listed = is_initialised(store.home) and (
        current_trust_list(store.home).office(office_id) is not None
    )
    trust_list = add_office(
        store,
        office_id=office_id,
        name=name,
        province=province,
        office_code=office_code,
        qualification_types=[t.strip() for t in types.split(",") if t.strip()],
        now=now,
        alg=Algorithm(alg),
        jwks=jwks,
    )
    office = trust_list.office(office_id)
    assert office is not None
    said = "trust.office_updated" if was_listed else "trust.office_added"
    click.echo(_t(said, office=office_id, seq=trust_list.sequence))
    click.echo(_t("trust.may_issue", scope=_scope(office.qualification_types)))
    for key in office.keys:
        click.echo(_t("trust.key", line=_key_line(key)))


@trust_group.command("sync")
@click.option("--office", "office_id", required=True, help="Office id.")
@_now_option
@_reports_errors
def trust_sync(office_id: str, now_ts: int | None) -> None:
    """Copy an office's keys from the key store into the trust list and re-sign it."""
    trust_list = sync_office_keys(_store(), office_id, now=_now(now_ts))
    click.echo(_t("trust.synced", office=office_id, seq=trust_list.sequence))


@trust_group.command("export")
@click.option(
    "--out",
    default="-",
    show_default=True,
    help="Directory for trust-list.jwt and root.jwks.json; '-' prints the trust list JWT.",
)
@_reports_errors
def trust_export(out: str) -> None:
    """Export the signed trust list (and the root JWKS) for verifiers."""
    home = jiaozi_home()
    if out == "-":
        click.echo(current_trust_token(home))
        return
    trust_list = export_trust(home, Path(out))
    click.echo(
        _t(
            "trust.exported",
            file=Path(out) / TRUST_LIST_FILE,
            seq=trust_list.sequence,
            jwks=Path(out) / ROOT_JWKS_FILE,
        )
    )


@trust_group.command("show")
@_now_option
@_reports_errors
def trust_show(now_ts: int | None) -> None:
    """Show the current trust list: offices, their scope, their keys and windows."""
    home, now = jiaozi_home(), _now(now_ts)
    trust_list = current_trust_list(home)
    roots = root_keys(home)
    click.echo(
        _t(
            "trust.show_head",
            seq=trust_list.sequence,
            at=_time(trust_list.issued_at),
            issuer=trust_list.issuer,
        )
    )
    click.echo(_t("trust.show_roots", path=home / TRUST_DIR / ROOT_JWKS_FILE))
    active_root = _active_kid(roots, now)
    for key in roots:
        click.echo(_t("trust.show_root_key", line=_key_line(key, active=key.kid == active_root)))
    click.echo(_t("trust.show_offices", n=len(trust_list.offices)))
    for office in sorted(trust_list.offices, key=lambda o: o.id):
        click.echo(_t("trust.show_office", office=office.id, name=office.name))
        click.echo(_t("trust.show_codes", province=office.province, code=office.office_code))
        click.echo(_t("trust.show_scope", scope=_scope(office.qualification_types)))
        active = _active_kid(office.keys, now)
        for key in office.keys:
            click.echo(_t("trust.show_key", line=_key_line(key, active=key.kid == active)))
        if active is None:
            click.echo(_t("trust.show_no_signer"))


# --- jiaozi keys -----------------------------------------------------------------------


@click.group("keys")
def keys_group() -> None:
    """Signing keys: create, rotate, mark compromised, publish as JWKS."""


@keys_group.command("create")
@click.option("--office", "office_id", required=True, help="Office id (or 'root').")
@click.option(
    "--alg", type=_ALG_CHOICE, default="EdDSA", show_default=True, help="Algorithm of the key."
)
@_now_option
@_reports_errors
def keys_create(office_id: str, alg: str, now_ts: int | None) -> None:
    """Create the first key of an office that holds its own keys (then send its JWKS)."""
    store, now = _store(), _now(now_ts)
    if store.has_owner(office_id):
        raise TrustAdminError(
            f"{office_id} already has keys; use `jiaozi keys rotate --office {office_id}`",
            code="has_keys",
            office=office_id,
        )
    key = store.create_key(office_id, alg=Algorithm(alg), now=now)
    click.echo(_t("keys.created", line=_key_line(key)))
    click.echo(_t("keys.send_jwks", office=office_id))


@keys_group.command("init-office")
@click.option("--id", "office_id", required=True, help="Office id, e.g. urn:jiaozi:office:11001.")
@click.option("--name", required=True, help="Office name, as its certificates print it.")
@click.option("--province", required=True, help="2-digit province code (GB/T 2260), e.g. 11.")
@click.option("--office-code", required=True, help="3-digit office code, e.g. 001.")
@click.option("--types", required=True, help="Qualification types it may issue, comma-separated.")
@click.option("--alg", type=_ALG_CHOICE, default="EdDSA", show_default=True, help="Token key.")
@click.option(
    "--new-docsign-key",
    is_flag=True,
    help="Make a new document-signing key (it replaces the old one once certified).",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the onboarding request for the key ceremony.",
)
@_now_option
@_reports_errors
def keys_init_office(
    office_id: str,
    name: str,
    province: str,
    office_code: str,
    types: str,
    alg: str,
    new_docsign_key: bool,
    out: Path,
    now_ts: int | None,
) -> None:
    """Make this office's keys here (if missing) and write its onboarding request.

    Run in the office's own home; again to renew its certificate or after a key rotation.
    """
    store, now = _store(), _now(now_ts)
    request = init_office(
        store,
        office_id=office_id,
        name=name,
        province=province,
        office_code=office_code,
        qualification_types=[t.strip() for t in types.split(",") if t.strip()],
        now=now,
        alg=Algorithm(alg),
        new_docsign_key=new_docsign_key,
    )
    _write_exchange(out, request)
    kids = ", ".join(k["kid"] for k in request["jwks"]["keys"])
    click.echo(_t("keys.request_written", office=office_id, out=out, kids=kids))
    click.echo(_t("keys.request_no_secret", name=out.name))


@keys_group.command("install")
@click.argument("answer", type=click.Path(dir_okay=False, path_type=Path))
@_now_option
@_reports_errors
def keys_install(answer: Path, now_ts: int | None) -> None:
    """Install the key ceremony's ANSWER: trust list, root certificate, own certificate."""
    store, now = _store(), _now(now_ts)
    cert = install_answer(store, read_exchange_file(answer, ANSWER_FORMAT), now=now)
    click.echo(
        _t(
            "keys.installed",
            serial=f"{cert.serial_number:x}",
            until=_time(int(cert.not_valid_after_utc.timestamp())),
        )
    )


@keys_group.command("rotate")
@click.option("--office", "office_id", help="Office id whose key to rotate.")
@click.option("--root", "root", is_flag=True, help="Rotate the national root key instead.")
@click.option("--alg", type=_ALG_CHOICE, help="Algorithm of the new key [default: unchanged].")
@_now_option
@_reports_errors
def keys_rotate(office_id: str | None, root: bool, alg: str | None, now_ts: int | None) -> None:
    """Retire the current key, create its successor, and re-sign the trust list."""
    if root == (office_id is not None):
        raise click.UsageError(_t("keys.rotate_usage"))
    owner = ROOT_OWNER if root else str(office_id)
    store, now = _store(), _now(now_ts)
    new, trust_list = rotate_office(
        store, owner, now=now, alg=Algorithm(alg) if alg is not None else None
    )
    click.echo(_t("keys.rotated", owner=_owner(owner), line=_key_line(new)))
    for key in store.public_keys(owner):
        if key.kid != new.kid and key.exp == now + 1:
            click.echo(_t("keys.retired", kid=key.kid, at=_time(now)))
    if trust_list is not None:
        click.echo(_t("keys.resigned", seq=trust_list.sequence))
    elif root:
        click.echo(_t("keys.no_list"))
    else:
        click.echo(_t("keys.not_resigned_rotate", owner=owner))
    if root:
        click.echo(_t("keys.pin_new_root", path=store.home / TRUST_DIR / ROOT_JWKS_FILE))


@keys_group.command("compromise")
@click.argument("kid")
@click.option(
    "--at",
    "at",
    metavar="TIME",
    required=True,
    callback=_parse_time,
    help="Compromised from: RFC 3339 (e.g. 2026-11-29T08:00:00+08:00) or POSIX seconds.",
)
@_now_option
@_reports_errors
def keys_compromise(kid: str, at: int, now_ts: int | None) -> None:
    """Mark key KID compromised from --at: what it signed from then on is not valid."""
    store, now = _store(), _now(now_ts)
    key, trust_list = mark_compromised(store, kid, at=at, now=now)
    click.echo(
        _t("keys.compromised", kid=kid, at=_time(key.compromised_at), tail=_resigned(trust_list))
    )
    found = store.find(kid)
    owner = found[0] if found is not None else None
    if owner == ROOT_OWNER:
        click.echo(_t("keys.compromised_root"))
    elif owner is not None:
        if trust_list is None:
            click.echo(_t("keys.not_resigned_compromise", kid=kid))
        try:
            store.active_key(owner, now=now)
        except NoActiveKeyError:
            click.echo(_t("keys.no_signer_now", owner=owner))


@keys_group.command("jwks")
@click.option("--office", "office_id", required=True, help="Office id (or 'root').")
@_reports_errors
def keys_jwks(office_id: str) -> None:
    """Print an office's public keys as a JWKS (what its issuer serves)."""
    store = _store()
    if store.has_owner(office_id):
        jwks = store.jwks(office_id)
    else:
        office = (
            current_trust_list(store.home).office(office_id) if is_initialised(store.home) else None
        )
        if office is None:
            raise KeyNotFoundError(
                f"no keys for {office_id!r} in the key store or trust list",
                code="no_owner_anywhere",
                owner=office_id,
            )
        jwks = {"keys": [k.to_jwk() for k in office.keys]}
    click.echo(json.dumps(jwks, ensure_ascii=False, indent=2))
