"""The teacher's (holder's) side of the issuer: claim codes, sessions, downloads and
purpose-bound copies (issue 4 points 5 and 6; the flow is in docs/holder.md).

Claim codes (领取码): an office clerk makes one for a certificate and reads or hands it to
the teacher once; it binds to the *person* (the certificate's ``id_number_hash``), so with
it the teacher sees all and only their own certificates. A code is 16 characters from an
alphabet without look-alikes (about 79 bits), printed in groups of four; only its
HMAC-SHA256 under the holder key is stored, and a new code replaces the old one.

Logging in takes a certificate number and the code. Failed attempts count per certificate
number and per client address in ``holder_attempt`` (so the limit holds across workers
and restarts); after ``holder_max_failures`` failures within the lockout window the
number is locked for ``holder_lockout_minutes``, likewise the address after
``holder_address_max_failures``. Every failure and lockout is audited. The answer never
says whether the number exists: an unknown number costs the same HMAC and comparison as a
known one.

The session is a signed cookie: claim-code id and expiry, MACed together with the code's
stored hash, so a replaced or expired code ends every session made with it. Forms carry a
token derived from the session (CSRF), on top of SameSite=Strict and the Origin check in
the routes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from credential import BEIJING as CHINA_TZ
from credential import InvalidFieldError, StatusReference, parse_jws, sign_purpose_copy
from credential import Signer as CredentialSigner
from credential import beijing_date as office_date
from issuer.audit import chain as audit
from issuer.db.engine import begin_write
from issuer.db.models import Certificate, HolderAttempt, HolderClaimCode, HolderCopy
from issuer.errors import Conflict, IssuerError, NotFound, TooManyRequests
from issuer.fields.application import (
    FieldError,
    ValidationFailed,
    _printable,
    _text,
)
from issuer.issuance import certificate_row, open_credential, printing
from issuer.pdf import purpose_too_wide
from issuer.settings import IssuerSettings
from keys import DocumentSigningKey

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "COPY_DAYS_DEFAULT",
    "COPY_DAYS_MAX",
    "PURPOSE_MAX",
    "ClaimCode",
    "HolderIdentity",
    "HolderLocked",
    "HolderLoginFailed",
    "MadeCopy",
    "certificate_of",
    "certificates_of",
    "code_hash",
    "copies_of",
    "credential_document",
    "csrf_token",
    "format_code",
    "issue_claim_code",
    "login",
    "make_copy",
    "normalise_code",
    "open_session",
    "validate_copy_request",
]

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud, typed on a phone
CODE_LENGTH = 16
PURPOSE_MAX = 60
COPY_DAYS_MAX = 90
COPY_DAYS_DEFAULT = 30
HOLDER_ACTOR = "holder"
_CERT = Certificate.__table__  # type: ignore[attr-defined]
_CODE = HolderClaimCode.__table__  # type: ignore[attr-defined]
_ATTEMPT = HolderAttempt.__table__  # type: ignore[attr-defined]
_COPY = HolderCopy.__table__  # type: ignore[attr-defined]


class HolderLoginFailed(IssuerError):
    """Wrong number or code, or an expired code (which of them is never said)."""

    status = 401
    code = "holder_login_failed"


class HolderLocked(TooManyRequests):
    """Too many failed attempts for this certificate number or from this address."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many attempts",
            "尝试次数过多",
            "Too many wrong claim codes: try again later.",
            "领取码错误次数过多，请稍后再试。",
            retry_after=retry_after,
        )
        self.retry_after = max(1, retry_after)


# --- keys and codes ------------------------------------------------------------------------


def _key(settings: IssuerSettings) -> bytes:
    given = settings.holder_hmac_key
    if given is not None and given.get_secret_value():
        return given.get_secret_value().encode("utf-8")
    base = settings.id_hmac_key.get_secret_value().encode("utf-8")
    return hmac.new(base, b"jiaozi holder key v1", hashlib.sha256).digest()


def _mac(settings: IssuerSettings, label: str, data: str) -> str:
    msg = label.encode("ascii") + b"\x00" + data.encode("utf-8")
    return hmac.new(_key(settings), msg, hashlib.sha256).hexdigest()


def normalise_code(text: str) -> str | None:
    """Return the code as stored-hashed (upper case, no separators), or None if it cannot
    be one (wrong length or a character outside the alphabet)."""
    code = "".join(ch for ch in text.upper() if ch not in " -\t\u3000")
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


