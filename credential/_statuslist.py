"""IETF Token Status List (draft-ietf-oauth-status-list): the list itself, no signing, no I/O.

A status list packs one ``bits``-wide status per Referenced Token into a byte array,
LSB first: index 0 is the least significant ``bits`` bits of byte 0 (draft Section 4.1).
Its JSON form is ``{"bits": b, "lst": base64url(zlib(bytes))}`` without padding
(draft Section 4.2). Decoding is bounded: a list is never inflated past the size implied
by ``max_entries``, so a zlib bomb is refused cheaply.

Indices are drawn at random (herd privacy) by :class:`IndexAllocator`; contract section 5
requires lists of at least :data:`MIN_LIST_SIZE` entries, which the code creating lists
for issuance enforces; :class:`StatusList` accepts any size (the draft's examples have 16).
"""

from __future__ import annotations

import base64
import binascii
import enum
import random
import re
import secrets
import zlib
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from credential._errors import StatusListError

__all__ = [
    "ALLOWED_BITS",
    "DEFAULT_MAX_ENTRIES",
    "MIN_LIST_SIZE",
    "IndexAllocator",
    "ParsedStatusList",
    "StatusList",
    "StatusValue",
    "parse_status_list_claims",
    "status_list_claims",
]

#: Minimum number of entries of a list used for issuance (contract section 5, herd privacy).
MIN_LIST_SIZE = 131072
#: Default upper bound on the entries :meth:`StatusList.decode` accepts (16 Mi entries).
DEFAULT_MAX_ENTRIES = 1 << 24
#: The values the draft allows for ``bits``.
ALLOWED_BITS: tuple[int, ...] = (1, 2, 4, 8)

_INFLATE_CHUNK = 1 << 18
_B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")


class StatusValue(enum.IntEnum):
    """Status values (draft "Status Types"; contract section 5)."""

    VALID = 0
    INVALID = 1  # revoked or lost: final
    SUSPENDED = 2  # under investigation, may be reinstated
    RESERVED = 3  # unused here (application-specific in the draft)


def _is_int(value: object) -> bool:
    """Return True for an int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def _check_bits(bits: object) -> int:
    """Return ``bits`` if it is an allowed width; raise StatusListError otherwise."""
    if not _is_int(bits) or bits not in ALLOWED_BITS:
        raise StatusListError(f"bits must be one of {ALLOWED_BITS}, got {bits!r}")
    assert isinstance(bits, int)
    return bits


def _b64url_encode(data: bytes) -> str:
    """Return base64url of ``data`` without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    """Return the bytes of canonical unpadded base64url ``text``.

    Raises StatusListError on characters outside the alphabet, padding, an impossible
    length or non-zero trailing bits.
    """
    if _B64URL_RE.fullmatch(text) is None:
        raise StatusListError("lst is not base64url (invalid character or '=' padding)")
    rem = len(text) % 4
    if rem == 1:
        raise StatusListError("lst has an impossible base64url length")
    # The last character of a partial quantum carries 4 (rem 2) or 2 (rem 3) unused bits,
    # which must be zero in the canonical encoding.
    if rem and _B64URL_ALPHABET.index(text[-1]) & (0x0F if rem == 2 else 0x03):
        raise StatusListError("lst is not canonical base64url (non-zero trailing bits)")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise StatusListError("lst is not valid base64url") from exc


def _bounded_inflate(raw: bytes, max_bytes: int) -> bytearray:
    """Return the inflated ZLIB stream ``raw``, never producing more than ``max_bytes``.

    Inflates in chunks into one buffer, asking for at most one byte past the limit.
    Raises StatusListError if the stream is corrupt, truncated, inflates past
    ``max_bytes`` or is followed by trailing bytes.
    """
    inflater = zlib.decompressobj()
    out = bytearray()
    pending = raw
    try:
        while not inflater.eof:
            chunk = inflater.decompress(pending, min(_INFLATE_CHUNK, max_bytes + 1 - len(out)))
            out += chunk
            if len(out) > max_bytes:
                raise StatusListError(f"lst inflates to more than {max_bytes} bytes")
            if not chunk and len(inflater.unconsumed_tail) == len(pending):
                break  # no progress: the input ended before the stream did
            pending = inflater.unconsumed_tail
    except zlib.error as exc:
        raise StatusListError(f"lst is not a valid ZLIB stream: {exc}") from exc
    if not inflater.eof:
        raise StatusListError("lst is a truncated ZLIB stream")
    if inflater.unused_data:
        raise StatusListError("lst has trailing bytes after the ZLIB stream")
    return out


