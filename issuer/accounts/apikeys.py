"""API keys: ``jz_<prefix>_<secret>``, shown once, stored as SHA-256 of the secret.

The prefix (12 hex characters) finds the row; the secret (43 base64url characters, 256
bits) is compared by hash in constant time. A fast hash is right here: the secret is
random and long, so there is nothing to brute-force.

A key's text is returned once (:class:`NewApiKey`) and never stored, logged or audited:
only its prefix and the hash of its secret are kept. Issuing and revoking a key are each
one write transaction with their audit record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer.accounts.offices import officer_in
from issuer.accounts.schemas import ApiKeyCreated, ApiKeyPublic
from issuer.audit import chain as audit
from issuer.db import tables, write
from issuer.db.models import ApiKey, Officer, ServiceClient
from issuer.errors import Conflict, NotFound

__all__ = [
    "NewApiKey",
    "add_key",
    "hash_secret",
    "issue_api_key",
    "key_created",
    "key_public",
    "keys_of",
    "new_api_key",
    "parse_api_key",
    "revoke_api_key",
    "secret_matches",
]

_KEY = tables.API_KEY

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


# --- key rows -------------------------------------------------------------------------------


def add_key(
    session: Session,
    *,
    officer_id: int | None = None,
    client_id: int | None = None,
    issued_by: int | None = None,
    now: dt.datetime,
) -> tuple[ApiKey, NewApiKey]:
    """Add a new key of an officer or a service client to the caller's transaction;
    ``issued_by`` is the officer who will see its text (None: bootstrap key, command line)."""
    new = new_api_key()
    row = ApiKey(
        officer_id=officer_id,
        client_id=client_id,
        prefix=new.prefix,
        secret_hash=new.secret_hash,
        created_at=now,
        issued_by=issued_by,
    )
    session.add(row)
    session.flush()
    return row, new


def issue_api_key(
    session: Session,
    *,
    officer_id: int | None = None,
    client_id: int | None = None,
    office_id: str | None = None,
    actor: str,
    now: dt.datetime,
    issued_by: int | None = None,
) -> NewApiKey:
    """Give an officer (of ``office_id``, when given) or a service client a new key;
    ``issued_by`` is the acting officer's id (recorded: the key's holder may not approve
    that officer's requests).

    Exactly one of ``officer_id`` and ``client_id``. Earlier keys stay valid until
    revoked. Raises NotFound, or Conflict for a deactivated officer.
    """
    if (officer_id is None) == (client_id is None):
        raise ValueError("give exactly one of officer_id and client_id")
    with write(session):
        if officer_id is not None:
            officer = officer_in(session, officer_id, office_id)
            if not officer.active:
                raise Conflict(
                    "The officer is deactivated",
                    "该工作人员已停用",
                    f"officer {officer.username} is deactivated and gets no new keys",
                    f"工作人员{officer.username}已停用，不能再获得新的API密钥",
                )
            subject, detail = f"officer:{officer.username}", {"officer_id": officer.id}
        else:
            svc = session.get(ServiceClient, client_id)
            if svc is None:
                raise NotFound("No such client", "服务客户端不存在")
            subject, detail = f"client:{svc.name}", {"client_id": svc.id}
        _, new = add_key(
            session, officer_id=officer_id, client_id=client_id, issued_by=issued_by, now=now
        )
        audit.append(
            session,
            actor=actor,
            action="api_key.issued",
            subject=subject,
            detail={**detail, "api_key_prefix": new.prefix},
            at=now,
        )
    return new


def revoke_api_key(
    session: Session,
    *,
    prefix: str,
    office_id: str | None,
    clients: bool = True,
    actor: str,
    now: dt.datetime,
) -> ApiKey:
    """Revoke the key with ``prefix``; it stops authenticating at once.

    With ``office_id`` only keys of that office's officers are found (and service
    clients' keys when ``clients``); any other key is NotFound. Revoking a revoked key
    changes nothing and writes no record.
    """
    with write(session):
        key = session.execute(sa.select(ApiKey).where(_KEY.c.prefix == prefix)).scalar_one_or_none()
        subject = None
        if key is not None and key.officer_id is not None:
            officer = session.get(Officer, key.officer_id)
            if officer is not None and (office_id is None or officer.office_id == office_id):
                subject = f"officer:{officer.username}"
        elif key is not None and key.client_id is not None and clients:
            svc = session.get(ServiceClient, key.client_id)
            subject = f"client:{svc.name}" if svc is not None else None
        if key is None or subject is None:
            raise NotFound(
                "No such API key",
                "API密钥不存在",
                f"No API key with prefix {prefix} here.",
                f"没有前缀为{prefix}的API密钥。",
            )
        if key.revoked_at is None:
            key.revoked_at = now
            session.flush()
            audit.append(
                session,
                actor=actor,
                action="api_key.revoked",
                subject=subject,
                detail={"api_key_prefix": prefix},
                at=now,
            )
    return key


# --- reading --------------------------------------------------------------------------------


def keys_of(
    session: Session, column: sa.Column[int], ids: Iterable[int]
) -> dict[int, list[ApiKey]]:
    """Return the keys (oldest first) of each of ``ids``: officers when ``column`` is
    ``api_key.officer_id``, service clients when it is ``api_key.client_id``."""
    wanted = list(ids)
    out: dict[int, list[ApiKey]] = {i: [] for i in wanted}
    if not wanted:
        return out
    rows = session.execute(
        sa.select(ApiKey).where(column.in_(wanted)).order_by(_KEY.c.id)
    ).scalars()
    for key in rows:
        owner = key.officer_id if column is _KEY.c.officer_id else key.client_id
        if owner is not None:
            out[owner].append(key)
    return out


def key_public(key: ApiKey) -> ApiKeyPublic:
    """Return what may be shown of a key: its prefix and times, never its text."""
    return ApiKeyPublic(prefix=key.prefix, created_at=key.created_at, revoked_at=key.revoked_at)


def key_created(session: Session, new: NewApiKey) -> ApiKeyCreated:
    """Return the answer to issuing key ``new``: its public part and its text (once)."""
    row = session.execute(sa.select(ApiKey).where(_KEY.c.prefix == new.prefix)).scalar_one()
    return ApiKeyCreated(**key_public(row).model_dump(), api_key=new.text)
