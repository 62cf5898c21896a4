"""Errors raised by the credential core.

One root, a few branches; callers catch the branch they can act on::

    CredentialError
    ├── InvalidFieldError        a value fails its format rule (names the field; zh + en text)
    ├── MalformedError           bytes that cannot be parsed as what they claim to be
    │   └── InputTooLargeError   refused before parsing because of its size
    ├── SignatureError           a signature that does not verify, or a key that cannot be used
    ├── StatusListError          a status list that cannot be read or used
    ├── RestrictionListError     a restricted-list document that cannot be read or used
    └── TrustListError           a trust list that cannot be read or used
        └── RollbackError        older than one already accepted

Third-party exceptions (cryptography, zlib, json, binascii) never escape the package:
they are caught at the boundary and re-raised as one of these, chained.
"""

from __future__ import annotations

__all__ = [
    "CredentialError",
    "InputTooLargeError",
    "InvalidFieldError",
    "MalformedError",
    "RestrictionListError",
    "RollbackError",
    "SignatureError",
    "StatusListError",
    "TrustListError",
]


class CredentialError(Exception):
    """Root of every error the credential core raises."""


class InvalidFieldError(CredentialError, ValueError):
    """A value fails its format rule.

    ``field`` names the input field, ``code`` is a stable machine-readable reason
    (for example ``check_digit``), ``message`` is English and ``message_zh`` Chinese.
    """

    def __init__(self, field: str, code: str, message: str, message_zh: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.code = code
        self.message = message
        self.message_zh = message_zh


class MalformedError(CredentialError, ValueError):
    """Input that cannot be parsed as what it claims to be."""


class InputTooLargeError(MalformedError):
    """Input refused before parsing because it exceeds a size limit."""


class SignatureError(CredentialError):
    """A signature that does not verify, or a key unusable for the operation."""


class StatusListError(CredentialError):
    """A status list that cannot be decoded or does not fit its declared shape."""


class RestrictionListError(CredentialError):
    """A restricted-list document that cannot be decoded, verified or used."""


class TrustListError(CredentialError):
    """A trust list that cannot be decoded, verified or used."""


class RollbackError(TrustListError):
    """A signed list older than one already accepted (replay of an old version)."""
