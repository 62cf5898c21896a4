"""The holder signing in with a certificate number and a claim code, the lockout after
failed attempts, and the signed session that follows.

Failed attempts count per certificate number and per client address in
``holder_attempt`` (so the limit holds across workers and restarts); after
``holder_max_failures`` failures within the lockout window the number is locked for
``holder_lockout_minutes``, likewise the address after ``holder_address_max_failures``.
Every failure and lockout is audited. The answer never says whether the number exists:
an unknown number costs the same HMAC and comparison as a known one.

The session is a signed cookie: claim-code id and expiry, MACed together with the code's
stored hash, so a replaced or expired code ends every session made with it. Forms carry a
token derived from the session (CSRF), on top of SameSite=Strict and the Origin check in
the routes.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from credential import as_utc
from issuer.audit import chain as audit
from issuer.db import tables, write
from issuer.errors import IssuerError, TooManyRequests
from issuer.holder.codes import code_hash, holder_mac, normalise_code
from issuer.settings import IssuerSettings

__all__ = [
    "HOLDER_ACTOR",
    "HolderIdentity",
    "HolderLocked",
    "HolderLoginFailed",
    "csrf_token",
    "login",
    "open_session",
]

# The audit actor of what a holder does, signed in or trying to.
HOLDER_ACTOR = "holder"
_CERT = tables.CERTIFICATE
_CODE = tables.HOLDER_CLAIM_CODE
_ATTEMPT = tables.HOLDER_ATTEMPT


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


@dataclass(frozen=True)
class HolderIdentity:
    """A logged-in holder: the person their claim code binds to."""

    claim_id: int
    id_number_hash: str
    expires_at: int  # POSIX seconds
    cookie: str


# --- attempts and lockout ------------------------------------------------------------------


def _insert_missing(session: Session, table: sa.Table, values: dict[str, Any], key: str) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).values(**values).on_conflict_do_nothing(index_elements=[key])


def _attempt_row(session: Session, key: str, now: dt.datetime) -> Any:
    values = {"key": key, "failures": 0, "window_start": now, "locked_until": None}
    session.execute(_insert_missing(session, _ATTEMPT, values, "key"))
    return session.execute(sa.select(_ATTEMPT).where(_ATTEMPT.c.key == key).with_for_update()).one()


def _locked_for(row: Any, now: dt.datetime) -> int:
    if row.locked_until is None:
        return 0
    left = (as_utc(row.locked_until) - now).total_seconds()
    return int(left) + 1 if left > 0 else 0


def _fail(
    session: Session, row: Any, limit: int, settings: IssuerSettings, now: dt.datetime
) -> bool:
    """Count one failure on attempt ``row``; return True if it now locks."""
    window = dt.timedelta(minutes=settings.holder_lockout_minutes)
    failures, start, until = row.failures, as_utc(row.window_start), row.locked_until
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


def _prune_attempts(session: Session, *, settings: IssuerSettings, now: dt.datetime) -> None:
    """Delete attempt counters whose window and lock are long over (after a successful
    log-in, in a transaction of its own: it must not wait on rows a failing attempt holds
    while this one holds others). Best effort."""
    stale = now - dt.timedelta(minutes=settings.holder_lockout_minutes) - dt.timedelta(days=1)
    try:
        with write(session):
            session.execute(
                sa.delete(_ATTEMPT).where(
                    _ATTEMPT.c.window_start < stale,
                    sa.or_(_ATTEMPT.c.locked_until.is_(None), _ATTEMPT.c.locked_until < now),
                )
            )
    except sa.exc.SQLAlchemyError:
        session.rollback()


# --- signing in ----------------------------------------------------------------------------


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
    error: IssuerError | None = None
    identity: HolderIdentity | None = None
    subject = number if len(number) == 17 and number.isdigit() else "-"
    with write(session):
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
            expected = claim.code_hash if claim is not None else holder_mac(settings, "dummy", "")
            matches = hmac.compare_digest(given.encode(), expected.encode())
            live = claim is not None and as_utc(claim.expires_at) > now and bool(normal)
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
    if error is not None:
        raise error
    assert identity is not None
    _prune_attempts(session, settings=settings, now=now)
    return identity


def _claim_for_number(session: Session, number: str) -> Any:
    return session.execute(
        sa.select(_CODE)
        .join(_CERT, _CERT.c.id_number_hash == _CODE.c.id_number_hash)
        .where(_CERT.c.certificate_number == number)
    ).first()


# --- the session ---------------------------------------------------------------------------


def _identity(
    settings: IssuerSettings, claim_id: int, person: str, stored_hash: str, exp: int
) -> HolderIdentity:
    body = f"{claim_id}.{exp}"
    mac = holder_mac(settings, "session", f"{body}.{stored_hash}")
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
    if claim is None or as_utc(claim.expires_at) <= now:
        return None
    expected = _identity(settings, claim_id, claim.id_number_hash, claim.code_hash, exp)
    if not hmac.compare_digest(expected.cookie.encode(), cookie.encode()):
        return None
    return expected


def csrf_token(settings: IssuerSettings, who: HolderIdentity) -> str:
    """Return the form token of ``who``'s session."""
    return holder_mac(settings, "csrf", who.cookie)[:32]


def csrf_matches(settings: IssuerSettings, who: HolderIdentity, token: str) -> bool:
    """Return whether ``token`` (as a form sent it: any text) is ``who``'s form token.

    Compared in constant time, as bytes: a form may send any characters, and
    ``hmac.compare_digest`` refuses non-ASCII text.
    """
    expected = csrf_token(settings, who).encode()
    return hmac.compare_digest(token.encode("utf-8", "surrogatepass"), expected)
