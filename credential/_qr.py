"""The printed QR: the verifier URL with the QR token in its fragment.

A base64url QR token with the contract's claims is about 530 characters: a byte-mode QR of
that is version 22 at level Q, over the contract's budget of 18. So the printed form
carries the same JWS in a denser *transport*: ``<verifier>/v#1<digits>`` where ``1`` names
transport version 1 and the digits, in a QR numeric segment (3.3 bits a digit), encode::

    byte 0        signature length L
    bytes 1..L    the signature
    rest          raw DEFLATE, with the preset dictionary below, of header JSON, NUL, payload JSON

Decoding rebuilds exactly ``b64url(header).b64url(payload).b64url(signature)``, the token
that was signed; the signature is then checked on that text as on any other. The plain
compact JWS is accepted in the fragment too. The dictionary is part of the format: a new
dictionary is a new transport version, and old versions stay decodable.
"""

from __future__ import annotations

import re
import urllib.parse
import zlib
from dataclasses import dataclass

from ._b64 import b64url_decode, b64url_encode
from ._errors import InputTooLargeError, MalformedError
from ._jws import MAX_TOKEN_LENGTH

__all__ = [
    "QR_PATH",
    "QrUrl",
    "decode_transport",
    "encode_transport",
    "extract_token",
    "qr_segments",
    "qr_url",
]

QR_PATH = "/v"
_TRANSPORT_V1 = "1"

# Transport v1 preset dictionary: the fixed skeleton of a QR token (later bytes are
# cheaper to refer to, so the most common text comes last). Never edit: add a v2.
_SUBJECTS = (
    "心理健康教育电子技术应用电气技术应用数控技术应用计算机应用汽车运用与维修会计事务护理烹饪"
    "体育与健康道德与法治思想政治信息技术高等教育幼儿园语文数学英语物理化学生物历史地理音乐体育美术科学"
)
_DICT_V1 = (
    _SUBJECTS
    + '{"alg":"ES256","kid":"'
    + '","typ":"jiaozi-qr+jwt"}'
    + '{"alg":"EdDSA","kid":"'
    + '","typ":"jiaozi-qr+jwt"}\x00'
    + '{"d":"2026-0'
    + '","exp":17'
    + '","h":"'
    + '","iat":17'
    + ',"iss":"urn:jiaozi:office:'
    + '","m":"110***********'
    + '","n":"'
    + '","p":"'
    + '","q":'
    + ',"s":"'
    + '","status":{"status_list":{"idx":'
    + ',"uri":"https://'
    + '/statuslists/1"}},"sub":"2026'
    + '","v":1}'
).encode("utf-8")

_CHUNK_BYTES = 7
_CHUNK_DIGITS = 17  # 10**17 > 256**7
# digits used by a final chunk of k bytes: len(str(256**k - 1)); strictly increasing, so the
# length of the tail alone says how many bytes it holds.
_TAIL_DIGITS = {len(str(256**k - 1)): k for k in range(1, _CHUNK_BYTES)}


def _bytes_to_digits(data: bytes) -> str:
    out = []
    for i in range(0, len(data), _CHUNK_BYTES):
        chunk = data[i : i + _CHUNK_BYTES]
        width = _CHUNK_DIGITS if len(chunk) == _CHUNK_BYTES else len(str(256 ** len(chunk) - 1))
        out.append(str(int.from_bytes(chunk, "big")).zfill(width))
    return "".join(out)


def _digits_to_bytes(digits: str) -> bytes:
    full, tail = divmod(len(digits), _CHUNK_DIGITS)
    if tail and tail not in _TAIL_DIGITS:
        raise MalformedError("QR digits have an impossible length")
    out = bytearray()
    pos = 0
    for n_bytes, width in [(_CHUNK_BYTES, _CHUNK_DIGITS)] * full + (
        [(_TAIL_DIGITS[tail], tail)] if tail else []
    ):
        value = int(digits[pos : pos + width])
        pos += width
        if value >= 256**n_bytes:
            raise MalformedError("QR digits out of range")
        out += value.to_bytes(n_bytes, "big")
    return bytes(out)


