"""Compact JWS (RFC 7515) made and read the one way Jiaozi allows.

Making: the header and payload are canonical JSON (``canonical_json``), so one claim set
has exactly one token text for a given key. Reading: the size limit is applied before
anything else, then exactly three canonical base64url segments, JSON objects without
duplicate keys, and a header of known members only. Reading never chooses a key: the
caller looks ``kid`` up in its own trust data and passes the key (see ``verify``).
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ._b64 import _LAST_OK_2, _LAST_OK_3, b64url_decode, b64url_encode
from ._canonical import canonical_json, strict_json_loads
from ._errors import InputTooLargeError, MalformedError, SignatureError
from ._keys import KID_PATTERN, Algorithm, PublicKey, Signer

__all__ = [
    "MAX_TOKEN_LENGTH",
    "ParsedJWS",
    "ParsedMultiJWS",
    "add_signature",
    "compact_of",
    "encode_jws",
    "parse_jws",
    "parse_jws_json",
]

MAX_TOKEN_LENGTH = 8 * 1024
# Members a Jiaozi token header may carry. Anything that could point at a key (jwk, jku,
# x5u, x5c, x5t) or change how the token is processed (crit, b64, zip) is refused outright.
_HEADER_MEMBERS = frozenset({"alg", "typ", "kid", "cty"})
_ALGS = frozenset(a.value for a in Algorithm)


@dataclass(frozen=True, slots=True)
class ParsedJWS:
    """A syntactically valid compact JWS whose signature has NOT been checked yet."""

    header: Mapping[str, Any]
    payload: Mapping[str, Any]
    signing_input: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    token: str = field(repr=False)

    @property
    def alg(self) -> str:
        return str(self.header["alg"])

    @property
    def kid(self) -> str:
        return str(self.header["kid"])

    @property
    def typ(self) -> str | None:
        typ = self.header.get("typ")
        return typ if isinstance(typ, str) else None

    def verify(self, key: PublicKey) -> bool:
        """Return True iff the signature verifies under ``key`` with ``key``'s own algorithm.

        The header's ``alg`` must equal the key's pinned algorithm; it never selects one.
        """
        # key.alg is a StrEnum: equal to its text, without the slow .value property
        if self.header.get("alg") != key.alg or self.header.get("kid") != key.kid:
            return False
        return key.verify(self.signing_input, self.signature)


_ENCODED_HEADERS: dict[tuple[tuple[str, Any], ...], str] = {}


def encode_jws(header: Mapping[str, Any], payload: Mapping[str, Any], signer: Signer) -> str:
    """Return the compact JWS of ``payload`` signed by ``signer``.

    ``alg`` and ``kid`` are taken from the signer (any given in ``header`` must agree).
    Raises MalformedError for values with no canonical JSON form, SignatureError on a
    header that disagrees with the signer.
    """
    # The usual header, {"typ": ...} alone: its segment kept per (signer key, alg, typ).
    typ = header.get("typ") if len(header) == 1 else None
    if type(typ) is str:
        return encode_jws_canonical(typ, canonical_json(payload), signer)
    return _sign_payload(_header_segment(header, signer), canonical_json(payload), signer)


def _sign_payload(h64: str, payload_json: bytes, signer: Signer) -> str:
    signing_input = h64 + "." + b64url_encode(payload_json)
    signature = signer.sign(signing_input.encode("ascii"))
    return signing_input + "." + b64url_encode(signature)


def encode_jws_canonical(typ: str, payload_json: bytes, signer: Signer) -> str:
    """Return the compact JWS of header ``{"typ": typ}`` (completed with the signer's
    ``alg`` and ``kid``) over ``payload_json``, which the caller vouches is exactly
    ``canonical_json`` of its payload (for formats serialised by a template, e.g. the
    credential's; their tests hold the two equal)."""
    typ_key = (signer.kid, signer.alg, typ)
    h64 = _TYP_HEADERS.get(typ_key)
    if h64 is None:
        h64 = _header_segment({"typ": typ}, signer)
        if len(_TYP_HEADERS) < 256:
            _TYP_HEADERS[typ_key] = h64
    return _sign_payload(h64, payload_json, signer)


# (kid, alg, typ) -> the header segment of {"alg", "kid", "typ"}: a pure function of them.
_TYP_HEADERS: dict[tuple[str, Any, str], str] = {}


def _header_segment(header: Mapping[str, Any], signer: Signer) -> str:
    """Return the base64url header segment of ``header`` completed with the signer's
    ``alg`` and ``kid`` (checked, see ``encode_jws``)."""
    hdr = dict(header)
    for name, value in (("alg", signer.alg.value), ("kid", signer.kid)):
        if hdr.setdefault(name, value) != value:
            raise SignatureError(f"header {name} does not match the signer")
    unknown = set(hdr) - _HEADER_MEMBERS
    if unknown:
        raise MalformedError(f"header members not allowed: {sorted(unknown)}")
    # One key signs every token of a kind with the same header: encode it once.
    cacheable = all(type(v) is str for v in hdr.values())
    cache_key = tuple(sorted(hdr.items())) if cacheable else ()
    h64 = _ENCODED_HEADERS.get(cache_key) if cacheable else None
    if h64 is None:
        h64 = b64url_encode(canonical_json(hdr))
        if cacheable and len(_ENCODED_HEADERS) < 256:
            _ENCODED_HEADERS[cache_key] = h64
    return h64


def parse_jws(token: str | bytes, *, max_length: int = MAX_TOKEN_LENGTH) -> ParsedJWS:
    """Return the parsed parts of a compact JWS without checking its signature.

    Raises InputTooLargeError before parsing when longer than ``max_length``;
    MalformedError for anything that is not exactly ``header.payload.signature`` with a
    known ``alg``, a well-formed ``kid``, only allowed header members, and JSON-object
    header and payload (no duplicate keys, no floats).
    """
    if isinstance(token, bytes | bytearray):
        if len(token) > max_length:
            raise InputTooLargeError(f"token longer than {max_length} bytes")
        try:
            token = bytes(token).decode("ascii")
        except UnicodeDecodeError as exc:
            raise MalformedError("token is not ASCII") from exc
    if not isinstance(token, str):
        raise MalformedError("token is not text")
    if len(token) > max_length:
        raise InputTooLargeError(f"token longer than {max_length} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedError("a compact JWS has exactly three dot-separated parts")
    h64, p64, s64 = parts
    if not h64 or not p64 or not s64:
        raise MalformedError("empty JWS part (detached payloads are not accepted)")
    header = _HEADER_CACHE.get(h64)
    if header is None:
        header = _parse_header(h64)
        if len(_HEADER_CACHE) >= _HEADER_CACHE_SIZE:
            _HEADER_CACHE.clear()
        _HEADER_CACHE[h64] = header
    payload = strict_json_loads(_decode_segment(p64, "payload"), "payload")
    if not isinstance(payload, dict):
        raise MalformedError("payload is not a JSON object")
    signature = _decode_segment(s64, "signature")
    return ParsedJWS(header, payload, f"{h64}.{p64}".encode("ascii"), signature, token)


_TO_STD = bytes.maketrans(b"-_", b"+/")
_PADDING = (b"", b"", b"==", b"=")


def _decode_segment(text: str, what: str) -> bytes:
    """Return ``b64url_decode(text, what)``, the usual case without its per-character work.

    A segment that passes b64url_decode's checks is decoded here the same way with the
    alphabet translated on bytes (``str.translate`` is most of its time on a payload);
    anything else goes to b64url_decode, which says what is wrong with it.
    """
    rem = len(text) & 3
    if (
        rem == 1
        or not text.isascii()
        or "+" in text
        or "/" in text
        or "=" in text
        or (rem == 2 and text[-1] not in _LAST_OK_2)
        or (rem == 3 and text[-1] not in _LAST_OK_3)
    ):
        return b64url_decode(text, what)
    try:
        return binascii.a2b_base64(
            text.encode("ascii").translate(_TO_STD) + _PADDING[rem], strict_mode=True
        )
    except binascii.Error:
        return b64url_decode(text, what)


# One office key gives every token the same header segment; parsing it once per segment
# text is safe (parsing is a pure function of the text) and the cache is bounded.
_HEADER_CACHE: dict[str, Mapping[str, Any]] = {}
_HEADER_CACHE_SIZE = 1024


def _parse_header(h64: str) -> Mapping[str, Any]:
    header = strict_json_loads(b64url_decode(h64, "header"), "header")
    if not isinstance(header, dict):
        raise MalformedError("header is not a JSON object")
    unknown = set(header) - _HEADER_MEMBERS
    if unknown:
        raise MalformedError(f"header members not allowed: {sorted(unknown)}")
    alg = header.get("alg")
    if alg not in _ALGS:
        raise MalformedError(f"alg {alg!r} is not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
        raise MalformedError("kid missing or malformed")
    if "typ" in header and not isinstance(header["typ"], str):
        raise MalformedError("typ is not a string")
    return MappingProxyType(header)


# --- the JWS JSON serialization with a second (SM2) signature ----------------------------
#
# RFC 7515 section 7.2.1, general form, exactly:
#   {"payload": P, "signatures": [{"protected": H1, "signature": S1},
#                                 {"protected": H2, "signature": S2}]}
# where H1.P.S1 is the compact JWS the office signed first (EdDSA or ES256: the form the
# QR's digest binds and old verifiers read), and H2 is {"alg": "SM2SM3", "kid", "typ"} of
# the office's SM2 key. No unprotected headers, nothing else. See docs/formats.md.


@dataclass(frozen=True, slots=True)
class ParsedMultiJWS:
    """A syntactically valid JWS JSON serialization; no signature has been checked yet.

    ``primary`` is the first signature as a compact JWS (its ``token`` is that compact
    text); ``others`` are the further signatures over the same payload.
    """

    primary: ParsedJWS
    others: tuple[ParsedJWS, ...]


def add_signature(compact: str, signer: Signer) -> str:
    """Return the JWS JSON serialization of the compact JWS ``compact`` with a second
    signature by ``signer`` (an SM2 key) over the same payload and ``typ``.

    Raises MalformedError when ``compact`` is not a compact JWS, SignatureError when
    ``signer`` is not an SM2 key or the first signature already is one.
    """
    if signer.alg is not Algorithm.SM2SM3:
        raise SignatureError("the second signature is an SM2 one")
    first = parse_jws(compact)
    if first.alg == Algorithm.SM2SM3:
        raise SignatureError("the first signature must not be an SM2 one")
    h64, p64, s64 = compact.split(".")
    header: dict[str, Any] = {"typ": first.typ} if first.typ is not None else {}
    h2 = _header_segment(header, signer)
    s2 = b64url_encode(signer.sign(f"{h2}.{p64}".encode("ascii")))
    return (
        f'{{"payload":"{p64}","signatures":[{{"protected":"{h64}","signature":"{s64}"}},'
        f'{{"protected":"{h2}","signature":"{s2}"}}]}}'
    )


def compact_of(text: str) -> str:
    """Return the first signature of a JWS JSON serialization as a compact JWS, or
    ``text`` itself when it is already compact (a stored credential of either form).

    Raises MalformedError when ``text`` is JSON but not a serialization ``parse_jws_json``
    accepts."""
    if not text.startswith("{"):
        return text
    return parse_jws_json(text).primary.token


def parse_jws_json(text: str | bytes, *, max_length: int = MAX_TOKEN_LENGTH) -> ParsedMultiJWS:
    """Return the parsed signatures of a JWS JSON serialization (general form) without
    checking them.

    Accepts exactly: an object with ``payload`` and ``signatures`` only; one or two
    signature objects with ``protected`` and ``signature`` only (no unprotected
    ``header``); the first not SM2SM3, the second SM2SM3, both of the same ``typ``; each
    entry a compact JWS ``parse_jws`` accepts. Raises InputTooLargeError before parsing
    when longer than ``max_length``, MalformedError for anything else.
    """
    if len(text) > max_length:
        raise InputTooLargeError(f"token longer than {max_length} characters")
    doc = strict_json_loads(text.encode("utf-8") if isinstance(text, str) else text, "JWS JSON")
    if not isinstance(doc, dict) or set(doc) != {"payload", "signatures"}:
        raise MalformedError("a JWS JSON serialization has exactly payload and signatures")
    p64, entries = doc["payload"], doc["signatures"]
    if not isinstance(p64, str) or not isinstance(entries, list) or not 1 <= len(entries) <= 2:
        raise MalformedError("JWS JSON: payload is not text or not one or two signatures")
    parsed: list[ParsedJWS] = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"protected", "signature"}:
            raise MalformedError("JWS JSON: a signature has exactly protected and signature")
        h64, s64 = entry["protected"], entry["signature"]
        if not isinstance(h64, str) or not isinstance(s64, str):
            raise MalformedError("JWS JSON: protected and signature are text")
        parsed.append(parse_jws(f"{h64}.{p64}.{s64}", max_length=max_length))
    first, others = parsed[0], tuple(parsed[1:])
    if first.alg == Algorithm.SM2SM3:
        raise MalformedError("JWS JSON: the first signature is not an SM2 one")
    for other in others:
        if other.alg != Algorithm.SM2SM3:
            raise MalformedError("JWS JSON: the second signature is an SM2 one")
        if other.typ != first.typ:
            raise MalformedError("JWS JSON: the signatures' typ differ")
    return ParsedMultiJWS(first, others)
