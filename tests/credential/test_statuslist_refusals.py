"""What a status list decoder must refuse (credential._statuslist): malformed objects,
non-canonical base64url, corrupt, truncated or trailing ZLIB streams, and zlib bombs, refused
fast and without inflating them."""

from __future__ import annotations

import base64
import random
import time
import tracemalloc
import zlib
from typing import Any

import pytest

from credential._errors import StatusListError
from credential._statuslist import MIN_LIST_SIZE, StatusList

MiB = 1 << 20


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _lst(raw: bytes, bits: int = 1) -> dict[str, Any]:
    return {"bits": bits, "lst": _b64url(raw)}


# --- decode: refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [
        {"bits": 1, "lst": b"eNrbuRgAAhcBXQ"},
        {"bits": 1, "lst": None},
        {"bits": 1, "lst": 12},
        {"bits": 1, "lst": ["eNrbuRgAAhcBXQ"]},
        {"bits": 1},
        {"lst": "eNrbuRgAAhcBXQ"},
        {"bits": True, "lst": "eNrbuRgAAhcBXQ"},
        {"bits": "1", "lst": "eNrbuRgAAhcBXQ"},
        {"bits": 1.0, "lst": "eNrbuRgAAhcBXQ"},
        {"bits": 3, "lst": "eNrbuRgAAhcBXQ"},
        {"bits": 16, "lst": "eNrbuRgAAhcBXQ"},
        {"bits": [1], "lst": "eNrbuRgAAhcBXQ"},
    ],
)
def test_decode_refuses_malformed_object(obj: dict[str, Any]) -> None:
    with pytest.raises(StatusListError):
        StatusList.decode(obj)


@pytest.mark.parametrize("obj", [None, "eNrbuRgAAhcBXQ", ["bits", "lst"], 1])
def test_decode_refuses_non_mapping(obj: Any) -> None:
    with pytest.raises(StatusListError, match="object"):
        StatusList.decode(obj)


@pytest.mark.parametrize(
    ("lst", "why"),
    [
        ("eNrbuRgAAhcBXQ==", "padding"),
        ("eNrbuRgAAhcBXQ=", "padding"),
        ("eNrbuRgAAhcB+Q", "character"),
        ("eNrbuRgAAhcB/Q", "character"),
        ("eNrbuRgA AhcBXQ", "character"),
        ("eNrbuRgAAhcBXQ\n", "character"),
        ("eNrbuRgAAhcBXé", "character"),
        ("eNrbuRgAAhcBXR", "canonical"),  # 'R' sets one of the 4 unused trailing bits
        ("eNo76fITAAPfAgd", "canonical"),  # 'd' sets one of the 2 unused trailing bits
        ("eNrbuRgAAhcBX", "length"),
        ("", "empty"),
    ],
)
def test_decode_refuses_bad_base64url(lst: str, why: str) -> None:
    with pytest.raises(StatusListError, match=why):
        StatusList.decode({"bits": 1, "lst": lst})


def test_canonical_base64url_is_accepted() -> None:
    # Sanity for the refusals above: the canonical forms decode.
    assert StatusList.decode({"bits": 1, "lst": "eNrbuRgAAhcBXQ"}).to_bytes() == b"\xb9\xa3"
    assert StatusList.decode({"bits": 2, "lst": "eNo76fITAAPfAgc"}).get(3) == 3


def test_decode_refuses_empty_list() -> None:
    with pytest.raises(StatusListError, match="empty"):
        StatusList.decode(_lst(zlib.compress(b"", 9)))


def test_decode_refuses_trailing_bytes_after_stream() -> None:
    good = zlib.compress(b"\xb9\xa3", 9)
    assert StatusList.decode(_lst(good)).to_bytes() == b"\xb9\xa3"
    for garbage in (b"\x00", b"x", good):
        with pytest.raises(StatusListError, match="trailing"):
            StatusList.decode(_lst(good + garbage))


