"""Status lists: the office's current list, an unused index drawn for each certificate,
and the list signed as a Token Status List token and published.

Each certificate holds one entry (``STATUS_BITS`` bits) of one list, drawn uniformly at
random among the unused ones so that an entry says nothing about when, or in which order,
a certificate was issued; an entry a superseded version kept (replacement, correction) is
used for good. A full list makes way for the office's next one.

Publication (docs/operations.md, "Publication"): a list is signed by the step that changed
it, right after the commit, and by the publication job (:func:`refresh_status_lists`)
before a verifier would find it stale; the signed token is stored on the row per
``revision`` (bumped on every entry change). Public GETs serve the stored token only
(:func:`stored_status_list`): nothing on the public path holds or needs a signing key.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from credential import (
    STATUS_LIST_TYP,
    IndexAllocator,
    Signer,
    StatusList,
    StatusListError,
    encode_jws,
    status_list_claims,
)
from issuer.db import tables, write
from issuer.db.allowance import LIST_FENCE, require_reconciled, spend
from issuer.db.models import StatusListRow
from issuer.errors import NotFound, ReconcileNeeded
from issuer.settings import IssuerSettings

__all__ = [
    "STATUS_BITS",
    "StoredStatusList",
    "current_status_list",
    "draw_status_index",
    "new_status_list",
    "publish_changed_lists",
    "publish_status_list",
    "refresh_status_lists",
    "status_list_token",
    "status_lists_due",
    "stored_status_list",
    "used_indices",
]

log = logging.getLogger("jiaozi.issuer")

STATUS_BITS = 2
_RANDOM_DRAWS = 64  # rejection-sampling tries before reading the whole list's used indices

_CERT = tables.CERTIFICATE
_LIST = tables.STATUS_LIST
_VERSION = tables.CERTIFICATE_VERSION


def new_status_list(
    session: Session, *, settings: IssuerSettings, ordinal: int, now: dt.datetime
) -> StatusListRow | None:
    """Insert list ``ordinal`` of the office; return None if a concurrent writer did.

    Raises BackupNeeded when the last backup allowed no more lists (issuer.issuance.fence).
    """
    size = settings.status_list_size
    row = StatusListRow(
        office_id=settings.office_id,
        ordinal=ordinal,
        uri="",
        bits=STATUS_BITS,
        size=size,
        data=StatusList(size, bits=STATUS_BITS).to_bytes(),
        created_at=now,
    )
    try:
        with session.begin_nested():
            # In the savepoint: a list that loses the race gives its allowance back.
            spend(session, LIST_FENCE)
            session.add(row)
            session.flush()
            row.uri = f"{settings.public_url}/statuslists/{row.id}"
            session.flush()
    except IntegrityError:
        return None
    return row


def current_status_list(
    session: Session, *, settings: IssuerSettings, now: dt.datetime
) -> StatusListRow:
    """Return the office's newest status list, creating the first one if needed."""
    for _ in range(3):
        row = session.execute(
            sa.select(StatusListRow)
            .where(_LIST.c.office_id == settings.office_id)
            .order_by(_LIST.c.ordinal.desc())
            .limit(1)
        ).scalar_one_or_none()
        if row is not None:
            return row
        created = new_status_list(session, settings=settings, ordinal=1, now=now)
        if created is not None:
            return created
    raise RuntimeError("could not create or find a status list")  # pragma: no cover


def _index_used(session: Session, list_id: int, idx: int) -> bool:
    # One statement (one snapshot): an entry moving from a certificate to its superseded
    # version (replacement, correction) is seen in one place or the other, never neither.
    c, v = _CERT.c, _VERSION.c
    held = sa.select(c.id).where(c.status_list_id == list_id, c.status_idx == idx)
    retired = sa.select(v.id).where(v.status_list_id == list_id, v.status_idx == idx)
    return session.execute(sa.union_all(held, retired).limit(1)).first() is not None


def used_indices(session: Session, list_id: int) -> set[int]:
    """Return every taken index of list ``list_id``: the certificates' entries and those
    of superseded versions that had their own (revoked, never drawn again)."""
    c, v = _CERT.c, _VERSION.c
    held = sa.select(c.status_idx.label("idx")).where(c.status_list_id == list_id)
    retired = sa.select(v.status_idx.label("idx")).where(
        v.status_list_id == list_id, v.status_idx.is_not(None)
    )
    return {int(i) for i in session.execute(sa.union_all(held, retired)).scalars()}


