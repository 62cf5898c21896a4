"""The key store: signing keys of the national root and of offices, encrypted at rest.

Layout under the Jiaozi home (``$JIAOZI_HOME``, default ``var/``)::

    keys/                      mode 0700, as every directory in it; every file 0600
      .lock                    advisory lock taken by every change (flock)
      root/                    the national root's keyring
        keyring.json           public metadata: kid, alg, window, public JWK of each key
        root-1.pem             PKCS#8 PEM, encrypted under $JIAOZI_KEY_PASSPHRASE, 0600
      office-11001/            office "urn:jiaozi:office:11001" (see owner_dir)
        keyring.json
        11001-1.pem

A key's window is ``[nbf, exp)``: it signs only inside it, and verifiers accept its
tokens only when their ``iat`` falls inside it and before ``compromised_at``. Rotation
closes the current window and opens a new key's; nothing is ever deleted, so what an old
key signed stays verifiable.

Private keys are decrypted only when a signer is asked for, once per key and process, and
kept in memory as cryptography key objects (never as bytes or text).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credential import (
    Algorithm,
    CredentialError,
    DualSigner,
    KeySigner,
    PublicKey,
    Sm2PrivateKey,
    strict_json_loads,
)

from ._errors import (
    KeyIdError,
    KeyNotFoundError,
    KeysError,
    KeyStateError,
    KeyStoreError,
    NoActiveKeyError,
    WrongPassphraseError,
)
from ._files import (
    PASSPHRASE_ENV,
    check_passphrase,
    jiaozi_home,
    make_private_dir,
    passphrase_from_env,
    write_atomic,
)
from ._sm2file import open_sm2_key, seal_sm2_key

__all__ = [
    "KEYRING_FORMAT",
    "ROOT_OWNER",
    "KeyStore",
    "PrivateKey",
    "generate_private_key",
    "needs_compromise_mark",
    "owner_dir",
]

ROOT_OWNER = "root"
KEYRING_FILE = "keyring.json"
KEYRING_FORMAT = "jiaozi-keyring/1"
_LOCK_FILE = ".lock"
_ENCRYPTED_PEM_HEADER = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
_OFFICE_URN = re.compile(r"urn:jiaozi:office:([A-Za-z0-9][A-Za-z0-9._-]{0,39})")
_MAX_OWNER_LENGTH = 256
_WINDOW = ("nbf", "exp", "compromised_at")

PrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def generate_private_key(alg: Algorithm) -> PrivateKey:
    """Return a fresh private key for ``alg`` (Ed25519 for EdDSA, P-256 for ES256); SM2
    keys are made by ``Sm2PrivateKey.generate`` and stored apart (``keys._sm2file``)."""
    if alg is Algorithm.EDDSA:
        return Ed25519PrivateKey.generate()
    if alg is Algorithm.ES256:
        return ec.generate_private_key(ec.SECP256R1())
    raise KeysError(f"unsupported algorithm {alg!r}")  # pragma: no cover - enum is closed


def owner_dir(owner: str) -> str:
    """Return the directory name (under ``keys/``) of a key owner.

    ``"root"`` is the national root. Any other owner is an office id:
    ``urn:jiaozi:office:<code>`` becomes ``office-<code>`` (e.g. ``office-11001``); other
    ids, which may hold characters unsafe in file names, become ``office-`` and 20 hex
    digits of their SHA-256. Raises KeysError for an empty or unprintable owner.
    """
    if owner == ROOT_OWNER:
        return ROOT_OWNER
    if (
        not isinstance(owner, str)
        or not owner
        or len(owner) > _MAX_OWNER_LENGTH
        or not owner.isprintable()
        or owner != owner.strip()
    ):
        raise KeysError(f"not an office id: {owner!r}")
    match = _OFFICE_URN.fullmatch(owner)
    if match:
        return "office-" + match.group(1)
    return "office-" + hashlib.sha256(owner.encode("utf-8")).hexdigest()[:20]


def _short_owner(owner: str) -> str:
    name = owner_dir(owner)
    return name.removeprefix("office-")


def _bare(key: PublicKey) -> PublicKey:
    """Return ``key`` without its window (the public JWK stored in the keyring)."""
    return dataclasses.replace(key, nbf=None, exp=None, compromised_at=None)


def _entry_json(key: PublicKey) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "alg": key.alg.value,
        "nbf": key.nbf,
        "exp": key.exp,
        "compromised_at": key.compromised_at,
        "public_jwk": _bare(key).to_jwk(),
    }


def _parse_ring(raw: bytes, path: Path) -> tuple[str, list[PublicKey]]:
    """Return the owner and keys recorded in a keyring file; raises KeyStoreError."""
    try:
        doc = strict_json_loads(raw, str(path))
    except CredentialError as exc:
        raise KeyStoreError(f"{path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != KEYRING_FORMAT:
        raise KeyStoreError(f"{path}: not a {KEYRING_FORMAT} keyring")
    owner, items = doc.get("owner"), doc.get("keys")
    if not isinstance(owner, str) or not isinstance(items, list):
        raise KeyStoreError(f"{path}: keyring owner or keys missing")
    keys: list[PublicKey] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("public_jwk"), dict):
            raise KeyStoreError(f"{path}: key entry {n} is not an object with a public_jwk")
        jwk = dict(item["public_jwk"])
        if jwk.get("kid") != item.get("kid") or jwk.get("alg") != item.get("alg"):
            raise KeyStoreError(f"{path}: key entry {n}: kid/alg disagree with its JWK")
        for name in _WINDOW:
            jwk.pop(name, None)
            if item.get(name) is not None:
                jwk[name] = item[name]
        try:
            keys.append(PublicKey.from_jwk(jwk))
        except CredentialError as exc:
            raise KeyStoreError(f"{path}: key entry {n}: {exc}") from exc
    return owner, keys


def needs_compromise_mark(key: PublicKey, at: int) -> bool:
    """Return True when ``key`` should be marked compromised from ``at``.

    False when it already is, from that time. Raises KeyStateError when it already is
    from an earlier time (moving the mark later would make valid again what was signed
    in between), KeysError when ``at`` is not an integer.
    """
    if not isinstance(at, int) or isinstance(at, bool) or at < 0:
        raise KeysError("compromise time must be a non-negative integer (POSIX seconds)")
    if key.compromised_at is None or at < key.compromised_at:
        return True
    if at == key.compromised_at:
        return False
    raise KeyStateError(
        f"{key.kid} is already compromised from {key.compromised_at}; "
        f"refusing to move that later to {at}",
        code="compromise_later",
        kid=key.kid,
        since=key.compromised_at,
        at=at,
    )


def _same_line(key: PublicKey, sm2: bool) -> bool:
    """True when ``key`` is of the SM2 line (``sm2``) or of the main (EdDSA/ES256) line.

    An office's SM2 key lives beside its main key: each line has its own active key,
    rotation and windows (issue 16); the main line is what signs when no SM2 is asked.
    """
    return (key.alg is Algorithm.SM2SM3) is sm2


def _describe_unusable(key: PublicKey, now: int) -> str:
    if key.compromised_at is not None:
        return f"{key.kid} compromised"
    reason = key.covers(now)
    return f"{key.kid} {reason or 'unusable'}"


class KeyStore:
    """Keyrings of the national root and of offices under ``<home>/keys/``.

    ``passphrase`` may be None for public operations (listing keys, JWKS, compromise);
    creating, rotating and signing refuse without one (PassphraseError names
    ``JIAOZI_KEY_PASSPHRASE``). Safe to share between threads; changes across processes
    are serialised by an advisory lock, and keyrings are re-read when their file changes.
    """

    def __init__(self, home: Path, passphrase: bytes | None) -> None:
        self._home = Path(home)
        self._passphrase = passphrase or None
        self._mutex = threading.RLock()
        self._lock_depth = 0
        self._lock_fd: int | None = None
        self._rings: dict[str, tuple[tuple[int, int, int], tuple[PublicKey, ...]]] = {}
        self._signers: dict[str, KeySigner] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KeyStore:
        """Return the store of ``$JIAOZI_HOME`` opened with ``$JIAOZI_KEY_PASSPHRASE``."""
        return cls(jiaozi_home(environ), passphrase_from_env(environ))

    def __repr__(self) -> str:
        return f"KeyStore({str(self._home)!r})"

    @property
    def home(self) -> Path:
        return self._home

    @property
    def keys_dir(self) -> Path:
        return self._home / "keys"

    # --- locking -----------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's lock (re-entrant in this process, exclusive across processes).

        Every change takes it; trust administration holds it around read-modify-write of
        the trust list too, so two commands never sign the same sequence number.
        """
        with self._mutex:
            if self._lock_depth == 0:
                try:
                    make_private_dir(self.keys_dir)
                    fd = os.open(self.keys_dir / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
                except OSError as exc:
                    raise KeyStoreError(f"cannot lock {self.keys_dir}: {exc}") from exc
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except OSError as exc:
                    os.close(fd)
                    raise KeyStoreError(f"cannot lock {self.keys_dir}: {exc}") from exc
                self._lock_fd = fd
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
                if self._lock_depth == 0 and self._lock_fd is not None:
                    fd, self._lock_fd = self._lock_fd, None
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    os.close(fd)

    # --- reading -----------------------------------------------------------------------

    def _ring_path(self, owner: str) -> Path:
        return self.keys_dir / owner_dir(owner) / KEYRING_FILE

    def _read_ring(self, owner: str) -> tuple[PublicKey, ...] | None:
        """Return the owner's keys (oldest first), or None when it has no keyring."""
        path = self._ring_path(owner)
        with self._mutex:
            try:
                st = path.stat()
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
                cached = self._rings.get(owner)
                if cached is not None and cached[0] == stamp:
                    return cached[1]
                raw = path.read_bytes()
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise KeyStoreError(f"cannot read {path}: {exc}") from exc
            recorded, keys = _parse_ring(raw, path)
            if recorded != owner:
                raise KeyStoreError(f"{path} holds the keys of {recorded!r}, not of {owner!r}")
            self._rings[owner] = (stamp, tuple(keys))
            return tuple(keys)

    def _ring(self, owner: str) -> tuple[PublicKey, ...]:
        keys = self._read_ring(owner)
        if keys is None:
            raise KeyNotFoundError(
                f"no keys for {owner!r} in {self.keys_dir}",
                code="no_owner",
                owner=owner,
                dir=self.keys_dir,
            )
        return keys

    def owners(self) -> list[str]:
        """Return the owners that have a keyring, ``"root"`` first, then offices sorted."""
        try:
            dirs = sorted(p for p in self.keys_dir.iterdir() if p.is_dir())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise KeyStoreError(f"cannot list {self.keys_dir}: {exc}") from exc
        found: list[str] = []
        for d in dirs:
            path = d / KEYRING_FILE
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise KeyStoreError(f"cannot read {path}: {exc}") from exc
            owner, _ = _parse_ring(raw, path)
            if owner_dir(owner) != d.name:
                raise KeyStoreError(f"{path} holds the keys of {owner!r}, not of {d.name}")
            found.append(owner)
        return sorted(found, key=lambda o: (o != ROOT_OWNER, o))

    def has_owner(self, owner: str) -> bool:
        """Return True when ``owner`` has a keyring here."""
        return self._read_ring(owner) is not None

    def find(self, kid: str) -> tuple[str, PublicKey] | None:
        """Return the owner and public key of key ``kid``, or None."""
        for owner in self.owners():
            for key in self._ring(owner):
                if key.kid == kid:
                    return owner, key
        return None

    def owner_of(self, kid: str) -> str:
        """Return the owner of key ``kid``; raises KeyNotFoundError."""
        found = self.find(kid)
        if found is None:
            raise KeyNotFoundError(
                f"no key {kid!r} in {self.keys_dir}", code="no_key", kid=kid, dir=self.keys_dir
            )
        return found[0]

    def public_keys(self, owner: str) -> list[PublicKey]:
        """Return all keys of ``owner``, oldest first, with their windows.

        Retired and compromised keys are included: verifiers need them for what those
        keys signed before. Raises KeyNotFoundError when the owner has no keyring.
        """
        return list(self._ring(owner))

    def jwks(self, owner: str) -> dict[str, Any]:
        """Return ``{"keys": [JWK, ...]}`` of ``owner``'s public keys, windows included."""
        return {"keys": [k.to_jwk() for k in self._ring(owner)]}

    def active_key(self, owner: str, *, now: int, sm2: bool = False) -> PublicKey:
        """Return the key ``owner`` signs with at ``now``: the newest (greatest ``nbf``)
        uncompromised key whose window covers ``now``, of the main line (EdDSA/ES256), or
        with ``sm2`` of the SM2 line.

        Raises NoActiveKeyError (saying why each key is unusable) when there is none.
        """
        keys = tuple(k for k in self._ring(owner) if _same_line(k, sm2))
        usable = [
            (k.nbf if k.nbf is not None else -(2**63), n, k)
            for n, k in enumerate(keys)
            if k.compromised_at is None and k.covers(now) is None
        ]
        if not usable:
            why = ", ".join(_describe_unusable(k, now) for k in keys) or "no keys"
            raise NoActiveKeyError(
                f"no key of {owner!r} may sign at {now} ({why}); rotate to a new key",
                code="no_active",
                owner=owner,
                now=now,
            )
        return max(usable, key=lambda t: (t[0], t[1]))[2]

    def active_signer(self, owner: str, *, now: int) -> KeySigner:
        """Return a signer for ``owner``'s active key at ``now`` (see ``active_key``).

        The private key is decrypted on first use and the key object cached for the life
        of the store. Raises NoActiveKeyError, PassphraseError, WrongPassphraseError or
        KeyStoreError.
        """
        key = self.active_key(owner, now=now)
        return self._signer(owner, key)

    def issuing_signer(self, owner: str, *, now: int) -> KeySigner | DualSigner:
        """Return what signs ``owner``'s certificates at ``now``: its active main key, or,
        when it has SM2 keys, a DualSigner of that key and its active SM2 key (the full
        e-licence then carries both signatures). Raises as ``sm2_signer``.
        """
        main = self.active_signer(owner, now=now)
        sm2 = self.sm2_signer(owner, now=now)
        return DualSigner(main, sm2) if sm2 is not None else main

    def sm2_signer(self, owner: str, *, now: int) -> KeySigner | None:
        """Return a signer for ``owner``'s active SM2 key at ``now``, or None when the
        owner has never had an SM2 key.

        An owner that has SM2 keys but none usable now (all retired or compromised) gets
        NoActiveKeyError, as for its main key: an office that dual-signs never silently
        falls back to EdDSA alone. Raises as ``active_signer`` otherwise.
        """
        if not any(k.alg is Algorithm.SM2SM3 for k in self._ring(owner)):
            return None
        return self._signer(owner, self.active_key(owner, now=now, sm2=True))

    def _signer(self, owner: str, key: PublicKey) -> KeySigner:
        with self._mutex:
            cached = self._signers.get(key.kid)
            if cached is not None:
                return cached
            passphrase = check_passphrase(self._passphrase)
            path = self.keys_dir / owner_dir(owner) / f"{key.kid}.pem"
            try:
                data = path.read_bytes()
            except FileNotFoundError as exc:
                raise KeyStoreError(f"private key file {path} is missing") from exc
            except OSError as exc:
                raise KeyStoreError(f"cannot read {path}: {exc}") from exc
            if key.alg is Algorithm.SM2SM3:
                private: object = open_sm2_key(data, passphrase, kid=key.kid, path=path)
            elif not data.startswith(_ENCRYPTED_PEM_HEADER):
                raise KeyStoreError(
                    f"{path} is not an encrypted PKCS#8 PEM; refusing an unencrypted key"
                )
            else:
                try:
                    private = serialization.load_pem_private_key(data, passphrase)
                except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
                    # cryptography says "Incorrect password" for a wrong passphrase, and a
                    # ValueError too for a damaged file; they cannot be told apart reliably.
                    raise WrongPassphraseError(
                        f"cannot decrypt {path}: wrong {PASSPHRASE_ENV} or damaged key file",
                        code="wrong_passphrase",
                        path=path,
                    ) from exc
            if not isinstance(
                private, Ed25519PrivateKey | ec.EllipticCurvePrivateKey | Sm2PrivateKey
            ):
                raise KeyStoreError(f"{path} holds a key type Jiaozi does not use")
            try:
                signer = KeySigner(private, key.kid)
            except CredentialError as exc:
                raise KeyStoreError(f"{path}: {exc}") from exc
            if signer.public_key().to_jwk() != _bare(key).to_jwk():
                raise KeyStoreError(f"{path} does not match the public key in its keyring")
            self._signers[key.kid] = signer
            return signer

    # --- changing ----------------------------------------------------------------------

    def _all_kids(self) -> set[str]:
        return {k.kid for owner in self.owners() for k in self._ring(owner)}

    def _write_ring(self, owner: str, keys: list[PublicKey]) -> None:
        path = self._ring_path(owner)
        doc = {
            "format": KEYRING_FORMAT,
            "owner": owner,
            "keys": [_entry_json(k) for k in keys],
        }
        data = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        try:
            write_atomic(path, data, mode=0o600)  # like every file of the store
        except OSError as exc:
            raise KeyStoreError(f"cannot write {path}: {exc}") from exc
        with self._mutex:
            self._rings.pop(owner, None)

    def _check_same_passphrase(self, owner: str) -> None:
        """Raise WrongPassphraseError unless the passphrase opens an existing key (if any),
        so that one store never ends up with keys under different passphrases."""
        owners = [owner, *(o for o in self.owners() if o != owner)]
        for name in owners:
            for key in reversed(self._read_ring(name) or ()):
                try:
                    self._signer(name, key)
                except KeyStoreError:
                    continue  # a missing or damaged file: try another key
                return

    def _new_key(
        self, owner: str, keys: list[PublicKey], *, alg: Algorithm, kid: str | None, now: int
    ) -> PublicKey:
        """Generate, encrypt and write a new private key; return its PublicKey (nbf=now).

        Does not write the keyring; the caller does, after any other changes.
        """
        passphrase = check_passphrase(self._passphrase)
        if alg is Algorithm.SM2SM3 and owner == ROOT_OWNER:
            raise KeysError("the national root signs with EdDSA or ES256, not SM2", code="root_sm2")
        self._check_same_passphrase(owner)
        taken = self._all_kids()
        if kid is None:
            short, n = _short_owner(owner), len(keys) + 1
            while f"{short}-{n}" in taken:
                n += 1
            kid = f"{short}-{n}"
        elif kid in taken:
            raise KeyIdError(
                f"key id {kid!r} is already used in {self.keys_dir}", code="kid_taken", kid=kid
            )
        private: PrivateKey | Sm2PrivateKey = (
            Sm2PrivateKey.generate()
            if alg is Algorithm.SM2SM3
            else generate_private_key(Algorithm(alg))
        )
        try:
            signer = KeySigner(private, kid)
        except CredentialError as exc:
            raise KeyIdError(f"key id {kid!r}: {exc}") from exc
        directory = self.keys_dir / owner_dir(owner)
        path = directory / f"{kid}.pem"
        if path.exists():
            raise KeyIdError(f"{path} already exists (a key file without a keyring entry?)")
        if isinstance(private, Sm2PrivateKey):
            pem = seal_sm2_key(private, passphrase, kid=kid)
        else:
            pem = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(passphrase),
            )
        try:
            make_private_dir(directory)
            write_atomic(path, pem, mode=0o600)
        except OSError as exc:
            raise KeyStoreError(f"cannot write {path}: {exc}") from exc
        with self._mutex:
            self._signers[kid] = signer
        return signer.public_key(nbf=now)

    def create_key(
        self,
        owner: str,
        *,
        alg: Algorithm = Algorithm.EDDSA,
        kid: str | None = None,
        now: int,
    ) -> PublicKey:
        """Create a key for ``owner`` (``"root"`` or an office id), valid from ``now``.

        The default ``kid`` is ``<short owner>-<n>``, e.g. ``root-1`` or ``11001-1``; a
        kid is unique across the whole store. Raises PassphraseError, KeyIdError or
        KeyStoreError.
        """
        owner_dir(owner)
        with self.locked():
            keys = list(self._read_ring(owner) or ())
            key = self._new_key(owner, keys, alg=alg, kid=kid, now=now)
            self._write_ring(owner, [*keys, key])
            return key

    def rotate(self, owner: str, *, now: int, alg: Algorithm | None = None) -> PublicKey:
        """Retire ``owner``'s open keys and create a new one valid from ``now``.

        Every key whose window is still open gets ``exp = now + 1``: it covers tokens
        issued up to and including the second of the rotation (``iat`` has whole seconds,
        so a signature made in that second by a process that had not yet seen the
        rotation stays valid), and nothing later. The new key's ``nbf`` is ``now``; it is
        the newest, so it signs from ``now`` on. ``alg`` defaults to the newest key's.
        Raises KeyNotFoundError when the owner has no keys, KeyStateError when ``now`` is
        before the newest key's ``nbf``.

        ``alg=SM2SM3`` rotates the owner's SM2 line only (and, when it has none yet,
        creates its first SM2 key); any other ``alg`` the main line only (issue 16).
        """
        with self.locked():
            keys = list(self._ring(owner))
            sm2 = alg is Algorithm.SM2SM3
            line = [k for k in keys if _same_line(k, sm2)]
            if sm2 and not line:
                new = self._new_key(owner, keys, alg=Algorithm.SM2SM3, kid=None, now=now)
                self._write_ring(owner, [*keys, new])
                return new
            if not line:
                raise NoActiveKeyError(
                    f"{owner!r} has no EdDSA or ES256 key to rotate",
                    code="no_main_line",
                    owner=owner,
                )
            newest = max(line, key=lambda k: k.nbf if k.nbf is not None else -(2**63))
            if newest.nbf is not None and now < newest.nbf:
                raise KeyStateError(
                    f"cannot rotate {owner!r} at {now}: its newest key {newest.kid} "
                    f"starts at {newest.nbf} (clock behind?)",
                    code="clock_behind",
                    owner=owner,
                    kid=newest.kid,
                    nbf=newest.nbf,
                )
            new = self._new_key(owner, keys, alg=alg or newest.alg, kid=None, now=now)
            retired = [
                dataclasses.replace(k, exp=now + 1)
                if _same_line(k, sm2)
                and (k.exp is None or k.exp > now + 1)
                and (k.nbf is None or k.nbf <= now)
                else k
                for k in keys
            ]
            self._write_ring(owner, [*retired, new])
            return new

    def compromise(self, kid: str, *, at: int) -> PublicKey:
        """Mark key ``kid`` compromised from ``at`` (POSIX seconds) and return it.

        Tokens it signed with ``iat >= at`` are no longer valid, and it never signs
        again. Marking again with the same time is a no-op; an earlier time moves the
        mark earlier; a later one is refused with KeyStateError (it would make valid
        again what was signed in between). Raises KeyNotFoundError for an unknown kid.
        """
        with self.locked():
            owner = self.owner_of(kid)
            keys = list(self._ring(owner))
            index = next(n for n, k in enumerate(keys) if k.kid == kid)
            key = keys[index]
            with self._mutex:
                self._signers.pop(kid, None)
            if not needs_compromise_mark(key, at):
                return key
            keys[index] = dataclasses.replace(key, compromised_at=at)
            self._write_ring(owner, keys)
            return keys[index]
