"""The one way Jiaozi turns a JSON value into bytes to sign, and a strict JSON reader.

Bytes to sign are RFC 8785 (JCS) for the JSON subset Jiaozi signs: objects with string
keys, arrays, strings, integers in the I-JSON safe range, booleans and null. Floats are
refused rather than canonicalised: no Jiaozi format carries one, and JCS number
formatting is where implementations disagree. Within that subset ``json.dumps`` with
sorted keys, no spaces and ``ensure_ascii=False`` produces exactly the JCS bytes (the
known-answer tests cross-check it against the rfc8785 reference implementation).
UTF-8 rather than ``\\uXXXX`` escapes keeps CJK names at 3 bytes instead of 6.
"""

from __future__ import annotations

import json
from typing import Any

from ._errors import MalformedError

__all__ = ["MAX_SAFE_INTEGER", "canonical_json", "strict_json_loads"]

MAX_SAFE_INTEGER = 2**53 - 1


def _check_key(key: object) -> None:
    if not isinstance(key, str):
        raise MalformedError("object key is not a string")
    # JCS sorts keys by UTF-16 code units; for BMP-only keys that is code point order,
    # which is what sort_keys does. Keys beyond the BMP are refused. (A lone surrogate,
    # in a key or a value, fails the UTF-8 encoding of the whole text: see canonical_json.)
    if not key.isascii() and any(ord(c) > 0xFFFF for c in key):
        raise MalformedError("object key outside the Basic Multilingual Plane")


def _check_int(value: int) -> None:
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise MalformedError("integer outside the I-JSON safe range")


def _check(value: Any, depth: int = 0) -> None:
    """Raise MalformedError unless ``value`` is in the JSON subset (strings unchecked).

    Exact-type tests first: this walk runs over every payload signed, and isinstance
    against the Mapping ABC costs several times more than ``type(x) is dict``. Strings are
    not looked at: the only way one can fail is a lone surrogate, which the UTF-8
    encoding of the finished text refuses for all of them at once.
    """
    if depth > 32:
        raise MalformedError("JSON nested too deeply")
    t = type(value)
    if t is dict:
        for k, v in value.items():
            if type(k) is not str or not k.isascii():
                _check_key(k)
            tv = type(v)
            if tv is str or tv is bool or v is None:
                continue
            if tv is int:
                if not -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER:
                    _check_int(v)
            else:
                _check(v, depth + 1)
    elif t is list or t is tuple:
        for v in value:
            tv = type(v)
            if tv is str or tv is bool or v is None:
                continue
            if tv is int:
                if not -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER:
                    _check_int(v)
            else:
                _check(v, depth + 1)
    elif t is str or t is bool or value is None:
        pass
    elif t is int:
        _check_int(value)
    # Subclasses (an IntEnum, a StrEnum, a dict subclass) take the general path; other
    # mappings and sequences have no JSON form json.dumps would give them.
    elif isinstance(value, bool | str):
        pass
    elif isinstance(value, int):
        _check_int(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_key(k)
            _check(v, depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            _check(v, depth + 1)
    else:
        raise MalformedError(f"{type(value).__name__} has no canonical JSON form here")


# One encoder for every call (json.dumps with options builds a new one each time). No
# circular-reference markers: _check's depth limit has already refused any cycle.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
)
try:  # the C encoder json.dumps itself runs for these options, made once
    _encode_c: Any = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", True, False, True
    )
except (AttributeError, TypeError):  # no C accelerator, or another signature
    _encode_c = None
_encode_str = json.encoder.encode_basestring  # what the encoder does to a str


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 JSON bytes of ``value`` (JCS over Jiaozi's JSON subset).

    Raises MalformedError for floats, non-string keys, unsafe integers, lone surrogates
    or any type outside JSON.
    """
    t = type(value)
    try:
        if t is dict or t is list:
            _check(value)
            if _encode_c is not None:
                return "".join(_encode_c(value, 0)).encode("utf-8")
        elif t is str:  # (an audit record's parts, one by one)
            return _encode_str(value).encode("utf-8")
        elif t is int:
            _check_int(value)
            return int.__repr__(value).encode("ascii")
        else:
            _check(value)
        return _ENCODER.encode(value).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedError("string is not valid Unicode") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # in C; only a shorter dict means a key came twice
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    for k, _v in pairs:
        if k in seen:
            raise MalformedError(f"duplicate JSON key {k!r}")
        seen.add(k)
    raise AssertionError("unreachable")  # pragma: no cover


def _no_float(text: str) -> Any:
    raise MalformedError("floating-point numbers are not accepted")


def _no_constant(text: str) -> Any:
    raise MalformedError(f"{text} is not JSON")


# json.loads with hooks builds a new decoder on every call; this is the same decoder, made
# once (a leading BOM, which json.loads refuses up front, fails here as "Expecting value").
_STRICT_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_float=_no_float, parse_constant=_no_constant
)


def strict_json_loads(data: bytes, what: str = "JSON") -> Any:
    """Parse UTF-8 JSON bytes, refusing duplicate keys, floats, NaN and invalid UTF-8.

    Returns the parsed value; raises MalformedError.
    """
    try:
        return _STRICT_DECODER.decode(data.decode("utf-8"))
    except MalformedError as exc:
        raise MalformedError(f"{what}: {exc}") from exc
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedError(f"{what} is not valid UTF-8 JSON") from exc
