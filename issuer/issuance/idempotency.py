"""Issuing under an Idempotency-Key: the first request issues, a repeat replays its answer.

The key's record is the first insert of the issuing transaction. Its unique constraint
(principal, key) makes a concurrent duplicate wait for the first to commit and then
replay it, or proceed if the first rolled back. The answer is stored sealed (it holds the
credential, hence the identity number), bound to the principal and the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credential import Signer
from issuer.db import tables, write
from issuer.db.models import IdempotencyRecord
from issuer.errors import IdempotencyMismatch, IdempotencyPending
from issuer.issuance.issue import issue_in_transaction, validate_request
from issuer.issuance.schemas import CertificateCreate
from issuer.issuance.sealing import open_text, seal_text
from issuer.issuance.statuslists import publish_changed_lists
from issuer.settings import IssuerSettings

__all__ = [
    "StoredResponse",
    "issue_certificate_idempotent",
    "replay_answer",
    "request_hash",
    "seal_answer",
]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """An answer exactly as first sent: replays return the same bytes and status."""

    status_code: int
    body: bytes
    replayed: bool


def request_hash(request: CertificateCreate) -> str:
    """Return the SHA-256 identifying a request body (field order and spacing ignored)."""
    # without a photo, the hash of a body as it was before photos existed (a retry of a key
    # recorded then still matches)
    body = request.model_dump(exclude={"photo"} if request.photo is None else None)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _context(principal: str, key: str) -> str:
    """What a saved answer is sealed to."""
    return f"idempotency:{len(principal)}:{principal}:{key}"


def _replay(
    session: Session, *, principal: str, key: str, digest: str, settings: IssuerSettings
) -> StoredResponse:
    t = tables.IDEMPOTENCY_RECORD
    found = session.execute(
        sa.select(t.c.request_hash, t.c.status_code, t.c.response_json).where(
            t.c.principal == principal, t.c.key == key
        )
    ).first()
    session.rollback()
    if found is None or found.status_code is None or found.response_json is None:
        raise IdempotencyPending(
            "A request with this Idempotency-Key is still in progress",
            "使用该幂等键的请求仍在处理中",
        )
    if not hmac.compare_digest(found.request_hash, digest):
        raise IdempotencyMismatch(
            "Idempotency-Key reused with a different request body",
            "幂等键已用于另一个不同的请求",
            "Send a new Idempotency-Key for a different certificate.",
            "签发另一份证书请使用新的幂等键。",
        )
    body = open_text(settings, found.response_json, context=_context(principal, key))
    return StoredResponse(found.status_code, body.encode("utf-8"), replayed=True)


def seal_answer(settings: IssuerSettings, body: str, *, principal: str, key: str) -> str:
    """Return ``body`` sealed for the idempotency record of (``principal``, ``key``)."""
    return seal_text(settings, body, context=_context(principal, key))


def replay_answer(
    session: Session, *, principal: str, key: str, digest: str, settings: IssuerSettings
) -> StoredResponse:
    """Return the answer first given under (``principal``, ``key``), for another write
    keyed like issuing (replacement, correction). Raises IdempotencyMismatch (another
    body, ``digest`` differs), IdempotencyPending (the first has not committed)."""
    return _replay(session, principal=principal, key=key, digest=digest, settings=settings)


def issue_certificate_idempotent(
    session: Session,
    *,
    key: str,
    principal: str,
    request: CertificateCreate,
    signer: Signer,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
) -> StoredResponse:
    """Issue under an Idempotency-Key: the first request issues, repeats replay its answer.

    The same key with another body raises IdempotencyMismatch; a key whose first request
    has not committed yet, IdempotencyPending. Invalid input raises ValidationFailed and
    records nothing.
    """
    app, photo = validate_request(request, settings=settings, now=now)
    digest = request_hash(request)
    rec = IdempotencyRecord(principal=principal, key=key, request_hash=digest, created_at=now)
    claimed = False
    try:
        with write(session):
            session.add(rec)
            session.flush()
            claimed = True
            public = issue_in_transaction(
                session, app, signer=signer, settings=settings, actor=actor, now=now, photo=photo
            )
            body = public.model_dump_json()
            sealed = seal_text(settings, body, context=_context(principal, key))
            rec.status_code, rec.response_json = 201, sealed
    except IntegrityError:
        if claimed:
            raise
        # The key is taken: answer as its first request was answered.
        return _replay(session, principal=principal, key=key, digest=digest, settings=settings)
    # A list this made (the office's first or next) is public before the answer is.
    publish_changed_lists(session, signer=signer, settings=settings, now=now)
    return StoredResponse(201, body.encode("utf-8"), replayed=False)
