"""Backup archives encrypted under a passphrase: scrypt to a key, AES-256-GCM in chunks.

Only credential/ and keys/ touch cryptography primitives; ``jiaozi.backup.archive`` asks for this
recipe by name. The file is::

    header  b"JZBACKUP1\\n" | scrypt log2(n), r, p (1 byte each) | 16-byte salt
            | 8-byte nonce prefix | 32-byte key check
    chunks  4-byte big-endian length | AES-256-GCM ciphertext and tag, one per chunk of at
            most CHUNK_BYTES plaintext bytes

Chunk ``i`` is sealed with nonce ``prefix || i`` (big-endian, 4 bytes) and associated data
``header || i || final``, where ``final`` is 1 on the last chunk only: chunks cannot be
reordered, dropped, moved into another archive, or cut off at a chunk boundary without the
opening failing. The key check (HMAC-SHA256 of a fixed label under the derived key) tells a
wrong passphrase apart from a changed archive, so each gets its own error message.

Encryption and decryption stream: memory holds one chunk, whatever the archive's size.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ._errors import KeysError

__all__ = [
    "ARCHIVE_MAGIC",
    "CHUNK_BYTES",
    "ArchiveError",
    "ArchiveTamperedError",
    "ArchiveWrongPassphraseError",
    "decrypt_archive",
    "encrypt_archive",
]

ARCHIVE_MAGIC = b"JZBACKUP1\n"
CHUNK_BYTES = 1 << 20
_SALT_BYTES = 16
_PREFIX_BYTES = 8
_CHECK_BYTES = 32
_TAG_BYTES = 16
# scrypt's cost: n = 2**15, r = 8 (32 MiB, a fraction of a second), as RFC 7914 suggests
# for interactive use; stored in the header so a later release may raise it.
_LOG2_N, _R, _P = 15, 8, 1
_MAX_LOG2_N = 20  # an archive asking for more memory than this is refused, not obeyed
_HEADER_BYTES = len(ARCHIVE_MAGIC) + 3 + _SALT_BYTES + _PREFIX_BYTES + _CHECK_BYTES
_CHECK_LABEL = b"jiaozi-backup-key-check/1"
_MAX_CHUNKS = 1 << 32


class ArchiveError(KeysError):
    """A backup archive that cannot be written or opened (not an archive, truncated)."""


class ArchiveWrongPassphraseError(ArchiveError):
    """The passphrase is not the one the archive was encrypted under."""


class ArchiveTamperedError(ArchiveError):
    """The archive was changed, cut short or reordered after it was written."""


def _derive(passphrase: bytes, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    if not passphrase:
        raise ArchiveError("the backup passphrase is empty", code="archive_empty_passphrase")
    kdf = Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p)
    return kdf.derive(passphrase)


def _check_value(key: bytes) -> bytes:
    return hmac.new(key, _CHECK_LABEL, hashlib.sha256).digest()


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">IB", index, 1 if final else 0)


def _read_full(src: BinaryIO, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        got = src.read(n - len(out))
        if not got:
            break
        out += got
    return bytes(out)


def encrypt_archive(src: BinaryIO, dst: BinaryIO, passphrase: bytes) -> int:
    """Write ``src``'s bytes to ``dst`` encrypted under ``passphrase``; return the number of
    plaintext bytes. Raises ArchiveError for an empty passphrase."""
    salt = os.urandom(_SALT_BYTES)
    prefix = os.urandom(_PREFIX_BYTES)
    key = _derive(passphrase, salt, _LOG2_N, _R, _P)
    header = ARCHIVE_MAGIC + bytes([_LOG2_N, _R, _P]) + salt + prefix + _check_value(key)
    dst.write(header)
    aead = AESGCM(key)
    total = 0
    index = 0
    chunk = _read_full(src, CHUNK_BYTES)
    while True:
        # Read one ahead: the last chunk (possibly empty) is the one marked final.
        nxt = _read_full(src, CHUNK_BYTES) if len(chunk) == CHUNK_BYTES else b""
        final = not nxt
        if index >= _MAX_CHUNKS:
            raise ArchiveError(  # pragma: no cover
                "archive too large for one key", code="archive_too_large"
            )
        sealed = aead.encrypt(prefix + struct.pack(">I", index), chunk, _aad(header, index, final))
        dst.write(struct.pack(">I", len(sealed)) + sealed)
        total += len(chunk)
        index += 1
        if final:
            return total
        chunk = nxt


def decrypt_archive(src: BinaryIO, dst: BinaryIO, passphrase: bytes) -> int:
    """Write the plaintext of the archive ``src`` to ``dst``; return its length.

    Raises ArchiveWrongPassphraseError when ``passphrase`` is not the archive's,
    ArchiveTamperedError when any byte was changed, chunks were reordered or removed, or the
    file was cut short, and ArchiveError when ``src`` is not an archive at all. On an error
    ``dst`` may hold the chunks that opened before it: callers write to a temporary file
    and use it only when this returns.
    """
    header = _read_full(src, _HEADER_BYTES)
    if len(header) < _HEADER_BYTES or not header.startswith(ARCHIVE_MAGIC):
        raise ArchiveError("not a Jiaozi backup archive (bad header)", code="archive_header")
    at = len(ARCHIVE_MAGIC)
    log2_n, r, p = header[at], header[at + 1], header[at + 2]
    at += 3
    salt = header[at : at + _SALT_BYTES]
    at += _SALT_BYTES
    prefix = header[at : at + _PREFIX_BYTES]
    at += _PREFIX_BYTES
    check = header[at : at + _CHECK_BYTES]
    if not (10 <= log2_n <= _MAX_LOG2_N and 1 <= r <= 32 and 1 <= p <= 16):
        raise ArchiveError(
            "archive header asks for unsupported scrypt parameters", code="archive_header"
        )
    key = _derive(passphrase, salt, log2_n, r, p)
    if not hmac.compare_digest(_check_value(key), check):
        raise ArchiveWrongPassphraseError(
            "wrong backup passphrase (or the archive's header was changed)",
            code="archive_passphrase",
        )
    aead = AESGCM(key)
    total = 0
    index = 0
    while True:
        raw_len = _read_full(src, 4)
        if len(raw_len) < 4:
            raise ArchiveTamperedError(
                "archive is cut short: its final chunk is missing", code="archive_short"
            )
        (length,) = struct.unpack(">I", raw_len)
        if not _TAG_BYTES <= length <= CHUNK_BYTES + _TAG_BYTES:
            raise ArchiveTamperedError(
                f"archive chunk {index} has an impossible length", code="archive_changed"
            )
        sealed = _read_full(src, length)
        if len(sealed) < length:
            raise ArchiveTamperedError("archive is cut short inside a chunk", code="archive_short")
        nonce = prefix + struct.pack(">I", index)
        # Try "not final" first: every chunk but the last one is.
        for final in (False, True):
            try:
                plain = aead.decrypt(nonce, sealed, _aad(header, index, final))
                break
            except InvalidTag:
                continue
        else:
            raise ArchiveTamperedError(
                f"archive chunk {index} does not open: the archive was changed",
                code="archive_changed",
            )
        dst.write(plain)
        total += len(plain)
        index += 1
        if final:
            if src.read(1):
                raise ArchiveTamperedError(
                    "archive has bytes after its final chunk", code="archive_changed"
                )
            return total
