"""Purpose-bound copies (加注件): a holder's certificate signed again for one stated
purpose and a few days, printed with a QR code that verifies only until then.

A copy is made only of a valid certificate, at most ``holder_max_copies_per_day`` of one
certificate a day (Beijing time), each recorded and audited; the purpose obeys the rules
of every printed text field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import (
    BEIJING,
    InvalidFieldError,
    StatusReference,
    as_utc,
    beijing_date,
    parse_jws,
    rfc3339,
    sign_purpose_copy,
)
from credential import Signer as CredentialSigner
from issuer.audit import chain as audit
from issuer.db import tables, write
from issuer.db.models import Certificate, HolderCopy
from issuer.errors import Conflict, TooManyRequests
from issuer.fields import FieldError, ValidationFailed, printable
from issuer.fields import text as text_field
from issuer.holder.signin import HOLDER_ACTOR
from issuer.issuance import certificate_row, printing
from issuer.pdf import purpose_too_wide
from issuer.settings import IssuerSettings
from keys import DocumentSigningKey

__all__ = [
    "COPY_DAYS_DEFAULT",
    "COPY_DAYS_MAX",
    "PURPOSE_MAX",
    "HolderCopyView",
    "MadeCopy",
    "copies_of",
    "holder_copies",
    "make_copy",
    "validate_copy_request",
]

PURPOSE_MAX = 60
COPY_DAYS_MAX = 90
COPY_DAYS_DEFAULT = 30
_CERT = tables.CERTIFICATE
_COPY = tables.HOLDER_COPY


def validate_copy_request(purpose: str, days: str) -> tuple[str, int]:
    """Return the cleaned purpose and validity in days; raises ValidationFailed."""
    errors: list[FieldError] = []
    text = ""
    try:
        # the rules of every printed text field (NFC, trimmed, no control characters,
        # every character in a font, its lines fit), as a certificate's name has them
        text = printable(
            "purpose",
            text_field("purpose", purpose, max_len=PURPOSE_MAX, label_zh="用途"),
            label_zh="用途",
            fits=lambda t: not purpose_too_wide(t),
        )
    except InvalidFieldError as exc:
        e = FieldError.of(exc)
        errors.append(FieldError(e.field, e.code, f"Purpose: {e.message}", e.message_zh))
    n = 0
    raw = days.strip() or str(COPY_DAYS_DEFAULT)
    if raw.isascii() and raw.isdigit() and len(raw) <= 3:
        n = int(raw)
    if not 1 <= n <= COPY_DAYS_MAX:
        errors.append(
            FieldError(
                "days",
                "out_of_range",
                f"Between 1 and {COPY_DAYS_MAX} days",
                f"有效天数应为 1 至 {COPY_DAYS_MAX} 天",
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return text, n


@dataclass(frozen=True)
class MadeCopy:
    pdf: bytes
    qr_token: str
    expires_on: dt.date  # last day (Beijing time) the copy verifies


def make_copy(
    session: Session,
    *,
    row: Certificate,
    purpose: str,
    days: int,
    signer: CredentialSigner,
    settings: IssuerSettings,
    document_key: DocumentSigningKey,
    now: dt.datetime,
) -> MadeCopy:
    """Sign and print a purpose-bound copy of ``row``, valid through the ``days``-th day
    from today (Beijing time), and record it (audited). Raises Conflict for a certificate
    that is not valid now, TooManyRequests when today's ``holder_max_copies_per_day``
    copies of it are made, issuer.pdf.PdfError for a purpose that cannot be printed."""
    if row.status != "valid":
        raise Conflict(
            "Only a valid certificate can be copied",
            "只有当前有效的证书才能生成加注件",
            f"This certificate is {row.status}.",
            "该证书目前不是有效状态。",
        )
    _within_daily_copies(session, row.certificate_number, settings=settings, now=now)
    facts, jws = printing.facts_of(row, settings=settings)
    payload = parse_jws(jws).payload
    expires_on = beijing_date(now) + dt.timedelta(days=days)
    end = dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time(0), BEIJING)
    token = sign_purpose_copy(
        facts,
        signer=signer,
        issuer=str(payload["iss"]),
        issued_at=int(now.timestamp()),
        status=StatusReference.from_claim(payload["status"]),
        credential_jws=jws,
        purpose=purpose,
        expires_at=int(end.timestamp()),
    )
    pdf = printing.certificate_pdf(
        row,
        settings=settings,
        document_key=document_key,
        purpose=purpose,
        purpose_expires=expires_on,
        qr_token=token,
        opened=(facts, jws),
    )
    digest = hashlib.sha256(token.encode("ascii")).hexdigest()
    with write(session):
        # again inside the write: concurrent requests cannot both take the last copy
        # (the certificate's row is locked on PostgreSQL; SQLite has one writer)
        session.execute(
            sa.select(_CERT.c.id)
            .where(_CERT.c.certificate_number == row.certificate_number)
            .with_for_update()
        )
        _within_daily_copies(session, row.certificate_number, settings=settings, now=now)
        session.add(
            HolderCopy(
                certificate_number=row.certificate_number,
                version=row.version,
                purpose=purpose,
                expires_at=as_utc(end),  # SQLite keeps the wall clock only
                token_sha256=digest,
                created_at=now,
            )
        )
        audit.append(
            session,
            actor=HOLDER_ACTOR,
            action="holder.copy_made",
            subject=row.certificate_number,
            detail={
                "purpose": purpose,
                "expires_at": rfc3339(end),
                "version": row.version,
                "token_sha256": digest,
            },
            at=now,
        )
    return MadeCopy(pdf, token, expires_on)


def _within_daily_copies(
    session: Session, number: str, *, settings: IssuerSettings, now: dt.datetime
) -> None:
    """Raise TooManyRequests if today's (Beijing time) copies of ``number`` reached
    ``settings.holder_max_copies_per_day``."""
    start = dt.datetime.combine(beijing_date(now), dt.time(0), BEIJING)
    # (stored in UTC: SQLite keeps a timestamp's wall clock, not its zone)
    made = session.execute(
        sa.select(sa.func.count())
        .select_from(_COPY)
        .where(
            _COPY.c.certificate_number == number,
            _COPY.c.created_at >= as_utc(start),
        )
    ).scalar_one()
    limit = settings.holder_max_copies_per_day
    if made >= limit:
        tomorrow = start + dt.timedelta(days=1)
        raise TooManyRequests(
            "Too many copies today",
            "今日生成的加注件已达上限",
            f"At most {limit} copies of a certificate can be made a day; try again tomorrow.",
            f"每张证书每天最多生成 {limit} 份加注件，请明天再试。",
            retry_after=int((tomorrow - now).total_seconds()) + 1,
        )


@dataclass(frozen=True)
class HolderCopyView:
    """A copy as its teacher sees it listed: what for, until when, made when."""

    purpose: str
    last_day: dt.date  # the last day (Beijing) it verifies: the date its PDF prints
    made_on: dt.date  # Beijing
    expired: bool


def holder_copies(
    session: Session, numbers: list[str], *, now: dt.datetime
) -> dict[str, list[HolderCopyView]]:
    """Return the copies made of each of ``numbers`` (the signed-in holder's own
    certificates: the caller checked), newest first; a number with none maps to []."""
    found: dict[str, list[HolderCopyView]] = {n: [] for n in numbers}
    if not numbers:
        return found
    rows = session.execute(
        sa.select(
            _COPY.c.certificate_number, _COPY.c.purpose, _COPY.c.expires_at, _COPY.c.created_at
        )
        .where(_COPY.c.certificate_number.in_(numbers))
        .order_by(_COPY.c.id.desc())
    )
    for r in rows:
        end = as_utc(r.expires_at)
        found[r.certificate_number].append(
            HolderCopyView(
                purpose=r.purpose,
                # stored is the first instant it no longer verifies (00:00 Beijing the day
                # after): the day before it is the one printed on the copy
                last_day=beijing_date(end) - dt.timedelta(days=1),
                made_on=beijing_date(r.created_at),
                expired=as_utc(now) >= end,
            )
        )
    return found


def copies_of(session: Session, number: str, *, office_id: str | None) -> list[dict[str, Any]]:
    """Return the purpose copies made of certificate ``number`` of ``office_id``, newest
    first; raises NotFound (also for another office's certificate)."""
    certificate_row(session, number=number, office_id=office_id)
    rows = session.execute(
        sa.select(_COPY).where(_COPY.c.certificate_number == number).order_by(_COPY.c.id.desc())
    )
    return [
        {
            "version": r.version,
            "purpose": r.purpose,
            "expires_at": rfc3339(r.expires_at),
            "created_at": rfc3339(r.created_at),
            "token_sha256": r.token_sha256,
        }
        for r in rows
    ]
