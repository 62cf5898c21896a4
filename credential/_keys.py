"""Public keys as the verifier sees them, and the signer protocol the issuer implements.

Each key carries its own algorithm: the verifier picks the algorithm from the key it
found by ``kid`` in the trust list, never from the token header (RFC 8725 section 3.1).
Signing and verifying go through PyJWT's algorithm objects with cryptography key
objects, never raw bytes or PEM strings, so a key can never be reinterpreted as an HMAC
secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from ._b64 import b64url_decode, b64url_encode
from ._errors import MalformedError, SignatureError
from ._sm2 import Sm2PrivateKey, Sm2PublicKey

__all__ = [
    "KID_PATTERN",
    "Algorithm",
    "DualSigner",
    "KeySigner",
    "PublicKey",
    "Signer",
    "is_small_order_ed25519",
]

KID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Algorithm(StrEnum):
    """JWS algorithms Jiaozi signs and accepts (nothing else, ever)."""

    EDDSA = "EdDSA"
    ES256 = "ES256"
    #: SM2 with SM3 (GB/T 32918.2), raw r || s; no JOSE registration, named by Jiaozi
    #: (docs/formats.md, "SM2"). Signs beside an office's EdDSA key, never instead of it.
    SM2SM3 = "SM2SM3"


_OKP = OKPAlgorithm()
_ES256 = ECAlgorithm(ECAlgorithm.SHA256)

# --- Ed25519 small-order points --------------------------------------------------------
# A small-order public key makes "valid" signatures that verify for many messages; refuse
# such keys on import (RFC 8032 permits them, libsodium and Zcash blocklist them).
_P = 2**255 - 19
_D = (-121665 * pow(121666, -1, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _decode_point(raw: bytes) -> tuple[int, int] | None:
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    if y >= _P:
        return None  # non-canonical encoding: refuse as well
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    if (v * x * x - u) % _P != 0:
        x = (x * _SQRT_M1) % _P
        if (v * x * x - u) % _P != 0:
            return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _add(p: tuple[int, int], q: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = p, q
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, -1, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, _P) % _P
    return x3, y3


def is_small_order_ed25519(raw: bytes) -> bool:
    """Return True when ``raw`` is not a canonical encoding of a point of large order."""
    if len(raw) != 32:
        return True
    point = _decode_point(raw)
    if point is None:
        return True
    for _ in range(3):  # multiply by 8
        point = _add(point, point)
    return point == (0, 1)


# --- keys ------------------------------------------------------------------------------


@runtime_checkable
class Signer(Protocol):
    """Something that signs JWS input with one key; the issuer's keys/ implements it."""

    @property
    def kid(self) -> str: ...

    @property
    def alg(self) -> Algorithm: ...

    def sign(self, data: bytes) -> bytes:
        """Return the JWS signature (raw, P1363 for ECDSA) over ``data``."""
        ...


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A verification key with its pinned algorithm and its validity window.

    ``nbf``/``exp``/``compromised_at`` are POSIX seconds or None. A token is acceptable
    under this key only if it was issued in [nbf, exp) and before ``compromised_at``.
    """

    kid: str
    alg: Algorithm
    key: Ed25519PublicKey | ec.EllipticCurvePublicKey | Sm2PublicKey = field(repr=False)
    nbf: int | None = None
    exp: int | None = None
    compromised_at: int | None = None

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """Return True iff ``signature`` is this key's signature over ``signing_input``."""
        if len(signature) != 64:
            return False
        if isinstance(self.key, Ed25519PublicKey):
            return bool(_OKP.verify(signing_input, self.key, signature))
        if isinstance(self.key, Sm2PublicKey):
            return self.key.verify(signing_input, signature)
        try:
            return bool(_ES256.verify(signing_input, self.key, signature))
        except (ValueError, TypeError):  # pragma: no cover - length checked above
            return False

    def covers(self, issued_at: int) -> str | None:
        """Return None if a token issued at ``issued_at`` is inside this key's window.

        Otherwise returns why not: ``"not_yet_valid"``, ``"expired"`` or ``"compromised"``.
        """
        if self.compromised_at is not None and issued_at >= self.compromised_at:
            return "compromised"
        if self.nbf is not None and issued_at < self.nbf:
            return "not_yet_valid"
        if self.exp is not None and issued_at >= self.exp:
            return "expired"
        return None

    def to_jwk(self) -> dict[str, Any]:
        """Return the public JWK with ``kid``, ``alg``, ``use`` and the window members."""
        jwk: dict[str, Any]
        if isinstance(self.key, Ed25519PublicKey):
            from cryptography.hazmat.primitives import serialization

            raw = self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
        elif isinstance(self.key, Sm2PublicKey):
            point = self.key.public_bytes()
            jwk = {
                "kty": "EC",
                "crv": "SM2",
                "x": b64url_encode(point[:32]),
                "y": b64url_encode(point[32:]),
            }
        else:
            nums = self.key.public_numbers()
            jwk = {
                "kty": "EC",
                "crv": "P-256",
                "x": b64url_encode(nums.x.to_bytes(32, "big")),
                "y": b64url_encode(nums.y.to_bytes(32, "big")),
            }
        jwk.update({"kid": self.kid, "alg": self.alg.value, "use": "sig"})
        for name in ("nbf", "exp", "compromised_at"):
            value = getattr(self, name)
            if value is not None:
                jwk[name] = value
        return jwk

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> PublicKey:
        """Return the key a public JWK describes.

        Raises SignatureError for private members, unknown key types or curves, a missing
        or malformed ``kid``, points off the curve and small-order Ed25519 keys; and
        MalformedError for members of the wrong type.
        """
        if not isinstance(jwk, Mapping):
            raise MalformedError("JWK is not an object")
        if "d" in jwk:
            raise SignatureError("JWK contains private key material")
        # A key published for another purpose never verifies signatures (RFC 7517 4.2, 4.3).
        if jwk.get("use", "sig") != "sig":
            raise SignatureError("JWK use is not sig")
        key_ops = jwk.get("key_ops")
        if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
            raise SignatureError("JWK key_ops does not include verify")
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
            raise SignatureError("JWK kid missing or not of the form [A-Za-z0-9._-]{1,64}")
        window: dict[str, int | None] = {}
        for name in ("nbf", "exp", "compromised_at"):
            value = jwk.get(name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise MalformedError(f"JWK {name} is not an integer")
            window[name] = value
        kty, crv = jwk.get("kty"), jwk.get("crv")
        try:
            if kty == "OKP" and crv == "Ed25519":
                if jwk.get("alg", "EdDSA") != "EdDSA":
                    raise SignatureError("Ed25519 JWK with an alg other than EdDSA")
                raw = b64url_decode(_str(jwk, "x"), "JWK x")
                if is_small_order_ed25519(raw):
                    raise SignatureError("Ed25519 public key has small order or is non-canonical")
                return cls(kid, Algorithm.EDDSA, Ed25519PublicKey.from_public_bytes(raw), **window)
            if kty == "EC" and crv == "P-256":
                if jwk.get("alg", "ES256") != "ES256":
                    raise SignatureError("P-256 JWK with an alg other than ES256")
                x = b64url_decode(_str(jwk, "x"), "JWK x")
                y = b64url_decode(_str(jwk, "y"), "JWK y")
                if len(x) != 32 or len(y) != 32:
                    raise SignatureError("P-256 coordinates must be 32 bytes")
                point = ec.EllipticCurvePublicKey.from_encoded_point(
                    ec.SECP256R1(), b"\x04" + x + y
                )
                return cls(kid, Algorithm.ES256, point, **window)
            if kty == "EC" and crv == "SM2":
                if jwk.get("alg", "SM2SM3") != "SM2SM3":
                    raise SignatureError("SM2 JWK with an alg other than SM2SM3")
                x = b64url_decode(_str(jwk, "x"), "JWK x")
                y = b64url_decode(_str(jwk, "y"), "JWK y")
                return cls(kid, Algorithm.SM2SM3, Sm2PublicKey.from_xy(x, y), **window)
        except (ValueError, UnsupportedAlgorithm) as exc:
            if isinstance(exc, MalformedError):
                raise
            raise SignatureError(f"JWK is not a valid public key: {exc}") from exc
        raise SignatureError(f"unsupported JWK key type {kty!r}/{crv!r}")

    @classmethod
    def from_key(
        cls,
        key: Ed25519PublicKey | ec.EllipticCurvePublicKey | Sm2PublicKey,
        kid: str,
        *,
        nbf: int | None = None,
        exp: int | None = None,
        compromised_at: int | None = None,
    ) -> PublicKey:
        """Return a PublicKey for a key object (Ed25519, P-256 or SM2 only)."""
        if isinstance(key, Ed25519PublicKey):
            alg = Algorithm.EDDSA
        elif isinstance(key, Sm2PublicKey):
            alg = Algorithm.SM2SM3
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            alg = Algorithm.ES256
        else:
            raise SignatureError("only Ed25519 and P-256 keys are supported")
        if not KID_PATTERN.fullmatch(kid):
            raise SignatureError("kid not of the form [A-Za-z0-9._-]{1,64}")
        return cls(kid, alg, key, nbf, exp, compromised_at)


def _str(jwk: Mapping[str, Any], name: str) -> str:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise MalformedError(f"JWK {name} missing or not a string")
    return value


class KeySigner:
    """A Signer over an in-memory private key object (Ed25519, P-256 or SM2).

    keys/ loads the private key (decrypting it) once and wraps it here; the key object
    is reused for every signature.
    """

    __slots__ = ("_alg", "_key", "_kid")

    def __init__(
        self, key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey | Sm2PrivateKey, kid: str
    ) -> None:
        if isinstance(key, Ed25519PrivateKey):
            self._alg = Algorithm.EDDSA
        elif isinstance(key, Sm2PrivateKey):
            self._alg = Algorithm.SM2SM3
        elif isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            self._alg = Algorithm.ES256
        else:
            raise SignatureError("only Ed25519 and P-256 keys are supported")
        if not KID_PATTERN.fullmatch(kid):
            raise SignatureError("kid not of the form [A-Za-z0-9._-]{1,64}")
        self._key = key
        self._kid = kid

    @property
    def kid(self) -> str:
        return self._kid

    @property
    def alg(self) -> Algorithm:
        return self._alg

    def sign(self, data: bytes) -> bytes:
        """Return the raw JWS signature over ``data``."""
        if isinstance(self._key, Ed25519PrivateKey):
            return bytes(_OKP.sign(data, self._key))
        if isinstance(self._key, Sm2PrivateKey):
            return self._key.sign(data)
        return bytes(_ES256.sign(data, self._key))

    def public_key(self, **window: int | None) -> PublicKey:
        """Return the matching PublicKey, with an optional nbf/exp/compromised_at window."""
        return PublicKey.from_key(self._key.public_key(), self._kid, **window)


class DualSigner:
    """An office's two signers: its main key (EdDSA or ES256) and its SM2 key (issue 16).

    It signs as the main key wherever one signature is made (the QR token, status lists,
    the compact credential), so it stands in for a Signer everywhere; ``sign_certificate``
    adds the SM2 signature to the full credential (``add_signature``). Picklable when both
    signers are.
    """

    __slots__ = ("main", "sm2")

    def __init__(self, main: Signer, sm2: Signer) -> None:
        if sm2.alg is not Algorithm.SM2SM3 or main.alg is Algorithm.SM2SM3:
            raise SignatureError("a dual signer is a main (EdDSA/ES256) key and an SM2 key")
        self.main = main
        self.sm2 = sm2

    @property
    def kid(self) -> str:
        return self.main.kid

    @property
    def alg(self) -> Algorithm:
        return self.main.alg

    def sign(self, data: bytes) -> bytes:
        """Return the main key's signature over ``data``."""
        return self.main.sign(data)

    def public_key(self, **window: int | None) -> PublicKey:
        """Return the main key's PublicKey (see ``KeySigner.public_key``)."""
        public = getattr(self.main, "public_key", None)
        if not callable(public):
            raise SignatureError("the main signer does not say its public key")
        key: PublicKey = public(**window)
        return key

    def __getstate__(self) -> tuple[Signer, Signer]:
        return (self.main, self.sm2)

    def __setstate__(self, state: tuple[Signer, Signer]) -> None:
        self.main, self.sm2 = state