def test_decode_refuses_truncated_stream() -> None:
    good = zlib.compress(bytes(range(256)) * 4, 9)
    for cut in (1, 4, 5, len(good) // 2):
        with pytest.raises(StatusListError, match=r"truncated|not a valid"):
            StatusList.decode(_lst(good[:-cut], bits=8))


def _deflate(data: bytes, wbits: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return comp.compress(data) + comp.flush()


@pytest.mark.parametrize(
    "raw",
    [b"not zlib at all", _deflate(b"\xb9\xa3", -15), _deflate(b"\xb9\xa3", 31)],
    ids=["garbage", "raw-deflate", "gzip"],
)
def test_decode_refuses_non_zlib(raw: bytes) -> None:
    with pytest.raises(StatusListError):
        StatusList.decode(_lst(raw))


def test_decode_refuses_corrupt_checksum() -> None:
    good = bytearray(zlib.compress(b"\x01\x02\x03", 9))
    good[-1] ^= 0xFF
    with pytest.raises(StatusListError, match="not a valid"):
        StatusList.decode(_lst(bytes(good)))


@pytest.mark.parametrize("payload", [bytes(16384), random.Random(7).randbytes(16384)])
def test_max_entries_boundary(payload: bytes) -> None:
    # 16384 bytes of 1-bit entries = 131072 entries: exactly at the limit is accepted,
    # one byte's worth below the list size is refused.
    obj = _lst(zlib.compress(payload, 9), bits=1)
    lst = StatusList.decode(obj, max_entries=131072)
    assert len(lst) == 131072
    assert lst.to_bytes() == payload
    with pytest.raises(StatusListError, match="more than"):
        StatusList.decode(obj, max_entries=131072 - 8)


@pytest.mark.parametrize("max_entries", [0, -1, True, 1.5])
def test_decode_refuses_bad_max_entries(max_entries: Any) -> None:
    with pytest.raises(StatusListError, match="max_entries"):
        StatusList.decode({"bits": 1, "lst": "eNrbuRgAAhcBXQ"}, max_entries=max_entries)


def test_decode_refuses_overlong_string_before_decoding() -> None:
    huge = "A" * (4 * MiB)
    with pytest.raises(StatusListError, match="too long"):
        StatusList.decode({"bits": 1, "lst": huge}, max_entries=8 * 1024)


# --- zlib bomb ---------------------------------------------------------------------------


def _zeros_stream(mebibytes: int) -> bytes:
    """Return a valid ZLIB stream of ``mebibytes`` MiB of zeros, built in well under a second.

    After a sync flush the compressor's state repeats, so the output for each further MiB of
    zeros is the same byte-aligned block; only the Adler-32 trailer needs the full length.
    """
    chunk = bytes(MiB)
    comp = zlib.compressobj(9)
    head = comp.compress(chunk) + comp.flush(zlib.Z_SYNC_FLUSH)
    block = comp.compress(chunk) + comp.flush(zlib.Z_SYNC_FLUSH)
    assert comp.compress(chunk) + comp.flush(zlib.Z_SYNC_FLUSH) == block
    end = comp.flush(zlib.Z_FINISH)[:-4]  # final empty block, without the checksum
    adler = 1
    for _ in range(mebibytes):
        adler = zlib.adler32(chunk, adler)
    return head + block * (mebibytes - 1) + end + adler.to_bytes(4, "big")


def test_zeros_stream_construction_is_a_real_zlib_stream() -> None:
    stream = _zeros_stream(5)
    assert zlib.decompress(stream) == bytes(5 * MiB)
    lst = StatusList.decode(_lst(stream, bits=8), max_entries=5 * MiB)
    assert len(lst) == 5 * MiB


@pytest.fixture(scope="module")
def gib_bomb() -> str:
    stream = _zeros_stream(1024)  # inflates to 1 GiB
    assert len(stream) < 2 * MiB
    return _b64url(stream)


@pytest.mark.parametrize("bits", [1, 2])
def test_zlib_bomb_refused_fast_and_small(gib_bomb: str, bits: int) -> None:
    tracemalloc.start()
    try:
        start = time.perf_counter()
        with pytest.raises(StatusListError, match="more than"):
            StatusList.decode({"bits": bits, "lst": gib_bomb})
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 16 * MiB


def test_zlib_bomb_refused_fast_at_8_bits(gib_bomb: str) -> None:
    # bits=8 with the default 2^24 entries allows 16 MiB of output: still bounded.
    start = time.perf_counter()
    with pytest.raises(StatusListError, match="more than"):
        StatusList.decode({"bits": 8, "lst": gib_bomb})
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("max_entries", "why"),
    [
        (MIN_LIST_SIZE, "too long"),  # refused by length alone, before base64 or inflate
        (8 * MiB, "more than"),  # 1 MiB output cap: stopped while inflating
    ],
)
def test_zlib_bomb_refused_with_small_limit(gib_bomb: str, max_entries: int, why: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(StatusListError, match=why):
            StatusList.decode({"bits": 1, "lst": gib_bomb}, max_entries=max_entries)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB
