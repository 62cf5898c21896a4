"""``jiaozi trust ...`` and ``jiaozi keys ...``: the national authority's offline commands
(and an office's, for its own keys).

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
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from credential import (
    Algorithm,
    CredentialError,
    PublicKey,
    TrustList,
    rfc3339,
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


def _reports_errors(f: Callable[P, R]) -> Callable[P, R]:
    """Turn a KeysError or CredentialError into a one-line message and exit code 1."""

    @functools.wraps(f)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return f(*args, **kwargs)
        except (KeysError, CredentialError) as exc:
            raise click.ClickException(str(exc)) from exc

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
    if ts is None:
        return "open"
    return rfc3339(dt.datetime.fromtimestamp(ts, dt.UTC))


def _parse_time(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """Return a point in time given as POSIX seconds or RFC 3339 with a UTC offset."""
    text = value.strip()
    if re.fullmatch(r"[0-9]{1,12}", text):
        return int(text)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither POSIX seconds nor an RFC 3339 time", ctx, param
        ) from None
    if parsed.tzinfo is None:
        raise click.BadParameter(f"{text!r} has no UTC offset (add Z or +08:00)", ctx, param)
    seconds = int(parsed.timestamp())
    if seconds < 0:
        raise click.BadParameter(f"{text!r} is before 1970", ctx, param)
    return seconds


def _key_line(key: PublicKey, *, active: bool = False) -> str:
    line = f"{key.kid:<16} {key.alg.value:<6} valid {_time(key.nbf)} → {_time(key.exp)}"
    if key.compromised_at is not None:
        line += f"  COMPROMISED from {_time(key.compromised_at)}"
    if active:
        line += "  [signing]"
    return line


def _active_kid(keys: tuple[PublicKey, ...] | list[PublicKey], now: int) -> str | None:
    usable = [k for k in keys if k.compromised_at is None and k.covers(now) is None]
    if not usable:
        return None
    return max(usable, key=lambda k: k.nbf if k.nbf is not None else -(2**63)).kid


def _resigned(trust_list: TrustList | None) -> str:
    if trust_list is None:
        return ""
    return f"; trust list re-signed, seq {trust_list.sequence}"


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
    click.echo(
        f"trust list seq {trust_list.sequence} signed by root key {root.kid} ({root.alg.value})"
    )
    click.echo(f"  {directory / TRUST_LIST_FILE}")
    click.echo(f"  {directory / ROOT_JWKS_FILE}  (verifiers pin this)")
    click.echo(f"  {directory / ROOT_CERT_FILE}  (PDF readers import this as a trusted root)")


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
        f"office {answer['office_id']} listed; trust list seq {answer['trust_list_seq']}; "
        f"document-signing certificate serial {answer['serial']}"
    )
    click.echo(f"answer written to {out}: the office runs `jiaozi keys install {out.name}`")


@trust_group.command("revoke-docsign")
@click.argument("serial")
@_now_option
@_reports_errors
def trust_revoke_docsign(serial: str, now_ts: int | None) -> None:
    """Revoke the document-signing certificate SERIAL (hexadecimal) from now on."""
    store, now = _store(), _now(now_ts)
    cert, _crl = revoke_document_certificate(store, serial, now=now)
    subject = cert.subject.rfc4514_string()
    click.echo(f"revoked document-signing certificate {cert.serial_number:x} ({subject})")
    click.echo(
        f"  {store.home / TRUST_DIR / DOCSIGN_CRL_FILE}: give it to verifiers with the trust "
        "list (`jiaozi trust export --out DIR`)"
    )


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
@click.option("--name", required=True, help="Office name, e.g. 北京市教育委员会.")
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
    verb = "updated" if was_listed else "added"
    click.echo(f"office {office_id} {verb}; trust list seq {trust_list.sequence}")
    click.echo("  may issue: " + ", ".join(q.slug for q in sorted(office.qualification_types)))
    for key in office.keys:
        click.echo("  key " + _key_line(key))


@trust_group.command("sync")
@click.option("--office", "office_id", required=True, help="Office id.")
@_now_option
@_reports_errors
def trust_sync(office_id: str, now_ts: int | None) -> None:
    """Copy an office's keys from the key store into the trust list and re-sign it."""
    trust_list = sync_office_keys(_store(), office_id, now=_now(now_ts))
    click.echo(f"office {office_id} keys synced; trust list seq {trust_list.sequence}")


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
        f"wrote {Path(out) / TRUST_LIST_FILE} (seq {trust_list.sequence}) "
        f"and {Path(out) / ROOT_JWKS_FILE}"
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
        f"Trust list seq {trust_list.sequence}, issued {_time(trust_list.issued_at)} "
        f"by {trust_list.issuer}"
    )
    click.echo(f"Root keys ({home / TRUST_DIR / ROOT_JWKS_FILE}):")
    active_root = _active_kid(roots, now)
    for key in roots:
        click.echo("  " + _key_line(key, active=key.kid == active_root))
    click.echo(f"Offices ({len(trust_list.offices)}):")
    for office in sorted(trust_list.offices, key=lambda o: o.id):
        click.echo(f"  {office.id}  {office.name}")
        click.echo(f"    province {office.province}, office code {office.office_code}")
        scope = ", ".join(f"{q.slug} {q.short_zh}" for q in sorted(office.qualification_types))
        click.echo(f"    may issue: {scope}")
        active = _active_kid(office.keys, now)
        for key in office.keys:
            click.echo("    key " + _key_line(key, active=key.kid == active))
        if active is None:
            click.echo("    (no key may sign now)")


