"""SM2 signatures with SM3 (GB/T 32918.2, GB/T 32905) over the recommended curve
(GB/T 32918.5), the one place Jiaozi touches an SM2 library.

The elliptic-curve work is GmSSL's, through ``gmssl-pyx`` (chosen by measurement: see
docs/formats.md, "SM2"); SM3 is OpenSSL's through ``hashlib``. We compute the signer's
identity hash Z_A and the message digest e = SM3(Z_A || M) here, and hand GmSSL only the
digest, with signatures in the JOSE form of ECDSA: raw ``r || s``, 32 bytes each, big
endian. The library's own exceptions and DER encoding never leave this module.

The library is imported on first use, so the core imports without it; a deployment that
signs or verifies SM2 installs the ``sm2`` extra (the issuer and verifier extras pull it in).
"""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from typing import Any

from ._errors import SignatureError

__all__ = [
    "SM2_USER_ID",
    "Sm2PrivateKey",
    "Sm2PublicKey",
    "sm3",
    "sm3_za",
]

#: The user ID GB/T 35276 and GM/T 0009 fix as the default: ASCII "1234567812345678".
SM2_USER_ID = b"1234567812345678"

# The recommended curve (GB/T 32918.5): y^2 = x^3 + a x + b over F_p, generator G, order n.
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

_CURVE_BYTES = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))


def _lib() -> Any:
    try:
        import gmssl_pyx  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - the extras install it
        raise SignatureError("SM2 needs the gmssl-pyx package (pip install 'jiaozi[sm2]')") from exc
    return gmssl_pyx


def sm3(data: bytes) -> bytes:
    """Return the SM3 digest of ``data`` (32 bytes)."""
    return hashlib.new("sm3", data).digest()


def sm3_za(point: bytes, user_id: bytes = SM2_USER_ID) -> bytes:
    """Return Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A) of the
    64-byte public point ``x || y`` and the signer's ``user_id`` (GB/T 32918.2, 5.5)."""
    bits = len(user_id) * 8
    if bits >= 1 << 16:
        raise SignatureError("SM2 user ID longer than 8191 bytes")
    return sm3(bits.to_bytes(2, "big") + user_id + _CURVE_BYTES + point)


@lru_cache(maxsize=256)
def _za_default(point: bytes) -> bytes:
    return sm3_za(point)


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


class Sm2PublicKey:
    """An SM2 public key on the recommended curve: the point ``x || y`` (64 bytes)."""

    __slots__ = ("_point",)

    def __init__(self, point: bytes) -> None:
        if not isinstance(point, bytes) or len(point) != 64:
            raise SignatureError("an SM2 public key is 64 bytes x || y")
        x, y = int.from_bytes(point[:32], "big"), int.from_bytes(point[32:], "big")
        # The curve has cofactor 1: any affine point on it has order n. (0, 0) is not on it.
        if not _on_curve(x, y):
            raise SignatureError("SM2 public key is not a point on the SM2 curve")
        self._point = point

    @classmethod
    def from_xy(cls, x: bytes, y: bytes) -> Sm2PublicKey:
        """Return the key of the coordinates ``x`` and ``y`` (32 bytes each, big endian)."""
        if len(x) != 32 or len(y) != 32:
            raise SignatureError("SM2 coordinates must be 32 bytes")
        return cls(x + y)

    def public_bytes(self) -> bytes:
        """Return the 64-byte point ``x || y`` (no 0x04 prefix)."""
        return self._point

    def verify(self, data: bytes, signature: bytes, user_id: bytes = SM2_USER_ID) -> bool:
        """Return True iff ``signature`` (raw ``r || s``) is this key's SM2 signature over
        ``data`` with SM3 and ``user_id``."""
        if len(signature) != 64:
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not (0 < r < N and 0 < s < N):
            return False
        za = _za_default(self._point) if user_id == SM2_USER_ID else sm3_za(self._point, user_id)
        e = sm3(za + data)
        try:
            return bool(_lib().sm2_verify_sm3_digest(self._point, e, _der(r, s)))
        except Exception:
            return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sm2PublicKey) and other._point == self._point

    def __hash__(self) -> int:
        return hash(self._point)

    def __repr__(self) -> str:
        return f"Sm2PublicKey({self._point[:4].hex()}...)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Sm2PublicKey, (self._point,))