def encode_transport(token: str) -> str:
    """Return the transport-v1 digit string of a compact JWS (version digit first).

    Raises MalformedError if ``token`` is not three base64url parts.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedError("not a compact JWS")
    header, payload, signature = (b64url_decode(p) for p in parts)
    if b"\x00" in header or not 0 < len(signature) < 256:
        raise MalformedError("token cannot be put in transport v1")
    comp = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _DICT_V1)
    body = comp.compress(header + b"\x00" + payload) + comp.flush()
    return _TRANSPORT_V1 + _bytes_to_digits(bytes([len(signature)]) + signature + body)


def decode_transport(digits: str, *, max_length: int = MAX_TOKEN_LENGTH) -> str:
    """Return the compact JWS that a transport digit string carries.

    Raises InputTooLargeError if the digits or the token they inflate to exceed
    ``max_length`` (inflation is bounded, so a deflate bomb costs nothing), and
    MalformedError for an unknown transport version or a damaged stream.
    """
    if len(digits) > max_length:
        raise InputTooLargeError("QR digits too long")
    if not digits.isascii() or not digits.isdigit():
        raise MalformedError("QR transport is not digits")
    if digits[:1] != _TRANSPORT_V1:
        raise MalformedError("unknown QR transport version")
    raw = _digits_to_bytes(digits[1:])
    if not raw or len(raw) < 1 + raw[0]:
        raise MalformedError("QR transport truncated")
    signature, body = raw[1 : 1 + raw[0]], raw[1 + raw[0] :]
    inflater = zlib.decompressobj(-15, zdict=_DICT_V1)
    try:
        plain = inflater.decompress(body, max_length)
    except zlib.error as exc:
        raise MalformedError("QR transport stream is damaged") from exc
    if inflater.unconsumed_tail:
        raise InputTooLargeError("QR token inflates past the size limit")
    if not inflater.eof or inflater.unused_data:
        raise MalformedError("QR transport stream is truncated or has trailing bytes")
    header, sep, payload = plain.partition(b"\x00")
    if not sep:
        raise MalformedError("QR transport has no header/payload separator")
    token = ".".join(b64url_encode(x) for x in (header, payload, signature))
    if len(token) > max_length:
        raise InputTooLargeError("QR token longer than the size limit")
    return token


def qr_url(verifier_url: str, token: str) -> str:
    """Return the text to print in the QR: ``<verifier_url>/v#<transport digits>``."""
    return verifier_url.rstrip("/") + QR_PATH + "#" + encode_transport(token)


def qr_segments(text: str) -> list[tuple[str, str]]:
    """Return (content, mode) QR segments for ``text``: the URL in byte mode, digits numeric."""
    head, sep, frag = text.partition("#")
    if sep and frag.isdigit():
        return [(head + "#", "byte"), (frag, "numeric")]
    return [(text, "byte")]


@dataclass(frozen=True, slots=True)
class QrUrl:
    """An accepted verifier URL split into its origin and the token it carries."""

    origin: str
    token: str


_JWS_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _origin_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{parts.scheme.lower()}://{netloc}"


def extract_token(
    text: str, *, verifier_origin: str | None = None, max_length: int = MAX_TOKEN_LENGTH
) -> str:
    """Return the compact JWS in ``text``: a bare JWS, transport digits, or a verifier URL.

    A URL is accepted only when its origin is exactly ``verifier_origin`` (scheme, host
    and port; no user info, no trailing dot, no lookalike), its path is ``/v`` and the
    token is in the fragment. Raises InputTooLargeError or MalformedError.
    """
    if not isinstance(text, str):
        raise MalformedError("QR text is not a string")
    if len(text) > 2 * max_length:
        raise InputTooLargeError("QR text too long")
    text = text.strip()
    if _JWS_SHAPE.fullmatch(text):
        if len(text) > max_length:
            raise InputTooLargeError("token too long")
        return text
    if text.isascii() and text.isdigit():
        return decode_transport(text, max_length=max_length)
    if verifier_origin is None:
        raise MalformedError("not a token, and no verifier origin is configured to accept URLs")
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise MalformedError("QR text is not a URL") from exc
    # Control characters and spaces are dropped by URL parsers (ours and browsers'), which
    # would let a URL that does not read as ours still pass: refuse them outright.
    if not text.isascii() or not text.isprintable() or " " in text:
        raise MalformedError("QR URL has spaces or control characters")
    if "@" in parts.netloc or "\\" in text:
        raise MalformedError("QR URL has user info or non-ASCII characters")
    expected = _origin_of(verifier_origin)
    if parts.scheme.lower() not in ("https", "http") or _origin_of(text) != expected:
        raise MalformedError("QR URL is not for this verifier")
    if parts.netloc.lower() != urllib.parse.urlsplit(verifier_origin).netloc.lower():
        raise MalformedError("QR URL is not for this verifier")  # e.g. explicit :443
    if parts.path not in (QR_PATH, QR_PATH.upper()) or parts.query:
        raise MalformedError("QR URL path is not /v")
    fragment = parts.fragment
    if _JWS_SHAPE.fullmatch(fragment):
        if len(fragment) > max_length:
            raise InputTooLargeError("token too long")
        return fragment
    if fragment.isascii() and fragment.isdigit():
        return decode_transport(fragment, max_length=max_length)
    raise MalformedError("QR URL carries no token")
