"""An SM2 private key at rest: the 32-byte scalar sealed under the store's passphrase.

``cryptography`` has no SM2 keys, so it cannot write them as encrypted PKCS#8 the way the
store writes Ed25519 and P-256 keys. An SM2 key file (``<kid>.pem`` like the others,
mode 0600) is instead::

    -----BEGIN JIAOZI SM2 ENCRYPTED PRIVATE KEY-----
    base64 of: "JZSM2" 0x01 | salt (16) | nonce (12) | AES-256-GCM(scalar || x || y) + tag
    -----END JIAOZI SM2 ENCRYPTED PRIVATE KEY-----

with the AES key derived by scrypt (n = 2^15, r = 8, p = 1) from the passphrase and the
salt, and the key id as associated data (a file renamed to another kid does not open).
The public point is sealed with the scalar and checked against it on opening.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from credential import CredentialError, Sm2PrivateKey, Sm2PublicKey

from ._errors import KeyStoreError, WrongPassphraseError

__all__ = ["SM2_PEM_HEADER", "open_sm2_key", "seal_sm2_key"]

SM2_PEM_HEADER = b"-----BEGIN JIAOZI SM2 ENCRYPTED PRIVATE KEY-----"
_FOOTER = b"-----END JIAOZI SM2 ENCRYPTED PRIVATE KEY-----"
_MAGIC = b"JZSM2\x01"


def _kek(passphrase: bytes, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase)


def seal_sm2_key(key: Sm2PrivateKey, passphrase: bytes, *, kid: str) -> bytes:
    """Return the PEM-like text of ``key`` sealed under ``passphrase``, bound to ``kid``."""
    salt, nonce = os.urandom(16), os.urandom(12)
    plain = key.private_bytes() + key.public_key().public_bytes()
    sealed = AESGCM(_kek(passphrase, salt)).encrypt(nonce, plain, kid.encode("ascii"))
    body = base64.encodebytes(_MAGIC + salt + nonce + sealed)
    return SM2_PEM_HEADER + b"\n" + body + _FOOTER + b"\n"


def open_sm2_key(data: bytes, passphrase: bytes, *, kid: str, path: object) -> Sm2PrivateKey:
    """Return the SM2 key in ``data`` (a file written by ``seal_sm2_key`` for ``kid``).

    Raises WrongPassphraseError when it does not open (wrong passphrase, another kid, or
    a damaged file: GCM cannot tell them apart), KeyStoreError when it is not such a file.
    """
    text = data.strip()
    if not text.startswith(SM2_PEM_HEADER) or not text.endswith(_FOOTER):
        raise KeyStoreError(f"{path} is not a Jiaozi SM2 key file")
    try:
        raw = base64.b64decode(text[len(SM2_PEM_HEADER) : -len(_FOOTER)], validate=False)
    except binascii.Error as exc:
        raise KeyStoreError(f"{path} is not a Jiaozi SM2 key file") from exc
    if not raw.startswith(_MAGIC) or len(raw) != len(_MAGIC) + 16 + 12 + 96 + 16:
        raise KeyStoreError(f"{path} is not a Jiaozi SM2 key file (version or length)")
    salt, nonce, sealed = raw[6:22], raw[22:34], raw[34:]
    try:
        plain = AESGCM(_kek(passphrase, salt)).decrypt(nonce, sealed, kid.encode("ascii"))
    except InvalidTag as exc:
        raise WrongPassphraseError(
            f"cannot decrypt {path}: wrong passphrase or damaged key file",
            code="wrong_passphrase",
            path=path,
        ) from exc
    try:
        return Sm2PrivateKey(plain[:32], Sm2PublicKey(plain[32:]))
    except CredentialError as exc:  # pragma: no cover - sealed by us, checked by GCM
        raise KeyStoreError(f"{path}: {exc}") from exc
