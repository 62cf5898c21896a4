"""API keys: ``jz_<prefix>_<secret>``, shown once, stored as SHA-256 of the secret.

The prefix (12 hex characters) finds the row; the secret (43 base64url characters, 256
bits) is compared by hash in constant time. A fast hash is right here: the secret is
random and long, so there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

__all__ = ["NewApiKey", "hash_secret", "new_api_key", "parse_api_key", "secret_matches"]

_FORMAT = re.compile(r"jz_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class NewApiKey:
    """A freshly made key: ``text`` is shown once, only ``prefix`` and ``secret_hash`` kept."""

    text: str
    prefix: str
    secret_hash: str


def hash_secret(secret: str) -> str:
    """Return the hex SHA-256 of a key's secret part."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def new_api_key() -> NewApiKey:
    """Return a new random API key."""
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    return NewApiKey(f"jz_{prefix}_{secret}", prefix, hash_secret(secret))


def parse_api_key(text: str) -> tuple[str, str] | None:
    """Return (prefix, secret) of a well-formed key, else None."""
    m = _FORMAT.fullmatch(text.strip())
    return (m.group(1), m.group(2)) if m else None


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Return True iff ``secret`` hashes to ``stored_hash`` (constant-time comparison)."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)