class StatusList:
    """A mutable packed status list of ``size`` entries of ``bits`` bits each."""

    __slots__ = ("_bits", "_data", "_size")

    def __init__(self, size: int, bits: int = 2) -> None:
        """Create an all-VALID list; raise StatusListError on a bad size or bits."""
        self._bits = _check_bits(bits)
        if not _is_int(size) or size <= 0:
            raise StatusListError(f"size must be a positive int, got {size!r}")
        self._size = size
        self._data = bytearray((size * self._bits + 7) // 8)

    @property
    def bits(self) -> int:
        """Return the number of bits per entry."""
        return self._bits

    @property
    def size(self) -> int:
        """Return the number of entries."""
        return self._size

    def __len__(self) -> int:
        """Return the number of entries."""
        return self._size

    def __eq__(self, other: object) -> bool:
        """Return True if ``other`` is a StatusList with the same bits, size and entries."""
        if not isinstance(other, StatusList):
            return NotImplemented
        return (self._bits, self._size, self._data) == (other._bits, other._size, other._data)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"StatusList(size={self._size}, bits={self._bits})"

    def _locate(self, idx: object) -> tuple[int, int]:
        """Return (byte offset, bit shift) of entry ``idx``; raise StatusListError if invalid."""
        if not _is_int(idx):
            raise StatusListError(f"index must be an int, got {idx!r}")
        assert isinstance(idx, int)
        if not 0 <= idx < self._size:
            raise StatusListError(f"index {idx} out of range [0, {self._size})")
        bit = idx * self._bits
        return bit >> 3, bit & 7

    def get(self, idx: int) -> int:
        """Return the status at ``idx``; raise StatusListError if ``idx`` is out of range."""
        offset, shift = self._locate(idx)
        return (self._data[offset] >> shift) & ((1 << self._bits) - 1)

    def set(self, idx: int, value: int) -> None:
        """Set the status at ``idx``; raise StatusListError if idx or value is out of range."""
        offset, shift = self._locate(idx)
        if not _is_int(value) or not 0 <= value < (1 << self._bits):
            raise StatusListError(
                f"status must be an int in [0, {1 << self._bits}) for bits={self._bits}, "
                f"got {value!r}"
            )
        mask = ((1 << self._bits) - 1) << shift
        self._data[offset] = (self._data[offset] & ~mask) | (value << shift)

    def to_bytes(self) -> bytes:
        """Return the uncompressed byte array (entries LSB first within each byte)."""
        return bytes(self._data)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray, bits: int) -> StatusList:
        """Return the list over ``data``, whose size is ``len(data) * 8 // bits``.

        Raises StatusListError on bad bits or empty data.
        """
        width = _check_bits(bits)
        if not isinstance(data, bytes | bytearray):
            raise StatusListError(f"data must be bytes, got {type(data).__name__}")
        if not data:
            raise StatusListError("status list is empty")
        return cls._wrap(bytearray(data), width)

    @classmethod
    def _wrap(cls, data: bytearray, bits: int) -> StatusList:
        """Return a list that takes ownership of non-empty ``data`` (bits already checked)."""
        lst = cls.__new__(cls)
        lst._bits = bits
        lst._size = len(data) * 8 // bits
        lst._data = data
        return lst

    def encode(self) -> dict[str, Any]:
        """Return the JSON form ``{"bits": bits, "lst": base64url(zlib level 9)}``."""
        return {"bits": self._bits, "lst": _b64url_encode(zlib.compress(self._data, 9))}

    @classmethod
    def decode(
        cls, obj: Mapping[str, Any], *, max_entries: int = DEFAULT_MAX_ENTRIES
    ) -> StatusList:
        """Return the list encoded by ``obj`` (the inverse of :meth:`encode`).

        Inflates at most the bytes needed for ``max_entries`` entries. Raises
        StatusListError on a malformed object, bad bits, non-canonical or padded
        base64url, a corrupt, truncated, oversized or trailing-garbage ZLIB stream,
        or an empty list.
        """
        if not isinstance(obj, Mapping):
            raise StatusListError("status_list must be a JSON object")
        if "bits" not in obj or "lst" not in obj:
            raise StatusListError("status_list must contain 'bits' and 'lst'")
        bits = _check_bits(obj["bits"])
        if not _is_int(max_entries) or max_entries <= 0:
            raise StatusListError(f"max_entries must be a positive int, got {max_entries!r}")
        lst = obj["lst"]
        if not isinstance(lst, str):
            raise StatusListError(f"lst must be a string, got {type(lst).__name__}")
        if not lst:
            raise StatusListError("lst is empty")
        max_bytes = (max_entries * bits + 7) // 8
        # Generous bound on the compressed size (deflate expands by well under 2x),
        # checked before decoding so a huge string is refused without work.
        if len(lst) > 4 * ((2 * max_bytes + 1024 + 2) // 3):
            raise StatusListError(f"lst is too long for at most {max_entries} entries")
        data = _bounded_inflate(_b64url_decode(lst), max_bytes)
        if not data:
            raise StatusListError("status list is empty")
        return cls._wrap(data, bits)


_WORD_BYTES = array("I").itemsize  # 4 on every platform Python runs on here


class IndexAllocator:
    """Draws unused indices of a list uniformly at random, without collisions.

    Rejection sampling while at most half the list is used (expected < 2 draws each);
    past that, sampling from an explicit array of free indices, so the cost per draw
    stays constant until the list is full.
    """

    __slots__ = ("_free", "_rng", "_size", "_taken", "_used")

    def __init__(
        self, size: int, used: Iterable[int] = (), rng: random.Random | None = None
    ) -> None:
        """Create an allocator over [0, size) with ``used`` already taken.

        Raises StatusListError on a non-positive size or a used index out of range.
        """
        if not _is_int(size) or size <= 0:
            raise StatusListError(f"size must be a positive int, got {size!r}")
        self._size = size
        self._rng: random.Random = rng if rng is not None else random.SystemRandom()
        self._taken = bytearray(size)
        self._used = 0
        self._free: array[int] | None = None
        for idx in used:
            if not _is_int(idx) or not 0 <= idx < size:
                raise StatusListError(f"used index {idx!r} out of range [0, {size})")
            if not self._taken[idx]:
                self._taken[idx] = 1
                self._used += 1

    @property
    def size(self) -> int:
        """Return the number of indices in the list."""
        return self._size

    @property
    def remaining(self) -> int:
        """Return how many indices are still free."""
        return self._size - self._used

    def _draw(self) -> int:
        """Return one free index and mark it used (caller checked the list is not full)."""
        if self._free is None and 2 * self._used < self._size:
            while True:
                idx = self._rng.randrange(self._size)
                if not self._taken[idx]:
                    break
        else:
            if self._free is None:
                taken = self._taken
                self._free = array("q", (i for i in range(self._size) if not taken[i]))
            free = self._free
            pick = self._rng.randrange(len(free))
            idx = free[pick]
            free[pick] = free[-1]
            free.pop()
        self._taken[idx] = 1
        self._used += 1
        return idx

    def allocate(self) -> int:
        """Return a fresh random index; raise StatusListError if the list is full."""
        if self._used >= self._size:
            raise StatusListError(f"status list is full ({self._size} entries)")
        return self._draw()

    def allocate_many(self, n: int) -> list[int]:
        """Return ``n`` fresh random indices; raise StatusListError (taking none) if too few."""
        if not _is_int(n) or n < 0:
            raise StatusListError(f"n must be a non-negative int, got {n!r}")
        if n > self.remaining:
            raise StatusListError(f"status list has {self.remaining} free entries, {n} requested")
        if (
            type(self._rng) is random.SystemRandom
            and self._free is None
            and 2 * (self._used + n) <= self._size
            and self._size <= 1 << 32
            and _WORD_BYTES == 4
        ):
            return self._draw_many_system(n)
        return [self._draw() for _ in range(n)]

    def _draw_many_system(self, n: int) -> list[int]:
        """``n`` draws of ``_draw`` (rejection sampling, the list staying at most half
        used) with the system's random bytes read in bulk rather than once per draw.

        Each 32-bit word from ``secrets.token_bytes`` (the os.urandom SystemRandom reads),
        masked to the bits of ``size - 1``, is uniform over that power of two; values past
        the list and taken indices are rejected, so every index returned is uniform over
        the free ones and no index is returned twice, as with ``_draw``.
        """
        size, taken = self._size, self._taken
        mask = (1 << (size - 1).bit_length()) - 1
        out: list[int] = []
        while len(out) < n:
            want = n - len(out)
            # at most half used, at most half the power of two past the list: an accepted
            # word in four or fewer on average; the loop reads more when these run out
            words = array("I", secrets.token_bytes(_WORD_BYTES * (4 * want + 16)))
            for w in words:
                idx = w & mask
                if idx < size and not taken[idx]:
                    taken[idx] = 1
                    out.append(idx)
                    if len(out) == n:
                        break
        self._used += n
        return out


@dataclass(frozen=True, slots=True)
class ParsedStatusList:
    """The validated claims of a Status List Token (no signature or clock check)."""

    uri: str
    iat: int
    exp: int
    ttl: int | None
    status_list: StatusList


def _check_times(iat: object, exp: object, ttl: object) -> None:
    """Raise StatusListError unless iat/exp are ints with exp > iat and ttl is None or > 0."""
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise StatusListError(f"iat must be an integer, got {iat!r}")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise StatusListError(f"exp must be an integer, got {exp!r}")
    if exp <= iat:
        raise StatusListError(f"exp ({exp}) must be after iat ({iat})")
    if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0):
        raise StatusListError(f"ttl must be a positive integer, got {ttl!r}")