def draw_status_index(
    session: Session, *, settings: IssuerSettings, now: dt.datetime
) -> tuple[StatusListRow, int]:
    """Return (list, index): an unused entry drawn uniformly at random (herd privacy).

    Rejection sampling against the database; if that keeps hitting used entries the list
    is nearly full, so the used indices are read once into an IndexAllocator, and a full
    list makes way for the next one.
    """
    lst = current_status_list(session, settings=settings, now=now)
    while True:
        assert lst.id is not None
        for _ in range(_RANDOM_DRAWS):
            idx = secrets.randbelow(lst.size)
            if not _index_used(session, lst.id, idx):
                return lst, idx
        used = used_indices(session, lst.id)
        try:
            return lst, IndexAllocator(lst.size, used).allocate()
        except StatusListError:
            nxt = new_status_list(session, settings=settings, ordinal=lst.ordinal + 1, now=now)
            lst = nxt or current_status_list(session, settings=settings, now=now)


def _sign_status_list(
    row: StatusListRow, *, signer: Signer, settings: IssuerSettings, now: dt.datetime
) -> str:
    iat = int(now.timestamp())
    claims = status_list_claims(
        StatusList.from_bytes(row.data, row.bits),
        uri=row.uri,
        iat=iat,
        exp=iat + settings.status_exp_seconds,
        ttl=settings.status_ttl_seconds,
    )
    return encode_jws({"typ": STATUS_LIST_TYP}, claims, signer)


def _cache_fresh(row: StatusListRow, *, settings: IssuerSettings, now: dt.datetime) -> bool:
    """Return True if ``row``'s cached token is of its current revision and younger than
    half the ttl (so a verifier caching it for ``ttl`` never holds it past 1.5 ttl)."""
    if row.signed_token is None or row.signed_revision != row.revision or row.signed_at is None:
        return False
    age = (now - row.signed_at).total_seconds()
    return 0 <= age < settings.status_ttl_seconds / 2


def publish_status_list(
    session: Session, *, list_id: int, signer: Signer, settings: IssuerSettings, now: dt.datetime
) -> str:
    """Sign status list ``list_id`` as it is now and store the token; return the token.

    Call outside any write transaction (it ends the session's current one). Idempotent and
    safe with concurrent publishers (two replicas' jobs, a job and a change): the token is
    stored only if the list's ``revision`` is still the one signed (compare-and-set), so a
    change committed meanwhile is never hidden behind an older token, and only over a
    token signed no later than this one, so a slower publisher never puts an older one
    back. A busy database is left to the next run (the token is still returned).
    Raises NotFound; ReconcileNeeded (nothing signed) while a restore is not reconciled.
    """
    session.rollback()
    try:
        require_reconciled(session)
    except ReconcileNeeded:
        session.rollback()
        raise
    row = session.get(StatusListRow, list_id, populate_existing=True)
    if row is None or row.office_id != settings.office_id:
        session.rollback()
        raise NotFound("No such status list", "状态列表不存在")
    revision = row.revision
    token = _sign_status_list(row, signer=signer, settings=settings, now=now)
    c = _LIST.c
    with contextlib.suppress(OperationalError), write(session):
        session.execute(
            sa.update(_LIST)
            .where(
                c.id == list_id,
                c.revision == revision,
                sa.or_(
                    c.signed_at.is_(None),
                    c.signed_revision.is_(None),
                    c.signed_revision < revision,
                    c.signed_at <= now,
                ),
            )
            .values(signed_token=token, signed_revision=revision, signed_at=now)
        )
    return token


def _refresh_age(settings: IssuerSettings) -> float:
    """Return the age at which a stored token is re-signed: half of the shorter of ``ttl``
    and the token's life, so a verifier holding it for ``ttl`` never holds it past 1.5 ttl
    and it is renewed long before its ``exp``."""
    return min(settings.status_ttl_seconds, settings.status_exp_seconds) / 2


def status_lists_due(
    session: Session,
    *,
    settings: IssuerSettings,
    now: dt.datetime,
    changed_only: bool = False,
    every: bool = False,
) -> list[int]:
    """Return the ids of the office's lists to sign now, in id order: never signed,
    changed since they were signed (a publication after a change that failed), or (unless
    ``changed_only``) signed long enough ago (:func:`_refresh_age`); with ``every``, all
    of them (a new signing key after a compromise)."""
    c = _LIST.c
    stmt = sa.select(c.id).where(c.office_id == settings.office_id).order_by(c.id)
    if not every:
        due = [
            c.signed_token.is_(None),
            c.signed_at.is_(None),
            c.signed_revision.is_(None),
            c.signed_revision != c.revision,
        ]
        if not changed_only:
            due.append(c.signed_at <= now - dt.timedelta(seconds=_refresh_age(settings)))
        stmt = stmt.where(sa.or_(*due))
    out = [int(i) for i in session.execute(stmt).scalars()]
    session.rollback()  # end the read: publishing writes
    return out


