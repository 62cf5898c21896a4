"""Sealing personal data at rest: AES-256-GCM under the office's data key (contract
section 2: identity numbers are "stored encrypted or as keyed hashes").

Only credential/ and keys/ touch cryptography primitives; the issuer asks for this recipe
by name (``issuer.issuance.sealing``). A sealed value is::

    byte 0        format version (1)
    bytes 1..12   random 96-bit nonce
    rest          AES-256-GCM ciphertext and 16-byte tag

The associated data the caller passes (e.g. the certificate number) is bound together
with the version byte, so a value moved to another row, or re-labelled with another
version, fails to open. Opening never says more than "does not open": no padding or
partial-plaintext oracle exists in GCM, and the error carries no key material.

The key is 32 random bytes, configured as base64url text (``JIAOZI_DATA_KEY``);
:func:`generate_data_key` makes one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._errors import KeysError

__all__ = [
    "DATA_KEY_BYTES",
    "DEV_DATA_KEY",
    "DataCipher",
    "DataCipherError",
    "generate_data_key",
    "parse_data_key",
]

DATA_KEY_BYTES = 32
_VERSION = 1
_NONCE_BYTES = 12
_TAG_BYTES = 16
_DOMAIN = b"jiaozi-data-cipher/1\x00"

# Published development key (base64url of SHA-256 of a fixed phrase): fine on a laptop,
# refused in production by the issuer's settings.
DEV_DATA_KEY = (
    base64.urlsafe_b64encode(hashlib.sha256(b"jiaozi-dev-data-key").digest())
    .rstrip(b"=")
    .decode("ascii")
)


class DataCipherError(KeysError):
    """A data key that is not 32 bytes of base64url, or a sealed value that does not open.

    Not exported on its own: callers catch ``keys.KeysError``, its base.
    """


def parse_data_key(text: str) -> bytes:
    """Return the 32 key bytes of base64url ``text`` (padding optional).

    Raises DataCipherError for anything else; the message never repeats the text.
    """
    value = text.strip()
    if not value or any(c not in _B64URL for c in value.rstrip("=")):
        raise DataCipherError("data key is not base64url text")
    try:
        raw = base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DataCipherError("data key is not base64url text") from exc
    if len(raw) != DATA_KEY_BYTES:
        raise DataCipherError(f"data key must be {DATA_KEY_BYTES} bytes, got {len(raw)}")
    return raw


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def generate_data_key() -> str:
    """Return a new random data key as base64url text (no padding), for JIAOZI_DATA_KEY."""
    return base64.urlsafe_b64encode(os.urandom(DATA_KEY_BYTES)).rstrip(b"=").decode("ascii")


class DataCipher:
    """AES-256-GCM with a random 96-bit nonce per value and a version prefix byte.

    Safe to share between threads. With random nonces one key should seal fewer than
    2**32 values (NIST SP 800-38D); an office issues far fewer certificate versions.
    """

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) != DATA_KEY_BYTES:
            raise DataCipherError(f"data key must be {DATA_KEY_BYTES} bytes")
        self._aead = AESGCM(bytes(key))

    def __repr__(self) -> str:
        return "DataCipher(<key hidden>)"

    @staticmethod
    def _aad(version: int, aad: bytes) -> bytes:
        return _DOMAIN + bytes([version]) + bytes(aad)

    def seal(self, plaintext: bytes, *, aad: bytes) -> bytes:
        """Return ``plaintext`` encrypted and authenticated together with ``aad``."""
        nonce = os.urandom(_NONCE_BYTES)
        body = self._aead.encrypt(nonce, bytes(plaintext), self._aad(_VERSION, aad))
        return bytes([_VERSION]) + nonce + body

    def open(self, sealed: bytes, *, aad: bytes) -> bytes:
        """Return the plaintext of ``sealed``; raises DataCipherError unless it was sealed
        by this key with exactly this ``aad`` and not changed since."""
        sealed = bytes(sealed)
        if len(sealed) < 1 + _NONCE_BYTES + _TAG_BYTES:
            raise DataCipherError("sealed value is too short")
        if sealed[0] != _VERSION:
            raise DataCipherError(f"sealed value has unknown format version {sealed[0]}")
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, self._aad(sealed[0], aad))
        except InvalidTag as exc:
            raise DataCipherError(
                "sealed value does not open (changed, moved to another record, or another key)"
            ) from exc
