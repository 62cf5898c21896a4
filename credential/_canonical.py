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
from collections.abc import Mapping
from typing import Any

from ._errors import MalformedError

__all__ = ["MAX_SAFE_INTEGER", "canonical_json", "strict_json_loads"]

MAX_SAFE_INTEGER = 2**53 - 1


def _check_text(text: str) -> None:
    # Lone surrogates cannot be encoded as UTF-8; find them here, not mid-signature.
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise MalformedError("string is not valid Unicode") from exc


def _check_key(key: object) -> None:
    if not isinstance(key, str):
        raise MalformedError("object key is not a string")
    if not key.isascii():
        _check_text(key)
        # JCS sorts keys by UTF-16 code units; for BMP-only keys that is code point order,
        # which is what sort_keys does. Keys beyond the BMP are refused.
        if any(ord(c) > 0xFFFF for c in key):
            raise MalformedError("object key outside the Basic Multilingual Plane")


def _check(value: Any, depth: int = 0) -> None:
    # Exact-type tests first: this walk runs over every payload signed, and isinstance
    # against the Mapping ABC costs several times more than `type(x) is dict`.
    if depth > 32:
        raise MalformedError("JSON nested too deeply")
    t = type(value)
    if t is dict:
        for k, v in value.items():
            if type(k) is not str or not k.isascii():
                _check_key(k)
            tv = type(v)
            if tv is str:
                if not v.isascii():
                    _check_text(v)
            elif tv is int:
                if not -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER:
                    raise MalformedError("integer outside the I-JSON safe range")
            elif v is not None and tv is not bool:
                _check(v, depth + 1)
    elif t is str:
        _check_text(value)
    elif t is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise MalformedError("integer outside the I-JSON safe range")
    elif t is list or t is tuple:
        for v in value:
            _check(v, depth + 1)
    elif value is None or t is bool:
        pass
    # Subclasses (an IntEnum, a StrEnum, a mapping proxy) take the general path.
    elif isinstance(value, bool):
        pass
    elif isinstance(value, str):
        _check_text(value)
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise MalformedError("integer outside the I-JSON safe range")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _check_key(k)
            _check(v, depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            _check(v, depth + 1)
    else:
        raise MalformedError(f"{type(value).__name__} has no canonical JSON form here")


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 JSON bytes of ``value`` (JCS over Jiaozi's JSON subset).

    Raises MalformedError for floats, non-string keys, unsafe integers, lone surrogates
    or any type outside JSON.
    """
    _check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise MalformedError(f"duplicate JSON key {k!r}")
        out[k] = v
    return out


def _no_float(text: str) -> Any:
    raise MalformedError("floating-point numbers are not accepted")


def _no_constant(text: str) -> Any:
    raise MalformedError(f"{text} is not JSON")


def strict_json_loads(data: bytes, what: str = "JSON") -> Any:
    """Parse UTF-8 JSON bytes, refusing duplicate keys, floats, NaN and invalid UTF-8.

    Returns the parsed value; raises MalformedError.
    """
    try:
        text = data.decode("utf-8")
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except MalformedError as exc:
        raise MalformedError(f"{what}: {exc}") from exc
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedError(f"{what} is not valid UTF-8 JSON") from exc
