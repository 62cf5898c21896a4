"""The backup archive's encryption (keys._archive): round trips in chunks, and every way of
changing, cutting or reordering an archive, or opening it with another passphrase, is
refused with its own error."""

from __future__ import annotations

import io
import os
import struct

import pytest

from keys import (
    ArchiveError,
    ArchiveTamperedError,
    ArchiveWrongPassphraseError,
    decrypt_archive,
    encrypt_archive,
)
from keys._archive import _HEADER_BYTES, CHUNK_BYTES

PASS = b"correct horse battery staple"


def _seal(data: bytes, passphrase: bytes = PASS) -> bytes:
    out = io.BytesIO()
    assert encrypt_archive(io.BytesIO(data), out, passphrase) == len(data)
    return out.getvalue()


def _open(blob: bytes, passphrase: bytes = PASS) -> bytes:
    out = io.BytesIO()
    decrypt_archive(io.BytesIO(blob), out, passphrase)
    return out.getvalue()


def _chunks(blob: bytes) -> list[bytes]:
    at, out = _HEADER_BYTES, []
    while at < len(blob):
        (n,) = struct.unpack(">I", blob[at : at + 4])
        out.append(blob[at : at + 4 + n])
        at += 4 + n
    return out


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES, 2 * CHUNK_BYTES + 17])
def test_round_trip(size: int) -> None:
    data = os.urandom(size)
    blob = _seal(data)
    assert _open(blob) == data
    assert size < 16 or data[:16] not in blob
    assert len(_chunks(blob)) == max(1, -(-size // CHUNK_BYTES))


def test_two_archives_of_the_same_bytes_differ() -> None:
    assert _seal(b"same") != _seal(b"same")


def test_wrong_passphrase_is_named() -> None:
    with pytest.raises(ArchiveWrongPassphraseError):
        _open(_seal(b"secret"), b"another passphrase")


def test_not_an_archive() -> None:
    with pytest.raises(ArchiveError, match="not a Jiaozi backup"):
        _open(b"PK\x03\x04 a zip file")


def test_empty_passphrase_is_refused() -> None:
    with pytest.raises(ArchiveError, match="empty"):
        _seal(b"x", b"")


def test_any_changed_byte_is_refused() -> None:
    blob = _seal(os.urandom(CHUNK_BYTES + 100))
    for at in (len(blob) - 1, _HEADER_BYTES + 10, len(blob) // 2):
        bad = bytearray(blob)
        bad[at] ^= 0x80
        with pytest.raises(ArchiveTamperedError):
            _open(bytes(bad))
    # the header's salt or check value: the key no longer matches
    bad = bytearray(blob)
    bad[16] ^= 1
    with pytest.raises(ArchiveWrongPassphraseError):
        _open(bytes(bad))


def test_cut_reordered_and_extended_archives_are_refused() -> None:
    blob = _seal(os.urandom(2 * CHUNK_BYTES + 5))
    head, chunks = blob[:_HEADER_BYTES], _chunks(blob)
    assert len(chunks) == 3
    with pytest.raises(ArchiveTamperedError, match=r"cut short|missing"):
        _open(head + chunks[0] + chunks[1])  # cut at a chunk boundary
    with pytest.raises(ArchiveTamperedError):
        _open(head + chunks[1] + chunks[0] + chunks[2])
    with pytest.raises(ArchiveTamperedError):
        _open(blob + b"\x00")
    with pytest.raises(ArchiveTamperedError):
        _open(blob[:-3])