def status_list_claims(
    lst: StatusList, *, uri: str, iat: int, exp: int, ttl: int
) -> dict[str, Any]:
    """Return the Status List Token claim set (to be signed with typ "statuslist+jwt").

    Raises StatusListError on an empty uri, non-int times, exp <= iat or ttl <= 0.
    """
    if not isinstance(uri, str) or not uri:
        raise StatusListError("uri must be a non-empty string")
    _check_times(iat, exp, ttl)
    return {"sub": uri, "iat": iat, "exp": exp, "ttl": ttl, "status_list": lst.encode()}


def parse_status_list_claims(
    claims: Mapping[str, Any],
    *,
    expected_uri: str | None = None,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> ParsedStatusList:
    """Return the validated claims of a (signature-checked) Status List Token.

    Does not compare exp with the clock. Raises StatusListError on a missing or
    mistyped claim, a sub other than ``expected_uri``, exp <= iat, ttl <= 0 or a
    status_list that :meth:`StatusList.decode` refuses.
    """
    if not isinstance(claims, Mapping):
        raise StatusListError("claims must be a JSON object")
    for name in ("sub", "iat", "exp", "status_list"):
        if name not in claims:
            raise StatusListError(f"missing claim {name!r}")
    uri = claims["sub"]
    if not isinstance(uri, str) or not uri:
        raise StatusListError("sub must be a non-empty string")
    if expected_uri is not None and uri != expected_uri:
        raise StatusListError(f"sub {uri!r} does not match the expected {expected_uri!r}")
    iat, exp = claims["iat"], claims["exp"]
    ttl = claims["ttl"] if "ttl" in claims else None
    if "ttl" in claims and ttl is None:
        raise StatusListError("ttl must be a positive integer when present, got null")
    _check_times(iat, exp, ttl)
    status_list = StatusList.decode(claims["status_list"], max_entries=max_entries)
    return ParsedStatusList(uri=uri, iat=iat, exp=exp, ttl=ttl, status_list=status_list)