def refresh_status_lists(
    session: Session,
    *,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
    changed_only: bool = False,
    every: bool = False,
) -> list[int]:
    """Sign every list that is due (:func:`status_lists_due`, same options); return the ids
    signed. Idempotent: a second run at the same time finds nothing due."""
    due = status_lists_due(
        session, settings=settings, now=now, changed_only=changed_only, every=every
    )
    for list_id in due:
        publish_status_list(session, list_id=list_id, signer=signer, settings=settings, now=now)
    return due


def publish_changed_lists(
    session: Session, *, signer: Signer, settings: IssuerSettings, now: dt.datetime
) -> list[int]:
    """Sign the lists a committed write left unpublished (a new list, a changed entry);
    return their ids. Best effort, after the commit: a failure is logged and left to the
    publication job, which finds the same lists due."""
    try:
        return refresh_status_lists(
            session, signer=signer, settings=settings, now=now, changed_only=True
        )
    except ReconcileNeeded as exc:  # expected after a restore: one line, no stack
        session.rollback()
        log.warning("status lists not published: %s", exc.detail)
        return []
    except Exception:  # the write is committed; the job publishes what is left
        session.rollback()
        log.exception("publishing the status lists after a write failed")
        return []


@dataclass(frozen=True)
class StoredStatusList:
    """A list's signed token as last published, with its own ``exp`` and whether it is of
    the list's current revision."""

    token: str
    expires_at: dt.datetime
    current: bool


def _token_exp(token: str) -> dt.datetime:
    """Return the ``exp`` the stored token states (read only to say when it runs out, in
    logs and caching headers; never trusted), the epoch if it cannot be read."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
    except (IndexError, KeyError, TypeError, ValueError, OverflowError):
        return dt.datetime.fromtimestamp(0, dt.UTC)


def stored_status_list(
    session: Session, *, list_id: int, settings: IssuerSettings
) -> StoredStatusList:
    """Return status list ``list_id`` as last published; never signs.

    Raises NotFound if there is no such list of this office or it was never published
    (what a static server without the file would answer too); ReconcileNeeded while a
    restore is not reconciled (the stored token is the backup's: a verifier new to the
    list would take the status as it was then).
    """
    row = session.execute(
        sa.select(
            _LIST.c.office_id, _LIST.c.signed_token, _LIST.c.signed_revision, _LIST.c.revision
        ).where(_LIST.c.id == list_id)
    ).one_or_none()
    try:
        require_reconciled(session)
    finally:
        session.rollback()
    if row is None or row.office_id != settings.office_id:
        raise NotFound("No such status list", "状态列表不存在")
    if row.signed_token is None:
        raise NotFound(
            "Status list not published yet",
            "状态列表尚未发布",
            f"status list {list_id} has not been signed by the publication job yet",
            f"状态列表{list_id}尚未由发布任务签名",
        )
    return StoredStatusList(
        token=row.signed_token,
        expires_at=_token_exp(row.signed_token),
        current=row.signed_revision == row.revision,
    )


def status_list_token(
    session: Session, *, list_id: int, signer: Signer, settings: IssuerSettings, now: dt.datetime
) -> str:
    """Return status list ``list_id`` as a signed Token Status List JWT; raises NotFound.

    For holders of the key (commands, tests): the stored token while it is of the list's
    current revision and younger than half the ttl; otherwise signs anew and stores it
    (see :func:`publish_status_list`). Public routes use :func:`stored_status_list`.
    """
    row = session.get(StatusListRow, list_id, populate_existing=True)
    found = row is not None and row.office_id == settings.office_id
    fresh = (
        row.signed_token
        if row is not None and _cache_fresh(row, settings=settings, now=now)
        else None
    )
    session.rollback()  # end the read: an open one holds locks (and SQLite's writers back)
    if not found:
        raise NotFound("No such status list", "状态列表不存在")
    if fresh is not None:
        return fresh
    return publish_status_list(session, list_id=list_id, signer=signer, settings=settings, now=now)