def format_code(code: str) -> str:
    """Return ``code`` in groups of four for reading aloud: ``ABCD-EFGH-JKMN-PQRS``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def code_hash(settings: IssuerSettings, code: str) -> str:
    """Return the stored form of a (normalised) claim code: HMAC-SHA256 hex."""
    return _mac(settings, "claim-code", code)


def _aware(ts: dt.datetime) -> dt.datetime:
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts


# --- office side: making a claim code ------------------------------------------------------


@dataclass(frozen=True)
class ClaimCode:
    certificate_number: str
    claim_code: str  # formatted, shown once
    expires_at: dt.datetime
    replaced: bool


def _insert_missing(session: Session, table: sa.Table, values: dict[str, Any], key: str) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).values(**values).on_conflict_do_nothing(index_elements=[key])


def issue_claim_code(
    session: Session,
    *,
    number: str,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
) -> ClaimCode:
    """Make a new claim code for the holder of certificate ``number`` (replacing any
    earlier code of that person), audited; raises NotFound."""
    if session.in_transaction():
        session.rollback()
    begin_write(session)
    try:
        row = certificate_row(session, number=number)
        person = row.id_number_hash
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        expires = now + dt.timedelta(days=settings.holder_code_days)
        values = {
            "id_number_hash": person,
            "code_hash": code_hash(settings, code),
            "certificate_number": number,
            "created_by": actor,
            "created_at": now,
            "expires_at": expires,
            "used_at": None,
        }
        replaced = (
            session.execute(
                sa.select(_CODE.c.id).where(_CODE.c.id_number_hash == person).with_for_update()
            ).first()
            is not None
        )
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        update = {k: v for k, v in values.items() if k != "id_number_hash"}
        session.execute(
            insert(_CODE)
            .values(**values)
            .on_conflict_do_update(index_elements=["id_number_hash"], set_=update)
        )
        audit.append(
            session,
            actor=actor,
            action="holder.claim_code_issued",
            subject=number,
            detail={"expires_at": _iso(expires), "replaced": replaced},
            at=now,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return ClaimCode(number, format_code(code), expires, replaced)


def _iso(ts: dt.datetime) -> str:
    return _aware(ts).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- holder side: logging in ----------------------------------------------------------------


@dataclass(frozen=True)
class HolderIdentity:
    """A logged-in holder: the person their claim code binds to."""

    claim_id: int
    id_number_hash: str
    expires_at: int  # POSIX seconds
    cookie: str


def _attempt_row(session: Session, key: str, now: dt.datetime) -> Any:
    values = {"key": key, "failures": 0, "window_start": now, "locked_until": None}
    session.execute(_insert_missing(session, _ATTEMPT, values, "key"))
    return session.execute(sa.select(_ATTEMPT).where(_ATTEMPT.c.key == key).with_for_update()).one()


def _locked_for(row: Any, now: dt.datetime) -> int:
    if row.locked_until is None:
        return 0
    left = (_aware(row.locked_until) - now).total_seconds()
    return int(left) + 1 if left > 0 else 0


def _fail(
    session: Session, row: Any, limit: int, settings: IssuerSettings, now: dt.datetime
) -> bool:
    """Count one failure on attempt ``row``; return True if it now locks."""
    window = dt.timedelta(minutes=settings.holder_lockout_minutes)
    failures, start, until = row.failures, _aware(row.window_start), row.locked_until
    if now - start >= window or (until is not None and _locked_for(row, now) == 0):
        # a new window; an expired lock is cleared, or every later failure would be
        # taken for the first after it and the key would never lock again
        failures, start, until = 0, now, None
    failures += 1
    locks = bool(failures >= limit)
    session.execute(
        sa.update(_ATTEMPT)
        .where(_ATTEMPT.c.key == row.key)
        .values(
            failures=0 if locks else failures,
            window_start=now if locks else start,
            locked_until=now + window if locks else until,
        )
    )
    return locks


def login(
    session: Session,
    *,
    number: str,
    code: str,
    client: str,
    settings: IssuerSettings,
    now: dt.datetime,
) -> HolderIdentity:
    """Return the session of the holder whose claim code is ``code``, having entered one of
    their certificate numbers. Raises HolderLocked or HolderLoginFailed (after recording
    and auditing the failure, committed)."""
    if session.in_transaction():
        session.rollback()
    begin_write(session)
    error: IssuerError | None = None
    identity: HolderIdentity | None = None
    subject = number if len(number) == 17 and number.isdigit() else "-"
    try:
        by_number = _attempt_row(session, f"number:{subject}", now)
        by_client = _attempt_row(session, f"addr:{client[:70]}", now)
        wait = max(_locked_for(by_number, now), _locked_for(by_client, now))
        if wait:
            audit.append(
                session,
                actor=HOLDER_ACTOR,
                action="holder.login_refused",
                subject=subject,
                detail={"client": client, "reason": "locked", "retry_after": wait},
                at=now,
            )
            error = HolderLocked(wait)
        else:
            claim = _claim_for_number(session, subject)
            normal = normalise_code(code) or ""
            given = code_hash(settings, normal)
            expected = claim.code_hash if claim is not None else _mac(settings, "dummy", "")
            matches = hmac.compare_digest(given.encode(), expected.encode())
            live = claim is not None and _aware(claim.expires_at) > now and bool(normal)
            if matches and live and claim is not None:
                session.execute(
                    sa.update(_ATTEMPT)
                    .where(_ATTEMPT.c.key == by_number.key)
                    .values(failures=0, window_start=now, locked_until=None)
                )
                session.execute(sa.update(_CODE).where(_CODE.c.id == claim.id).values(used_at=now))
                audit.append(
                    session,
                    actor=HOLDER_ACTOR,
                    action="holder.login",
                    subject=subject,
                    detail={"client": client},
                    at=now,
                )
                exp = int(now.timestamp()) + settings.holder_session_minutes * 60
                identity = _identity(settings, claim.id, claim.id_number_hash, claim.code_hash, exp)
            else:
                audit.append(
                    session,
                    actor=HOLDER_ACTOR,
                    action="holder.login_failed",
                    subject=subject,
                    detail={
                        "client": client,
                        "reason": "expired" if matches and not live else "wrong_code",
                    },
                    at=now,
                )
                for row, limit, kind in (
                    (by_number, settings.holder_max_failures, "number"),
                    (by_client, settings.holder_address_max_failures, "address"),
                ):
                    if _fail(session, row, limit, settings, now):
                        audit.append(
                            session,
                            actor=HOLDER_ACTOR,
                            action="holder.lockout",
                            subject=subject if kind == "number" else "-",
                            detail={
                                "client": client,
                                "by": kind,
                                "minutes": settings.holder_lockout_minutes,
                            },
                            at=now,
                        )
                error = HolderLoginFailed(
                    "Wrong certificate number or claim code",
                    "证书号码或领取码不正确",
                    "Check both, or ask your certification office for a new claim code.",
                    "请核对后重试，或向认定机构申请新的领取码。",
                )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if error is not None:
        raise error
    assert identity is not None
    _prune_attempts(session, settings=settings, now=now)
    return identity


def _prune_attempts(session: Session, *, settings: IssuerSettings, now: dt.datetime) -> None:
    """Delete attempt counters whose window and lock are long over (after a successful
    log-in, in a transaction of its own: it must not wait on rows a failing attempt holds
    while this one holds others). Best effort."""
    stale = now - dt.timedelta(minutes=settings.holder_lockout_minutes) - dt.timedelta(days=1)
    try:
        begin_write(session)
        session.execute(
            sa.delete(_ATTEMPT).where(
                _ATTEMPT.c.window_start < stale,
                sa.or_(_ATTEMPT.c.locked_until.is_(None), _ATTEMPT.c.locked_until < now),
            )
        )
        session.commit()
    except sa.exc.SQLAlchemyError:
        session.rollback()


def _claim_for_number(session: Session, number: str) -> Any:
    return session.execute(
        sa.select(_CODE)
        .join(_CERT, _CERT.c.id_number_hash == _CODE.c.id_number_hash)
        .where(_CERT.c.certificate_number == number)
    ).first()


def _identity(
    settings: IssuerSettings, claim_id: int, person: str, stored_hash: str, exp: int
) -> HolderIdentity:
    body = f"{claim_id}.{exp}"
    mac = _mac(settings, "session", f"{body}.{stored_hash}")
    return HolderIdentity(claim_id, person, exp, f"{body}.{mac}")


_COOKIE_SHAPE = re.compile(r"([0-9]{1,10})\.([0-9]{1,12})\.([0-9a-f]+)")


def open_session(
    session: Session, cookie: str | None, *, settings: IssuerSettings, now: dt.datetime
) -> HolderIdentity | None:
    """Return the holder of a session cookie, or None if it is missing, forged, expired,
    or its claim code was replaced or has expired."""
    if not cookie or len(cookie) > 200:
        return None
    # ASCII digits only: str.isdigit() accepts "²", which int() refuses
    shape = _COOKIE_SHAPE.fullmatch(cookie)
    if shape is None:
        return None
    claim_id, exp = int(shape[1]), int(shape[2])
    if exp <= now.timestamp() or claim_id >= 2**31:  # an INTEGER column
        return None
    claim = session.execute(sa.select(_CODE).where(_CODE.c.id == claim_id)).first()
    if claim is None or _aware(claim.expires_at) <= now:
        return None
    expected = _identity(settings, claim_id, claim.id_number_hash, claim.code_hash, exp)
    if not hmac.compare_digest(expected.cookie.encode(), cookie.encode()):
        return None
    return expected


def csrf_token(settings: IssuerSettings, who: HolderIdentity) -> str:
    """Return the form token of ``who``'s session."""
    return _mac(settings, "csrf", who.cookie)[:32]


