"""Publication: the public artefacts signed or stored by a job when they change, never by a
public GET (issue 12 point 6; docs/operations.md, "Publication").

- status lists: signed right after every change (``transitions.publish``, issuance,
  batches) and by :func:`publish_all` when one is due (never signed, behind its revision,
  or half its ``ttl`` old); the token is stored on the list's row;
- the verifiers' restricted-list documents (snapshot, one page per change): signed when
  the list changed or when they are half a status ``ttl`` old
  (``issuer.lifecycle.restriction_publication``; authenticated, never public artefacts);
- ``jwks.json`` (the office's public keys) and the national trust list (signed by the
  root at the key ceremony; stored here as received): copied into ``published_document``
  when their bytes change, so a process without the key store serves them.

Every write is a compare-and-set (a list's ``revision``, a document's ``digest``), so two
replicas running the job at once, or a crash between two steps, leave every artefact
whole and the newest one in place; a re-run does what is left.
:func:`public_artefacts` lists what a public-only process serves and what
``jiaozi issuer export-public`` writes, under the paths of their URLs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from credential import PublicKey, Signer
from issuer import issuance
from issuer.db import tables, write
from issuer.db.allowance import require_reconciled
from issuer.db.models import PublishedDocument
from issuer.lifecycle.restriction_publication import publish_restrictions
from issuer.settings import IssuerSettings

__all__ = [
    "JWKS",
    "JWKS_MEDIA_TYPE",
    "STATUS_LIST_MEDIA_TYPE",
    "TRUST_LIST",
    "TRUST_LIST_MEDIA_TYPE",
    "Artefact",
    "Publication",
    "jwks_body",
    "public_artefacts",
    "publish_all",
    "publish_document",
    "read_document",
]

# Document names are their URL paths (and their paths under an export directory).
JWKS = ".well-known/jwks.json"
TRUST_LIST = "trust-list.jwt"
JWKS_MEDIA_TYPE = "application/json"
TRUST_LIST_MEDIA_TYPE = "application/jiaozi-trustlist+jwt"
STATUS_LIST_MEDIA_TYPE = "application/statuslist+jwt"

_DOC = tables.PUBLISHED_DOCUMENT
_LIST = tables.STATUS_LIST


@dataclass(frozen=True)
class Artefact:
    """One public artefact: its path under the public URL, bytes and media type."""

    path: str
    body: bytes
    media_type: str


def jwks_body(keys: Sequence[PublicKey]) -> bytes:
    """Return the JWKS document of ``keys`` as served at ``/.well-known/jwks.json``."""
    body = json.dumps({"keys": [k.to_jwk() for k in keys]}, separators=(",", ":"))
    return body.encode("ascii")


def publish_document(
    session: Session, *, name: str, body: str, media_type: str, now: dt.datetime
) -> bool:
    """Store document ``name`` if its bytes differ from the stored ones; return True if
    it wrote. Call outside a write transaction. Compare-and-set on the stored digest: a
    concurrent publisher of the same bytes makes this a no-op, and a busy database or a
    lost insert race leaves the document to the next run (False)."""
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    session.rollback()
    held = session.execute(sa.select(_DOC.c.digest).where(_DOC.c.name == name)).scalar()
    session.rollback()
    if held == digest:
        return False
    values = {"body": body, "media_type": media_type, "digest": digest, "published_at": now}
    try:
        with write(session):
            if held is None:
                session.execute(sa.insert(_DOC).values(name=name, **values))
                return True
            changed = session.execute(
                sa.update(_DOC)
                .where(_DOC.c.name == name, _DOC.c.digest == held)
                .values(**values)
                .returning(_DOC.c.name)
            ).first()
            return changed is not None
    except (IntegrityError, OperationalError):
        return False


def read_document(session: Session, name: str) -> Artefact | None:
    """Return published document ``name`` (``JWKS``, ``TRUST_LIST``), None if never
    published."""
    try:
        doc = session.get(PublishedDocument, name)
        return None if doc is None else Artefact(name, doc.body.encode("utf-8"), doc.media_type)
    finally:
        session.rollback()


@dataclass
class Publication:
    """What one run of :func:`publish_all` did."""

    status_lists: list[int] = field(default_factory=list)
    restrictions: bool = False  # the restricted-list documents were signed
    documents: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _reconciled(session: Session) -> None:
    """Raise ReconcileNeeded (the read ended) while the restore gate is set."""
    try:
        require_reconciled(session)
    finally:
        session.rollback()


def publish_all(
    session: Session,
    *,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
    public_keys: Sequence[PublicKey] | None = None,
    trust_token: str | None = None,
) -> Publication:
    """Run the publication job once: sign the status lists that are due and the
    restricted-list documents if the list changed (or they are due), and store the JWKS
    of ``public_keys`` and ``trust_token`` (None: not available here; skipped).
    Idempotent and safe to run from several replicas at once. Raises what signing or the
    database raise (the caller logs it; the next run starts over); ReconcileNeeded,
    before doing anything, while a restore is not reconciled (the restored entries would
    undo status published after the backup)."""
    _reconciled(session)
    done = Publication()
    done.status_lists = issuance.refresh_status_lists(
        session, signer=signer, settings=settings, now=now
    )
    done.restrictions = publish_restrictions(session, signer=signer, settings=settings, now=now)
    docs = (
        (
            JWKS,
            None if public_keys is None else jwks_body(public_keys).decode("ascii"),
            JWKS_MEDIA_TYPE,
        ),
        (TRUST_LIST, trust_token, TRUST_LIST_MEDIA_TYPE),
    )
    for name, body, media in docs:
        if body is None:
            done.skipped.append(name)
        elif publish_document(session, name=name, body=body, media_type=media, now=now):
            done.documents.append(name)
    return done


def public_artefacts(session: Session, *, settings: IssuerSettings) -> list[Artefact]:
    """Return every published artefact of the office, as stored (nothing is signed here):
    each status list at ``statuslists/<id>`` (never-published lists are left out), the
    JWKS and the trust list if they were published. Raises ReconcileNeeded while a restore
    is not reconciled: the stored lists are the backup's, and an export would overwrite
    the published ones that ``reconcile-status`` reads."""
    _reconciled(session)
    out: list[Artefact] = []
    try:
        rows = session.execute(
            sa.select(_LIST.c.id, _LIST.c.signed_token)
            .where(_LIST.c.office_id == settings.office_id, _LIST.c.signed_token.is_not(None))
            .order_by(_LIST.c.id)
        ).all()
        out += [
            Artefact(f"statuslists/{r.id}", r.signed_token.encode("ascii"), STATUS_LIST_MEDIA_TYPE)
            for r in rows
        ]
        for doc in session.execute(sa.select(PublishedDocument).order_by(_DOC.c.name)).scalars():
            out.append(Artefact(doc.name, doc.body.encode("utf-8"), doc.media_type))
    finally:
        session.rollback()
    return out
