"""Employer accounts for admission checks: ``jzv_<prefix>_<secret>`` API keys, shown once,
stored as SHA-256 of the secret (a fast hash is right: the secret is 256 random bits)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from . import db

__all__ = ["Employer", "authenticate", "create_employer"]

_FORMAT = re.compile(r"jzv_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True, slots=True)
class Employer:
    id: int
    name: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def create_employer(engine: sa.Engine, name: str, now: dt.datetime) -> tuple[Employer, str]:
    """Create an employer account; return it and its API key (the only time it is seen)."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValueError("name must be 1-200 characters")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with engine.begin() as conn:
        new_id = conn.execute(
            db.employers.insert().values(
                name=name, key_prefix=prefix, secret_hash=_hash(secret), active=True, created_at=now
            )
        ).inserted_primary_key
    assert new_id is not None
    return Employer(int(new_id[0]), name), f"jzv_{prefix}_{secret}"


_DUMMY_HASH = _hash("x" * 43)


def authenticate(engine: sa.Engine, authorization: str | None) -> Employer | None:
    """Return the active employer whose key is the bearer token, else None."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    m = _FORMAT.fullmatch(authorization[7:].strip())
    if m is None:
        return None
    prefix, secret = m.groups()
    e = db.employers
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(e.c.id, e.c.name, e.c.secret_hash, e.c.active).where(e.c.key_prefix == prefix)
        ).first()
    stored = row.secret_hash if row is not None else _DUMMY_HASH
    if not hmac.compare_digest(_hash(secret), stored) or row is None or not row.active:
        return None
    return Employer(int(row.id), str(row.name))
