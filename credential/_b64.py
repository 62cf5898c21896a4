"""Strict base64url (RFC 4648 section 5, no padding) as JWS uses it."""

from __future__ import annotations

import binascii

from ._errors import MalformedError

__all__ = ["b64url_decode", "b64url_encode"]

_TO_STD = str.maketrans("-_", "+/")
# The last character of an unpadded segment may only carry meaningful bits; any other
# spelling of the same bytes is a second encoding an attacker could use to vary a token.
_LAST_OK_2 = frozenset("AQgw")  # length % 4 == 2: 4 low bits must be zero
_LAST_OK_3 = frozenset("AEIMQUYcgkosw048")  # length % 4 == 3: 2 low bits must be zero


_TO_URL = bytes.maketrans(b"+/", b"-_")


def b64url_encode(data: bytes) -> str:
    """Return the unpadded base64url text of ``data``."""
    # base64.urlsafe_b64encode's own steps, without its two Python-level calls
    return binascii.b2a_base64(data, newline=False).translate(_TO_URL).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str = "segment") -> bytes:
    """Return the bytes of canonical unpadded base64url ``text``.

    Raises MalformedError for padding, characters outside the alphabet, an impossible
    length, or non-zero unused bits in the last character (a non-canonical spelling).
    """
    # '+', '/' and '=' would survive the translation below; strict mode refuses the rest.
    if "+" in text or "/" in text or "=" in text or not text.isascii():
        raise MalformedError(
            f"{what} is not base64url (padding or a character outside A-Z a-z 0-9 - _)"
        )
    rem = len(text) % 4
    if rem == 1:
        raise MalformedError(f"{what} has an impossible base64url length")
    if (rem == 2 and text[-1] not in _LAST_OK_2) or (rem == 3 and text[-1] not in _LAST_OK_3):
        raise MalformedError(f"{what} is not canonical base64url")
    try:
        return binascii.a2b_base64(
            (text + "=" * (-len(text) % 4)).translate(_TO_STD), strict_mode=True
        )
    except (binascii.Error, ValueError) as exc:
        raise MalformedError(f"{what} is not base64url") from exc
