"""The admission query at the national level (issue 12 point 5, contract section 9).

Schools and employers hold registry accounts (``jzr_<prefix>_<secret>`` API keys, made by
``jiaozi registry accounts create-employer``, shown once, stored as SHA-256 of the
secret: a fast hash is right for 256 random bits). ``check`` validates the request as the
verifier's admission check did (same fields, same 422 codes), computes the asked person's
reference with the key the offices share, in memory only, and looks it up in the
consolidated list: an entry not removed whose bar has not ended (``lost`` is permanent,
``revoked`` bars until ``bar_until`` inclusive, or for good without one).

The audit row holds who asked, when, the consent reference, the answer, the masked number
and ``subject_tag``: HMAC-SHA256 under the registry's own audit key
(``JIAOZI_REGISTRY_AUDIT_KEY``), which never leaves the registry. An office holds the
shared key, so a person_ref in the audit would let anyone with an office's key and a row
recover the number in a second (the masked number leaves about 10^4 candidates); the tag
cannot be tested without the audit key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from credential import (
    IdType,
    InvalidFieldError,
    beijing_date,
    mask_id,
    normalise_id,
    person_key,
    person_reference,
    rfc3339,
)

from .db import accounts, admission_audit, entries, rate_counters
from .problems import Problem
from .settings import RegistrySettings

__all__ = [
    "ACCOUNT_KINDS",
    "Account",
    "AccountListing",
    "authenticate",
    "check",
    "create_account",
    "deactivate_account",
    "hit_rate_limit",
    "list_accounts",
    "subject_tag",
]

ACCOUNT_KINDS = ("employer", "school")
_FORMAT = re.compile(r"jzr_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
VALIDATION_TITLE = ("The request has invalid fields", "请求中有字段不符合要求")


@dataclass(frozen=True, slots=True)
class Account:
    """An active school or employer account."""

    id: int
    kind: str
    name: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


_DUMMY_HASH = _hash("x" * 43)


def create_account(
    engine: sa.Engine, kind: str, name: str, now: dt.datetime
) -> tuple[Account, str]:
    """Create an account; return it and its API key (the only time the key is seen).

    Raises ValueError for an unknown kind or a name not of 1-200 characters."""
    name = name.strip()
    if kind not in ACCOUNT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(ACCOUNT_KINDS)}")
    if not 1 <= len(name) <= 200:
        raise ValueError("name must be 1-200 characters")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with engine.begin() as conn:
        new_id = conn.execute(
            accounts.insert().values(
                kind=kind,
                name=name,
                key_prefix=prefix,
                secret_hash=_hash(secret),
                active=True,
                created_at=now,
            )
        ).inserted_primary_key
    assert new_id is not None
    return Account(int(new_id[0]), kind, name), f"jzr_{prefix}_{secret}"


@dataclass(frozen=True, slots=True)
class AccountListing:
    """One account as an operator sees it: never its key, only the key's public prefix."""

    id: int
    kind: str
    name: str
    key_prefix: str
    active: bool
    created_at: dt.datetime


def list_accounts(engine: sa.Engine, *, include_inactive: bool = True) -> list[AccountListing]:
    """Return every account (or only the active ones), oldest first."""
    a = accounts
    query = sa.select(a.c.id, a.c.kind, a.c.name, a.c.key_prefix, a.c.active, a.c.created_at)
    if not include_inactive:
        query = query.where(a.c.active.is_(True))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(a.c.id)).all()
    return [
        AccountListing(
            int(r.id), str(r.kind), str(r.name), str(r.key_prefix), bool(r.active), r.created_at
        )
        for r in rows
    ]


def deactivate_account(engine: sa.Engine, *, account_id: int) -> AccountListing:
    """Deactivate an account: its key stops working at once (``authenticate`` reads the flag
    on every request). Deactivating twice is harmless; there is no reactivation (make a new
    account: a key that may have leaked should not come back).

    Returns the account as it now stands. Raises LookupError if there is no such account."""
    a = accounts
    with engine.begin() as conn:
        if conn.execute(a.update().where(a.c.id == account_id).values(active=False)).rowcount == 0:
            raise LookupError(f"no account {account_id}")
    found = [x for x in list_accounts(engine) if x.id == account_id]
    return found[0]


