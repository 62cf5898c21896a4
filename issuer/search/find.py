"""The certificate search: keyset pagination over one office's certificates.

Results come newest first, in issued order: ``(created_at, id)`` descending, the row id
breaking ties (a batch chunk's certificates share one time). Two searches come in the
order of the index that finds them instead, so that a page never sorts all the matches:
a number search (a whole number or its beginning) in number order, highest first (a
prefix such as the year matches most of an office's certificates), and a batch's
certificates in the batch file's row order (the order of its manifest), along the
unique ``(batch_id, row_number)`` index.

A page is the ``limit`` rows after the cursor's key (``WHERE (created_at, id) < (:at,
:id) ORDER BY created_at DESC, id DESC LIMIT :n``), read straight off an index that
starts with the office: page 1,000 costs what page 1 does, and a certificate issued
while someone pages is neither skipped nor shown twice (it sorts before the first page).

The indexes (revision 0010, ``issuer.db.models.Certificate``): ``(office_id,
created_at, id)`` for batches and unfiltered lists, ``(office_id, status, created_at,
id)`` for a status, ``(office_id, name, birth_date)`` for a person by name, the existing
``id_number_hash`` and ``certificate_number`` ones, ``batch_item (batch_id,
row_number)``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import QualificationType, as_utc, rfc3339
from issuer.db import tables
from issuer.db.types import UtcDateTime
from issuer.search.audit import record_search
from issuer.search.criteria import DEFAULT_LIMIT, Criteria, encode_cursor, judge
from issuer.search.schemas import CertificateSummary, Page
from issuer.settings import IssuerSettings

__all__ = ["find_certificates", "run_search"]

_CERT = tables.CERTIFICATE
_ITEM = tables.BATCH_ITEM
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

_COLUMNS = (
    _CERT.c.id,
    _CERT.c.certificate_number,
    _CERT.c.version,
    _CERT.c.name,
    _CERT.c.sex,
    _CERT.c.birth_date,
    _CERT.c.id_type,
    _CERT.c.id_number_masked,
    _CERT.c.qualification_type,
    _CERT.c.subject,
    _CERT.c.certified_on,
    _CERT.c.status,
    _CERT.c.status_reason,
    _CERT.c.created_at,
)


def _micros(at: dt.datetime) -> int:
    delta = as_utc(at) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _at(micros: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=micros)


def _summary(row: Any) -> CertificateSummary:
    return CertificateSummary(
        certificate_number=row.certificate_number,
        version=row.version,
        name=row.name,
        sex=row.sex,
        birth_date=row.birth_date.isoformat(),
        id_type=row.id_type,
        id_number_masked=row.id_number_masked,
        qualification_type=QualificationType(row.qualification_type).slug,
        subject=row.subject,
        certified_on=row.certified_on.isoformat(),
        status=row.status,
        status_reason=row.status_reason,
        issued_at=rfc3339(row.created_at),
    )


def _number_range(prefix: str) -> sa.ColumnElement[bool]:
    if len(prefix) == 17:
        return _CERT.c.certificate_number == prefix
    # Numbers are exactly 17 digits: a range of equal-length digit strings is ordered the
    # same under every collation, and the unique index serves it (LIKE 'x%' would not,
    # outside the C collation).
    return _CERT.c.certificate_number.between(prefix.ljust(17, "0"), prefix.ljust(17, "9"))


def run_search(session: Session, *, office_id: str, criteria: Criteria) -> Page:
    """Return the page of ``office_id``'s certificates matching judged ``criteria``."""
    query = sa.select(*_COLUMNS).where(_CERT.c.office_id == office_id)
    if criteria.number is not None:
        query = query.where(_number_range(criteria.number))
    if criteria.name is not None:
        query = query.where(
            _CERT.c.name == criteria.name, _CERT.c.birth_date == criteria.birth_date
        )
    if criteria.id_hashes:
        query = query.where(_CERT.c.id_number_hash.in_(criteria.id_hashes))
    if criteria.status is not None:
        query = query.where(_CERT.c.status == criteria.status)

    key = criteria.cursor
    if criteria.order == "number":
        if criteria.batch_id is not None:
            in_batch = sa.select(_ITEM.c.certificate_id).where(
                _ITEM.c.batch_id == criteria.batch_id
            )
            query = query.where(_CERT.c.id.in_(in_batch))
        if key is not None:
            query = query.where(_CERT.c.certificate_number < key[1])
        query = query.order_by(_CERT.c.certificate_number.desc())
    elif criteria.order == "batch":
        # walked along the batch's unique (batch_id, row_number) index: a page costs the
        # same in a batch of 100 rows or of 100,000
        query = query.add_columns(_ITEM.c.row_number).join(
            _ITEM,
            sa.and_(_ITEM.c.certificate_id == _CERT.c.id, _ITEM.c.batch_id == criteria.batch_id),
        )
        if key is not None:
            query = query.where(_ITEM.c.row_number > key[1])
        query = query.order_by(_ITEM.c.row_number)
    else:
        if key is not None:
            assert len(key) == 3
            after = sa.tuple_(
                sa.literal(_at(key[1]), UtcDateTime()), sa.literal(key[2], sa.Integer())
            )
            query = query.where(sa.tuple_(_CERT.c.created_at, _CERT.c.id) < after)
        query = query.order_by(_CERT.c.created_at.desc(), _CERT.c.id.desc())
    rows = session.execute(query.limit(criteria.limit + 1)).all()
    more = len(rows) > criteria.limit
    rows = rows[: criteria.limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor(
            ("n", last.certificate_number)
            if criteria.order == "number"
            else ("r", int(last.row_number))
            if criteria.order == "batch"
            else ("i", _micros(last.created_at), int(last.id))
        )
    return Page(items=[_summary(r) for r in rows], next_cursor=next_cursor, limit=criteria.limit)


def find_certificates(
    session: Session,
    *,
    office_id: str,
    settings: IssuerSettings,
    actor: str | None,
    now: dt.datetime,
    number: str | None = None,
    name: str | None = None,
    birth_date: str | None = None,
    id_type: str | None = None,
    id_number: str | None = None,
    batch_id: int | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Return one page of ``office_id``'s certificates matching every given criterion
    (none given: all of them, newest first).

    The rules are ``issuer.search.criteria``'s: a name only with the birth date, an
    identity number only exactly (matched by its keyed hash under ``settings``' key), a
    number whole or as a prefix; ``cursor`` is a previous page's ``next_cursor``. A
    search that identifies a person (name, identity number) is recorded in the audit
    trail under ``actor`` at ``now`` (its own write transaction: who searched, how, the
    masked number, the certificate numbers shown); ``actor`` None records nothing (a
    benchmark, a check from the command line that is audited otherwise).

    Raises ValidationFailed naming every refused field. Ends the session's transaction.
    """
    criteria = judge(
        settings=settings,
        number=number,
        name=name,
        birth_date=birth_date,
        id_type=id_type,
        id_number=id_number,
        batch=batch_id,
        status=status,
        limit=limit,
        cursor=cursor,
    )
    page = run_search(session, office_id=office_id, criteria=criteria)
    session.rollback()
    if actor is not None and criteria.identifies_a_person:
        record_search(session, actor=actor, criteria=criteria, page=page, now=now)
    return page