# --- holder side: certificates ----------------------------------------------------------


def certificates_of(session: Session, who: HolderIdentity) -> list[Certificate]:
    """Return the holder's certificates, by number."""
    query = (
        sa.select(Certificate)
        .where(_CERT.c.id_number_hash == who.id_number_hash)
        .order_by(_CERT.c.certificate_number)
    )
    return list(session.scalars(query))


def certificate_of(session: Session, who: HolderIdentity, number: str) -> Certificate:
    """Return the holder's certificate ``number``; another person's is NotFound, exactly
    like one that does not exist."""
    row = session.scalars(
        sa.select(Certificate).where(
            _CERT.c.certificate_number == number,
            _CERT.c.id_number_hash == who.id_number_hash,
        )
    ).first()
    if row is None:
        raise NotFound(
            "No such certificate",
            "证书不存在",
            f"You have no certificate numbered {number}.",
            f"您没有号码为 {number} 的证书。",
        )
    return row


def credential_document(row: Certificate, *, settings: IssuerSettings) -> dict[str, Any]:
    """Return ``<number>.json``: the decoded credential with its JWS (contract section 3)."""
    jws = open_credential(settings, row.credential_jws, certificate_number=row.certificate_number)
    parsed = parse_jws(jws)
    return {
        "certificate_number": row.certificate_number,
        "version": row.version,
        "header": dict(parsed.header),
        "credential": dict(parsed.payload),
        "jws": jws,
    }