def authenticate(engine: sa.Engine, authorization: str | None) -> Account | None:
    """Return the active account whose key is the bearer token, else None."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    m = _FORMAT.fullmatch(authorization[7:].strip())
    if m is None:
        return None
    prefix, secret = m.groups()
    a = accounts
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(a.c.id, a.c.kind, a.c.name, a.c.secret_hash, a.c.active).where(
                a.c.key_prefix == prefix
            )
        ).first()
    stored = row.secret_hash if row is not None else _DUMMY_HASH
    # Compared even for an unknown prefix: the answer takes as long either way.
    if not hmac.compare_digest(_hash(secret), stored) or row is None or not row.active:
        return None
    return Account(int(row.id), str(row.kind), str(row.name))


def hit_rate_limit(
    engine: sa.Engine, bucket: str, *, limit: int, window: int, now: dt.datetime
) -> int | None:
    """Count one request in ``bucket``'s fixed window (shared by every replica through the
    database); return None if allowed, else the seconds until the next window."""
    t = int(now.timestamp())
    w, retry = t // window, (t // window + 1) * window - t
    where = sa.and_(rate_counters.c.bucket == bucket, rate_counters.c.window == w)
    with engine.begin() as conn:
        bumped = conn.execute(
            rate_counters.update().where(where).values(count=rate_counters.c.count + 1)
        )
        if bumped.rowcount == 0:
            try:
                with conn.begin_nested():
                    conn.execute(rate_counters.insert().values(bucket=bucket, window=w, count=1))
                conn.execute(
                    rate_counters.delete().where(
                        rate_counters.c.bucket == bucket, rate_counters.c.window < w
                    )
                )
            except sa.exc.IntegrityError:  # another replica inserted it first
                conn.execute(
                    rate_counters.update().where(where).values(count=rate_counters.c.count + 1)
                )
        count = conn.execute(sa.select(rate_counters.c.count).where(where)).scalar_one()
    return None if count <= limit else max(1, retry)


def subject_tag(audit_key: bytes, id_type: IdType, number: str) -> str:
    """Return the audit rows' tag of a person: hex HMAC-SHA256 under the registry's own
    audit key (so rows about one person can be found by the registry, and by no one
    else)."""
    return hmac.new(audit_key, b"audit:" + person_key(id_type, number), hashlib.sha256).hexdigest()


def _validated(body: Any) -> tuple[IdType, str, str]:
    """Return (id_type, normalised number, consent reference) of an admission request.

    Raises Problem 422 ``validation`` naming every field at fault (the verifier's codes)."""
    errors: list[tuple[str, str, str, str]] = []
    if not isinstance(body, dict):
        raise Problem(
            422,
            "validation",
            VALIDATION_TITLE,
            errors=(("body", "type", "must be an object", "应为对象"),),
        )

    def text(name: str, lo: int, hi: int) -> str | None:
        value = body.get(name)
        if value is None:
            errors.append((name, "missing", "required", "缺少必填字段"))
            return None
        if not isinstance(value, str):
            errors.append((name, "type", "must be a string", "应为字符串"))
            return None
        value = value.strip()
        if not lo <= len(value) <= hi:
            errors.append(
                (name, "length", f"must be {lo}-{hi} characters", f"长度应为{lo}至{hi}个字符")
            )
            return None
        return value

    text("name", 1, 100)
    consent = text("consent_reference", 1, 200)
    raw_type = text("id_type", 1, 40)
    raw_number = text("id_number", 1, 40)
    id_type = number = None
    try:
        if raw_type is not None:
            id_type = IdType.parse(raw_type)
        if id_type is not None and raw_number is not None:
            number = normalise_id(id_type, raw_number)
    except InvalidFieldError as exc:
        errors.append((exc.field, exc.code, exc.message, exc.message_zh))
    if errors or id_type is None or number is None or consent is None:
        raise Problem(422, "validation", VALIDATION_TITLE, errors=tuple(errors))
    return id_type, number, consent


def _restricted(conn: sa.Connection, ref: str, today: dt.date) -> bool:
    rows = conn.execute(
        sa.select(entries.c.category, entries.c.bar_until).where(
            entries.c.person_ref == ref, entries.c.removed_seq.is_(None)
        )
    ).all()
    return any(r.category == "lost" or r.bar_until is None or today <= r.bar_until for r in rows)


def check(
    engine: sa.Engine,
    settings: RegistrySettings,
    account: Account,
    body: Any,
    *,
    now: dt.datetime,
) -> dict[str, Any]:
    """Answer one admission check of ``account`` and audit it in the same transaction.

    Returns {query_id, restricted, checked_at, data_as_of}; raises Problem 422 for invalid
    fields. ``data_as_of`` is ``checked_at``: the registry reads its own list, live."""
    id_type, number, consent = _validated(body)
    shared = settings.restriction_hmac_key.get_secret_value().encode("utf-8")
    ref = person_reference(shared, id_type, number)
    tag = subject_tag(settings.audit_key.get_secret_value().encode("utf-8"), id_type, number)
    query_id = uuid.uuid4().hex
    with engine.begin() as conn:
        restricted = _restricted(conn, ref, beijing_date(now))
        conn.execute(
            admission_audit.insert().values(
                query_id=query_id,
                account_id=account.id,
                at=now,
                id_type=id_type.value,
                subject_tag=tag,
                id_masked=mask_id(number),
                consent_reference=consent,
                restricted=restricted,
                data_as_of=now,
            )
        )
    return {
        "query_id": query_id,
        "restricted": restricted,
        "checked_at": rfc3339(now),
        "data_as_of": rfc3339(now),
    }