class Sm2PrivateKey:
    """An SM2 private key: the scalar d, 1 <= d <= n - 2, and its public point d G."""

    __slots__ = ("_d", "_public")

    def __init__(self, scalar: bytes, public: Sm2PublicKey | None = None) -> None:
        if not isinstance(scalar, bytes) or len(scalar) != 32:
            raise SignatureError("an SM2 private key is 32 bytes")
        d = int.from_bytes(scalar, "big")
        if not 1 <= d <= N - 2:
            raise SignatureError("SM2 private key out of range")
        self._d = scalar
        self._public = public if public is not None else Sm2PublicKey(_point_of(d))

    @classmethod
    def generate(cls) -> Sm2PrivateKey:
        """Return a fresh key from the operating system's random source."""
        d = 1 + secrets.randbelow(N - 2)
        return cls(d.to_bytes(32, "big"))

    def private_bytes(self) -> bytes:
        """Return the 32-byte scalar, for encrypted storage only (keys/)."""
        return self._d

    def public_key(self) -> Sm2PublicKey:
        return self._public

    def sign(self, data: bytes, user_id: bytes = SM2_USER_ID) -> bytes:
        """Return the SM2 signature with SM3 over ``data`` as raw ``r || s`` (64 bytes)."""
        point = self._public.public_bytes()
        za = _za_default(point) if user_id == SM2_USER_ID else sm3_za(point, user_id)
        e = sm3(za + data)
        try:
            der = _lib().sm2_sign_sm3_digest(self._d, e)
        except Exception as exc:
            raise SignatureError("SM2 signing failed") from exc
        return _raw(der)

    def __repr__(self) -> str:
        return "Sm2PrivateKey(...)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Sm2PrivateKey, (self._d, self._public))


# --- the point d G and the DER form the library speaks ----------------------------------


def _point_of(d: int) -> bytes:
    """Return d G as 64 bytes, computed here (affine double-and-add; once per key load)."""
    result: tuple[int, int] | None = None
    addend: tuple[int, int] | None = (GX, GY)
    while d:
        if d & 1:
            result = _add(result, addend)
        addend = _add(addend, addend)
        d >>= 1
    assert result is not None
    return result[0].to_bytes(32, "big") + result[1].to_bytes(32, "big")


def _add(p: tuple[int, int] | None, q: tuple[int, int] | None) -> tuple[int, int] | None:
    if p is None:
        return q
    if q is None:
        return p
    (x1, y1), (x2, y2) = p, q
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        lam = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return x3, (lam * (x1 - x3) - y1) % P


def _der_int(v: int) -> bytes:
    raw = v.to_bytes(33, "big").lstrip(b"\x00")
    if raw[0] & 0x80:
        raw = b"\x00" + raw
    return b"\x02" + bytes([len(raw)]) + raw


def _der(r: int, s: int) -> bytes:
    body = _der_int(r) + _der_int(s)
    return b"\x30" + bytes([len(body)]) + body


def _raw(der: bytes) -> bytes:
    """Return ``r || s`` of a DER SEQUENCE of two INTEGERs (as the library writes it)."""
    try:
        if der[0] != 0x30 or der[1] != len(der) - 2:
            raise ValueError
        pos, out = 2, b""
        for _ in range(2):
            if der[pos] != 0x02:
                raise ValueError
            n = der[pos + 1]
            value = int.from_bytes(der[pos + 2 : pos + 2 + n], "big")
            out += value.to_bytes(32, "big")
            pos += 2 + n
        if pos != len(der):
            raise ValueError
    except (ValueError, IndexError, OverflowError) as exc:
        raise SignatureError("SM2 library returned a malformed signature") from exc
    return out