# --- purpose-bound copies ------------------------------------------------------------------


def validate_copy_request(purpose: str, days: str) -> tuple[str, int]:
    """Return the cleaned purpose and validity in days; raises ValidationFailed."""
    errors: list[FieldError] = []
    text = ""
    try:
        # the rules of every printed text field (NFC, trimmed, no control characters,
        # every character in a font, its lines fit), as a certificate's name has them
        text = _printable(
            "purpose",
            _text("purpose", purpose, max_len=PURPOSE_MAX, label_zh="用途"),
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
    expires_on = office_date(now) + dt.timedelta(days=days)
    end = dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time(0), CHINA_TZ)
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
    if session.in_transaction():
        session.rollback()
    begin_write(session)
    try:
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
                expires_at=end.astimezone(dt.UTC),  # SQLite keeps the wall clock only
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
                "expires_at": _iso(end),
                "version": row.version,
                "token_sha256": digest,
            },
            at=now,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return MadeCopy(pdf, token, expires_on)


def _within_daily_copies(
    session: Session, number: str, *, settings: IssuerSettings, now: dt.datetime
) -> None:
    """Raise TooManyRequests if today's (Beijing time) copies of ``number`` reached
    ``settings.holder_max_copies_per_day``."""
    start = dt.datetime.combine(office_date(now), dt.time(0), CHINA_TZ)
    # (stored in UTC: SQLite keeps a timestamp's wall clock, not its zone)
    made = session.execute(
        sa.select(sa.func.count())
        .select_from(_COPY)
        .where(
            _COPY.c.certificate_number == number,
            _COPY.c.created_at >= start.astimezone(dt.UTC),
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


def copies_of(session: Session, number: str) -> list[dict[str, Any]]:
    """Return the purpose copies made of certificate ``number``, newest first."""
    rows = session.execute(
        sa.select(_COPY).where(_COPY.c.certificate_number == number).order_by(_COPY.c.id.desc())
    )
    return [
        {
            "version": r.version,
            "purpose": r.purpose,
            "expires_at": _iso(r.expires_at),
            "created_at": _iso(r.created_at),
            "token_sha256": r.token_sha256,
        }
        for r in rows
    ]


def dumps(document: dict[str, Any]) -> bytes:
    """Return ``document`` as pretty, readable UTF-8 JSON."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
