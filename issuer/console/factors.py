"""The console's secrets: argon2id password hashes, TOTP codes, one-time codes.

Passwords are hashed with argon2id (``argon2-cffi``'s RFC 9106 low-memory profile); an
unknown officer costs the same verification as a known one (a dummy hash). TOTP is RFC
6238 (30 s, 6 digits, SHA-1: what authenticator apps read) via ``pyotp``; a code is
accepted one step either side of now, and each step once. Enrolment and recovery codes
are 80 random bits shown once and stored as SHA-256 (no key needed at that entropy).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from urllib.parse import quote

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "RECOVERY_CODES",
    "TOTP_STEP",
    "code_digest",
    "hash_password",
    "new_code",
    "new_totp_secret",
    "otpauth_uri",
    "password_matches",
    "qr_svg",
    "totp_step",
]

TOTP_STEP = 30
RECOVERY_CODES = 10
_HASHER = PasswordHasher()  # argon2id, time 3, 64 MiB, 4 lanes (RFC 9106 low memory)
_DUMMY = _HASHER.hash("not a password anyone has")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password`` (its own salt; PHC string)."""
    return _HASHER.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    """Return whether ``password`` is the one hashed in ``stored`` (None: no password set,
    checked against a dummy hash so the time does not tell)."""
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    """Return a new TOTP secret (32 base32 characters, 160 bits)."""
    return pyotp.random_base32()


def otpauth_uri(secret: str, *, username: str, issuer: str) -> str:
    """Return the ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """Return ``uri`` as an inline SVG QR code (segno; no image file, no script)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, title="TOTP"))


def totp_step(secret: str, code: str, *, now: dt.datetime, after: int | None) -> int | None:
    """Return the time step whose code ``code`` is (now, or one step either side), if it
    is later than ``after`` (the last step accepted: a code is good once); else None."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // TOTP_STEP
    found = None
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP).encode(), code.encode()):
            found = step
    if found is None or (after is not None and found <= after):
        return None
    return found


def new_code() -> str:
    """Return a new one-time code: 16 characters (80 bits) as ``XXXX-XXXX-XXXX-XXXX``."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def code_digest(code: str) -> str:
    """Return the stored form of a one-time code as typed (dashes, spaces and case
    ignored): SHA-256 hex."""
    normal = "".join(c for c in code.upper() if c.isalnum())
    return hashlib.sha256(quote(normal).encode("ascii")).hexdigest()
