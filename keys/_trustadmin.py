"""Trust administration for the national authority (contract section 6).

State under the Jiaozi home::

    trust/
      trust-list.jwt      the current signed trust list (typ jiaozi-trustlist+jwt)
      root.jwks.json      the national root's public keys, for verifiers to pin
      root.crt            the root's X.509 CA certificate (``keys._x509``; PDF chains)
      docsign.crl         revoked document-signing certificates, signed by the root
                          (``keys._ceremony``); exported with the list when present

Every change reads the current list (verified against the stored root keys), builds the
next one with ``seq + 1``, signs it with the root's active key, verifies the result
against the root keys (with ``previous`` set, so a rollback can never be written), and
then replaces both files atomically. The key store's lock is held throughout, so two
commands never sign the same sequence number.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from credential import (
    REGISTRY_ID,
    Algorithm,
    CredentialError,
    Office,
    PublicKey,
    QualificationType,
    TrustList,
    parse_jws,
    sign_trust_list,
    strict_json_loads,
    verify_trust_list,
)

from ._errors import (
    InvalidJwksError,
    InvalidOfficeError,
    KeyNotFoundError,
    KeysError,
    NoActiveKeyError,
    TrustAdminError,
    TrustNotInitialisedError,
)
from ._files import write_atomic
from ._store import ROOT_OWNER, KeyStore, needs_compromise_mark, owner_dir

__all__ = [
    "DOCSIGN_CRL_FILE",
    "ROOT_JWKS_FILE",
    "TRUST_DIR",
    "TRUST_LIST_FILE",
    "add_office",
    "current_trust_list",
    "current_trust_token",
    "export_trust",
    "init_trust",
    "is_initialised",
    "mark_compromised",
    "root_keys",
    "rotate_office",
    "rotate_root",
    "sync_office_keys",
]

TRUST_DIR = "trust"
DOCSIGN_CRL_FILE = "docsign.crl"
TRUST_LIST_FILE = "trust-list.jwt"
ROOT_JWKS_FILE = "root.jwks.json"
_PROVINCE = re.compile(r"[0-9]{2}")
_OFFICE_CODE = re.compile(r"[0-9]{3}")


def _paths(home: Path) -> tuple[Path, Path]:
    directory = Path(home) / TRUST_DIR
    return directory / TRUST_LIST_FILE, directory / ROOT_JWKS_FILE


def is_initialised(home: Path) -> bool:
    """Return True when ``home`` holds a trust list (``jiaozi trust init`` has run)."""
    return _paths(home)[0].exists()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise TrustNotInitialisedError(
            f"{path} does not exist: run `jiaozi trust init` first", code="no_trust", path=path
        ) from exc
    except OSError as exc:
        raise TrustAdminError(f"cannot read {path}: {exc}") from exc


def _parse_root_jwks(raw: bytes, what: str) -> list[PublicKey]:
    try:
        doc = strict_json_loads(raw, what)
        items = doc.get("keys") if isinstance(doc, dict) else None
        if not isinstance(items, list) or not items:
            raise TrustAdminError(f'{what}: not a JWKS (an object with a non-empty "keys")')
        return [PublicKey.from_jwk(item) for item in items]
    except CredentialError as exc:
        raise TrustAdminError(f"{what}: {exc}") from exc


def root_keys(home: Path) -> list[PublicKey]:
    """Return the root public keys stored in ``<home>/trust/root.jwks.json``."""
    path = _paths(home)[1]
    return _parse_root_jwks(_read(path), str(path))


def _token(home: Path) -> str:
    path = _paths(home)[0]
    try:
        return _read(path).decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise TrustAdminError(f"{path} is not a compact JWS") from exc


def current_trust_list(home: Path) -> TrustList:
    """Return the stored trust list, verified against the stored root keys.

    Raises TrustNotInitialisedError when there is none, TrustAdminError when it does not
    verify (wrong signature, outside the root key's window, misshapen).
    """
    token, roots = _token(home), root_keys(home)
    try:
        return verify_trust_list(token, roots)
    except CredentialError as exc:
        raise TrustAdminError(f"stored trust list does not verify: {exc}") from exc


def current_trust_token(home: Path) -> str:
    """Return the stored trust list's compact JWS, after verifying it like
    ``current_trust_list`` (what the issuer serves and ``trust export -`` prints)."""
    token, roots = _token(home), root_keys(home)
    try:
        verify_trust_list(token, roots)
    except CredentialError as exc:
        raise TrustAdminError(f"stored trust list does not verify: {exc}") from exc
    return token


def _own_trust_list(home: Path) -> TrustList:
    """Return the stored trust list checking its signature but not the root keys'
    windows: what a root rotation after a root compromise starts from."""
    token = _token(home)
    roots = [
        dataclasses.replace(k, nbf=None, exp=None, compromised_at=None) for k in root_keys(home)
    ]
    try:
        return verify_trust_list(token, roots)
    except CredentialError as exc:
        raise TrustAdminError(f"stored trust list does not verify: {exc}") from exc


def _dump_jwks(jwks: Mapping[str, Any]) -> bytes:
    return (json.dumps(jwks, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _write_root_jwks(store: KeyStore) -> None:
    path = _paths(store.home)[1]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, _dump_jwks(store.jwks(ROOT_OWNER)), mode=0o644)
    except OSError as exc:
        raise TrustAdminError(f"cannot write {path}: {exc}") from exc


def _publish(
    store: KeyStore, trust_list: TrustList, *, now: int, previous: TrustList | None
) -> TrustList:
    """Sign ``trust_list`` with the root's active key, check it, write it; return it."""
    root = store.active_signer(ROOT_OWNER, now=now)
    token = sign_trust_list(trust_list, root)
    try:
        verified = verify_trust_list(token, store.public_keys(ROOT_OWNER), previous=previous)
    except CredentialError as exc:  # pragma: no cover - a bug, not an input error
        raise TrustAdminError(f"the newly signed trust list does not verify: {exc}") from exc
    _write_root_jwks(store)
    path = _paths(store.home)[0]
    try:
        write_atomic(path, (token + "\n").encode("ascii"), mode=0o644)
    except OSError as exc:
        raise TrustAdminError(f"cannot write {path}: {exc}") from exc
    return verified


def _stored_sequence(home: Path) -> int | None:
    """Return the seq of the stored trust list without verifying it, or None."""
    try:
        seq = parse_jws(_token(home), max_length=4 * 1024 * 1024).payload.get("seq")
    except (KeysError, CredentialError):
        return None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def init_trust(
    store: KeyStore, *, now: int, force: bool = False, alg: Algorithm = Algorithm.ES256
) -> TrustList:
    """Create the trust state: a root key if there is no usable one, and an empty trust
    list signed by it (seq 1).

    A new root is P-256 (ES256) by default: the same key certifies the offices' PDF
    document-signing keys, and NSS (pdfsig) accepts no Ed25519 CA (docs/key-ceremony.md).

    Refuses (TrustAdminError) when a trust list already exists, unless ``force``: then
    the new, empty list continues the old list's sequence, so verifiers that have seen
    the old one accept it rather than treating it as a rollback.
    """
    with store.locked():
        seq = 1
        if is_initialised(store.home):
            if not force:
                raise TrustAdminError(
                    f"trust already initialised in {_paths(store.home)[0].parent}; "
                    "use --force to replace it with an empty list",
                    code="trust_exists",
                    dir=_paths(store.home)[0].parent,
                )
            seq = (_stored_sequence(store.home) or 0) + 1
        try:
            store.active_key(ROOT_OWNER, now=now)
        except (KeyNotFoundError, NoActiveKeyError):
            store.create_key(ROOT_OWNER, alg=alg, now=now)
        try:
            _paths(store.home)[0].parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TrustAdminError(f"cannot create {store.home / TRUST_DIR}: {exc}") from exc
        return _publish(store, TrustList(seq, now, ()), now=now, previous=None)


def _check_office(office_id: str, name: str, province: str, office_code: str) -> None:
    if office_id == ROOT_OWNER:
        raise InvalidOfficeError('"root" is the national root, not an office id', code="root_id")
    try:
        owner_dir(office_id)
    except KeysError as exc:
        raise InvalidOfficeError(
            f"office id must be non-empty printable text without surrounding spaces: {exc}"
        ) from exc
    if not isinstance(name, str) or not name.strip():
        raise InvalidOfficeError("office name is empty", code="no_name")
    if not _PROVINCE.fullmatch(province) or int(province) < 11:
        raise InvalidOfficeError(
            f"province must be the 2-digit GB/T 2260 province code (11-99), got {province!r}",
            code="province",
            value=province,
        )
    if not _OFFICE_CODE.fullmatch(office_code):
        raise InvalidOfficeError(
            f"office code must be 3 digits, got {office_code!r}",
            code="office_code",
            value=office_code,
        )


def _scope(
    qualification_types: Iterable[QualificationType | str | int],
) -> frozenset[QualificationType]:
    if isinstance(qualification_types, str):
        qualification_types = [t for t in qualification_types.split(",") if t.strip()]
    try:
        scope = frozenset(QualificationType.parse(t) for t in qualification_types)
    except CredentialError as exc:  # the command line says it with the cause's Chinese
        raise InvalidOfficeError(str(exc)) from exc
    if not scope:
        raise InvalidOfficeError("an office needs at least one qualification type", code="no_scope")
    return scope


def _import_jwks(store: KeyStore, office_id: str, jwks: Mapping[str, Any]) -> tuple[PublicKey, ...]:
    items = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(items, list) or not items:
        raise InvalidJwksError('office JWKS must be an object with a non-empty "keys" array')
    keys: list[PublicKey] = []
    for n, item in enumerate(items):
        kid = item.get("kid") if isinstance(item, Mapping) else None
        try:
            key = PublicKey.from_jwk(item)
        except CredentialError as exc:
            raise InvalidJwksError(
                f"office {office_id}: JWKS key {n} (kid {kid!r}) refused: {exc}"
            ) from exc
        if any(k.kid == key.kid for k in keys):
            raise InvalidJwksError(f"office {office_id}: kid {key.kid!r} appears twice")
        found = store.find(key.kid)
        if found is not None:
            raise InvalidJwksError(
                f"office {office_id}: kid {key.kid!r} is already a key of {found[0]!r} here"
            )
        keys.append(key)
    return tuple(keys)


def _merge_listed(
    office_id: str, listed: tuple[PublicKey, ...], imported: tuple[PublicKey, ...]
) -> tuple[PublicKey, ...]:
    """Return ``imported`` checked against the keys already listed for the office.

    A listed key may not disappear (what it signed would stop verifying: an office
    publishes retired keys with their ``exp``), and a compromise already recorded here
    is kept (the earlier of the two times wins).
    """
    by_kid = {k.kid: k for k in imported}
    missing = [k.kid for k in listed if k.kid not in by_kid]
    if missing:
        raise InvalidJwksError(
            f"office {office_id}: the JWKS drops listed key(s) {', '.join(missing)}; "
            "keep retired keys in it, with their exp, so what they signed stays valid"
        )
    for old in listed:
        new = by_kid[old.kid]
        if old.compromised_at is not None and (
            new.compromised_at is None or new.compromised_at > old.compromised_at
        ):
            by_kid[old.kid] = dataclasses.replace(new, compromised_at=old.compromised_at)
    return tuple(by_kid[k.kid] for k in imported)


def add_office(
    store: KeyStore,
    *,
    office_id: str,
    name: str,
    province: str,
    office_code: str,
    qualification_types: Iterable[QualificationType | str | int],
    now: int,
    generate_key: bool = True,
    alg: Algorithm = Algorithm.EDDSA,
    jwks: Mapping[str, Any] | None = None,
) -> TrustList:
    """Add an office to the trust list (or update it: name, scope, keys) and re-sign.

    Keys: those of ``jwks`` when given (an office that holds its own keys; each JWK is
    checked, small-order Ed25519 points and private members refused with
    InvalidJwksError; a re-import may not drop a listed key nor lift a recorded
    compromise); otherwise the office's keys in this store; otherwise, for an office
    already listed, its listed keys; otherwise a new key with ``alg`` is created in the
    store when ``generate_key`` is true.
    """
    if office_id == REGISTRY_ID:
        # The national registry is listed like an office so that its signature on the
        # consolidated restricted list is checked like an office's; it certifies nothing.
        if province != "00" or office_code != "000" or list(qualification_types):
            raise InvalidOfficeError(
                f"{REGISTRY_ID} is listed with province 00, office code 000 and no "
                "qualification type"
            )
        if not isinstance(name, str) or not name.strip():
            raise InvalidOfficeError("office name is empty", code="no_name")
        scope: frozenset[QualificationType] = frozenset()
    else:
        _check_office(office_id, name, province, office_code)
        scope = _scope(qualification_types)
    with store.locked():
        current = current_trust_list(store.home)
        listed = current.office(office_id)
        keys: tuple[PublicKey, ...]
        if jwks is not None:
            if store.has_owner(office_id):
                raise InvalidJwksError(
                    f"the keys of {office_id} are held in this key store; "
                    "import a JWKS only for an office that holds its own keys"
                )
            keys = _import_jwks(store, office_id, jwks)
            if listed is not None:
                keys = _merge_listed(office_id, listed.keys, keys)
        elif store.has_owner(office_id):
            keys = tuple(store.public_keys(office_id))
        elif listed is not None:
            keys = listed.keys  # an office holding its own keys: update name/scope only
        else:
            if not generate_key:
                raise InvalidOfficeError(
                    f"{office_id} has no keys here: give its JWKS or generate a key",
                    code="office_no_keys",
                    office=office_id,
                )
            store.active_signer(ROOT_OWNER, now=now)  # fail before creating a key
            store.create_key(office_id, alg=alg, now=now)
            keys = tuple(store.public_keys(office_id))
        office = Office(
            id=office_id,
            name=name.strip(),
            province=province,
            office_code=office_code,
            qualification_types=scope,
            keys=keys,
        )
        try:
            following = current.replace_office(office, issued_at=now)
        except CredentialError as exc:
            raise InvalidJwksError(f"office {office_id}: {exc}") from exc
        return _publish(store, following, now=now, previous=current)


def sync_office_keys(store: KeyStore, office_id: str, *, now: int) -> TrustList:
    """Copy the office's keys from the store into the trust list and re-sign it.

    Used after a rotation or compromise. Raises TrustAdminError when the office is not in
    the trust list, KeyNotFoundError when its keys are not held in this store.
    """
    with store.locked():
        current = current_trust_list(store.home)
        office = current.office(office_id)
        if office is None:
            raise TrustAdminError(
                f"{office_id} is not in the trust list; add it with `jiaozi trust add-office`",
                code="office_unknown",
                office=office_id,
            )
        keys = tuple(store.public_keys(office_id))
        following = current.replace_office(dataclasses.replace(office, keys=keys), issued_at=now)
        return _publish(store, following, now=now, previous=current)


def _listed(store: KeyStore, office_id: str) -> bool:
    """True when this home can re-sign the office's entry: it holds the root's keys (an
    office's home holds an installed copy of the list, never the root key) and lists it."""
    return (
        store.has_owner(ROOT_OWNER)
        and is_initialised(store.home)
        and (current_trust_list(store.home).office(office_id) is not None)
    )


def rotate_root(
    store: KeyStore, *, now: int, alg: Algorithm | None = None
) -> tuple[PublicKey, TrustList | None]:
    """Rotate the national root key and re-sign the trust list with the new one.

    Works after a root compromise too (the stored list's signature is checked, not the
    old root key's window). Verifiers must pin the new ``root.jwks.json``. Returns the
    new key and the re-signed list (None when trust is not initialised here).
    """
    with store.locked():
        if not is_initialised(store.home):
            return store.rotate(ROOT_OWNER, now=now, alg=alg), None
        current = _own_trust_list(store.home)
        new = store.rotate(ROOT_OWNER, now=now, alg=alg)
        following = TrustList(current.sequence + 1, now, current.offices, current.issuer)
        return new, _publish(store, following, now=now, previous=current)


def rotate_office(
    store: KeyStore, office_id: str, *, now: int, alg: Algorithm | None = None
) -> tuple[PublicKey, TrustList | None]:
    """Rotate an office's key (see ``KeyStore.rotate``) and, when the office is in this
    home's trust list, re-sign the list with the new key. ``office_id`` "root" rotates
    the root (``rotate_root``). Returns the new key and the new list, or None when there
    is no list to re-sign here (an office-side home: send ``keys jwks`` to the authority).
    """
    if office_id == ROOT_OWNER:
        return rotate_root(store, now=now, alg=alg)
    with store.locked():
        listed = _listed(store, office_id)
        if listed:
            store.active_signer(ROOT_OWNER, now=now)  # fail before rotating
        new = store.rotate(office_id, now=now, alg=alg)
        return new, sync_office_keys(store, office_id, now=now) if listed else None


def mark_compromised(
    store: KeyStore, kid: str, *, at: int, now: int
) -> tuple[PublicKey, TrustList | None]:
    """Mark key ``kid`` compromised from ``at`` and re-sign the trust list.

    The key may be held in this store (root or office) or only listed in the trust list
    (an office holding its own keys). The mark is recorded first; if the list cannot be
    re-signed afterwards, TrustAdminError says so and how to finish. For a root key the
    stored ``root.jwks.json`` is updated and None returned for the list: re-signing needs
    a new root key (``rotate_root``).
    """
    with store.locked():
        found = store.find(kid)
        if found is not None:
            owner = found[0]
            key = store.compromise(kid, at=at)
            if owner == ROOT_OWNER:
                if is_initialised(store.home):
                    _write_root_jwks(store)
                return key, None
            if not _listed(store, owner):
                return key, None
            try:
                return key, sync_office_keys(store, owner, now=now)
            except KeysError as exc:
                raise TrustAdminError(
                    f"{kid} is marked compromised in the key store, but the trust list was "
                    f"not re-signed ({exc}); fix that and run "
                    f"`jiaozi trust sync --office {owner}`"
                ) from exc
        if not is_initialised(store.home):
            raise KeyNotFoundError(
                f"no key {kid!r} in {store.keys_dir}", code="no_key", kid=kid, dir=store.keys_dir
            )
        current = current_trust_list(store.home)
        hit = current.find_key(kid)
        if hit is None:
            raise KeyNotFoundError(
                f"no key {kid!r} in the key store or the trust list",
                code="no_key_anywhere",
                kid=kid,
            )
        office, listed_key = hit
        if not needs_compromise_mark(listed_key, at):
            return listed_key, current
        marked = dataclasses.replace(listed_key, compromised_at=at)
        keys = tuple(marked if k.kid == kid else k for k in office.keys)
        following = current.replace_office(dataclasses.replace(office, keys=keys), issued_at=now)
        return marked, _publish(store, following, now=now, previous=current)


def export_trust(home: Path, out_dir: Path) -> TrustList:
    """Write ``trust-list.jwt`` and ``root.jwks.json`` (and ``docsign.crl`` when a
    document-signing certificate was revoked) into ``out_dir`` for verifiers.

    The stored list is verified first; a list that does not verify is never exported.
    Returns it.
    """
    token_path, jwks_path = _paths(home)
    token_bytes, jwks_bytes = _read(token_path), _read(jwks_path)
    try:
        trust_list = verify_trust_list(
            token_bytes.decode("ascii").strip(), _parse_root_jwks(jwks_bytes, str(jwks_path))
        )
    except (CredentialError, UnicodeDecodeError) as exc:
        raise TrustAdminError(f"stored trust list does not verify: {exc}") from exc
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / ROOT_JWKS_FILE, jwks_bytes, mode=0o644)
        write_atomic(out / TRUST_LIST_FILE, token_bytes, mode=0o644)
        crl = Path(home) / TRUST_DIR / DOCSIGN_CRL_FILE
        if crl.exists():
            write_atomic(out / DOCSIGN_CRL_FILE, crl.read_bytes(), mode=0o644)
    except OSError as exc:
        raise TrustAdminError(f"cannot export to {out}: {exc}") from exc
    return trust_list
