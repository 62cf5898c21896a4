"""Console sessions, kept on the server: the cookie is an opaque random token and the
``console_session`` row is keyed by its SHA-256, so a database reader cannot act with it.

A session ends at sign-out, ``console_session_hours`` after sign-in, after
``console_idle_minutes`` without a request, when the officer is deactivated, or when an
admin issues them a new enrolment code. Each session has its own form token (CSRF).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import as_utc
from issuer.accounts import Principal
from issuer.audit import chain as audit
from issuer.db import tables, write
from issuer.db.models import ConsoleSession, Officer
from issuer.settings import IssuerSettings

__all__ = [
    "ConsoleIdentity",
    "csrf_matches",
    "end_session",
    "new_session",
    "open_session",
]

_SESSION = tables.CONSOLE_SESSION
_TOUCH_EVERY = dt.timedelta(seconds=30)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class ConsoleIdentity:
    """A signed-in officer as their session shows them."""

    session_id: str
    officer_id: int
    username: str
    display_name: str
    role: str
    office_id: str
    csrf: str
    expires_at: dt.datetime

    @property
    def principal(self) -> Principal:
        """Return who is acting, as the API's services take it (audited under
        ``officer:<username>``, like the officer's API key)."""
        return Principal(f"officer:{self.username}", self.office_id, self.role, self.officer_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_session(
    session: Session, *, officer_id: int, settings: IssuerSettings, now: dt.datetime
) -> str:
    """Add a new session of ``officer_id`` to the caller's write transaction; return the
    cookie's token (random, 256 bits; never stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id=_digest(token),
            officer_id=officer_id,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + dt.timedelta(hours=settings.console_session_hours),
        )
    )
    return token


def open_session(
    session: Session, token: str | None, *, settings: IssuerSettings, now: dt.datetime
) -> ConsoleIdentity | None:
    """Return the officer of session cookie ``token``, or None if there is none, it ended,
    expired, sat idle past ``console_idle_minutes`` (then it is ended, audited), or the
    officer is deactivated. Notes the request's time (commits)."""
    if not token or len(token) > 100:
        return None
    sid = _digest(token)
    row = session.get(ConsoleSession, sid)
    officer = session.get(Officer, row.officer_id) if row is not None else None
    if row is None or officer is None or row.ended_at is not None:
        session.rollback()
        return None
    idle = now - as_utc(row.last_seen_at) >= dt.timedelta(minutes=settings.console_idle_minutes)
    if idle or as_utc(row.expires_at) <= now or not officer.active:
        reason = "idle" if idle else "expired" if officer.active else "deactivated"
        with write(session):
            done = session.execute(
                sa.update(_SESSION)
                .where(_SESSION.c.id == sid, _SESSION.c.ended_at.is_(None))
                .values(ended_at=now)
                .returning(_SESSION.c.id)
            ).first()
            if done is not None:
                audit.append(
                    session,
                    actor=f"officer:{officer.username}",
                    action="console.session_ended",
                    subject=f"officer:{officer.username}",
                    detail={"reason": reason},
                    at=now,
                )
        return None
    who = ConsoleIdentity(
        session_id=sid,
        officer_id=officer.id or 0,
        username=officer.username,
        display_name=officer.display_name,
        role=officer.role,
        office_id=officer.office_id,
        csrf=row.csrf,
        expires_at=as_utc(row.expires_at),
    )
    if now - as_utc(row.last_seen_at) >= _TOUCH_EVERY:
        with write(session):
            session.execute(
                sa.update(_SESSION).where(_SESSION.c.id == sid).values(last_seen_at=now)
            )
    else:
        session.rollback()
    return who


def end_session(session: Session, who: ConsoleIdentity, *, client: str, now: dt.datetime) -> None:
    """Sign ``who`` out: end their session (audited ``console.signout``)."""
    with write(session):
        session.execute(
            sa.update(_SESSION).where(_SESSION.c.id == who.session_id).values(ended_at=now)
        )
        audit.append(
            session,
            actor=f"officer:{who.username}",
            action="console.signout",
            subject=f"officer:{who.username}",
            detail={"client": client},
            at=now,
        )


def csrf_matches(who: ConsoleIdentity, token: str) -> bool:
    """Return whether ``token`` (as a form sent it: any text) is ``who``'s form token,
    compared in constant time."""
    return hmac.compare_digest(token.encode("utf-8", "surrogatepass"), who.csrf.encode())