# --- jiaozi keys -----------------------------------------------------------------------


@click.group("keys")
def keys_group() -> None:
    """Signing keys: create, rotate, mark compromised, publish as JWKS."""


@keys_group.command("create")
@click.option("--office", "office_id", required=True, help="Office id (or 'root').")
@click.option("--alg", type=_ALG_CHOICE, default="EdDSA", show_default=True)
@_now_option
@_reports_errors
def keys_create(office_id: str, alg: str, now_ts: int | None) -> None:
    """Create the first key of an office that holds its own keys (then send its JWKS)."""
    store, now = _store(), _now(now_ts)
    if store.has_owner(office_id):
        raise TrustAdminError(
            f"{office_id} already has keys; use `jiaozi keys rotate --office {office_id}`"
        )
    key = store.create_key(office_id, alg=Algorithm(alg), now=now)
    click.echo(f"created key {_key_line(key)}")
    click.echo(
        f"send `jiaozi keys jwks --office {office_id}` to the national authority "
        "(jiaozi trust add-office --jwks FILE)"
    )


@keys_group.command("init-office")
@click.option("--id", "office_id", required=True, help="Office id, e.g. urn:jiaozi:office:11001.")
@click.option("--name", required=True, help="Office name, e.g. 北京市教育委员会.")
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
    click.echo(f"onboarding request for {office_id} written to {out} (keys {kids})")
    click.echo(f"no secret in it: take it to the key ceremony (`jiaozi trust onboard {out.name}`)")


@keys_group.command("install")
@click.argument("answer", type=click.Path(dir_okay=False, path_type=Path))
@_now_option
@_reports_errors
def keys_install(answer: Path, now_ts: int | None) -> None:
    """Install the key ceremony's ANSWER: trust list, root certificate, own certificate."""
    store, now = _store(), _now(now_ts)
    cert = install_answer(store, read_exchange_file(answer, ANSWER_FORMAT), now=now)
    click.echo(
        f"installed document-signing certificate {cert.serial_number:x}, valid until "
        f"{_time(int(cert.not_valid_after_utc.timestamp()))}, and the trust list"
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
        raise click.UsageError("give exactly one of --office ID and --root")
    owner = ROOT_OWNER if root else str(office_id)
    store, now = _store(), _now(now_ts)
    new, trust_list = rotate_office(
        store, owner, now=now, alg=Algorithm(alg) if alg is not None else None
    )
    click.echo(f"{owner}: new signing key {_key_line(new)}")
    for key in store.public_keys(owner):
        if key.kid != new.kid and key.exp == now + 1:
            click.echo(f"  retired {key.kid}: what it signed until {_time(now)} stays valid")
    if trust_list is not None:
        click.echo(f"trust list re-signed, seq {trust_list.sequence}")
    elif root:
        click.echo("no trust list here to re-sign")
    else:
        click.echo(
            f"trust list not re-signed here (no root key in this home): run `jiaozi keys "
            f"init-office` for {owner} again and take the request to the key ceremony"
        )
    if root:
        click.echo(f"verifiers must pin the new {store.home / TRUST_DIR / ROOT_JWKS_FILE}")


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
    click.echo(f"{kid} compromised from {_time(key.compromised_at)}{_resigned(trust_list)}")
    found = store.find(kid)
    owner = found[0] if found is not None else None
    if owner == ROOT_OWNER:
        click.echo(
            "a root key: run `jiaozi keys rotate --root` to re-sign the trust list with a new "
            "root key, and have verifiers pin the new root.jwks.json"
        )
    elif owner is not None:
        if trust_list is None:
            click.echo(
                "trust list not re-signed here (no root key in this home): the key ceremony "
                f"marks it too (`jiaozi keys compromise {kid} --at ...` in the root home)"
            )
        try:
            store.active_key(owner, now=now)
        except NoActiveKeyError:
            click.echo(
                f"{owner} has no usable signing key now: run `jiaozi keys rotate --office {owner}`"
            )


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
            raise KeyNotFoundError(f"no keys for {office_id!r} in the key store or trust list")
        jwks = {"keys": [k.to_jwk() for k in office.keys]}
    click.echo(json.dumps(jwks, ensure_ascii=False, indent=2))
