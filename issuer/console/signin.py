"""Officers' enrolment and sign-in: password (argon2id) plus a TOTP code or a recovery
code, the lockout after failed attempts, and every step audited under the officer's name.

Enrolment: an admin issues a one-time enrolment code (:func:`issue_enrolment`; it also
resets the password, TOTP and recovery codes and ends the officer's sessions). With it the
officer sets a password and gets a TOTP secret and ten recovery codes, shown once
(:func:`start_enrolment`), then confirms one TOTP code (:func:`confirm_enrolment`), which
uses the enrolment code up. Failures of either count toward the officer's lockout.

Sign-in (:func:`sign_in`): ``console_max_failures`` failures within
``console_lockout_minutes`` lock the officer for that long. The answer never says which
part was wrong, nor whether the username exists (an unknown name costs the same argon2
verification).
"""

from __future__ import annotations

import datetime as dt
import hmac
import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import as_utc
from issuer.accounts.offices import officer_in
from issuer.audit import chain as audit
from issuer.console.errors import ConsoleLocked, sign_in_failed
from issuer.console.factors import (
    RECOVERY_CODES,
    code_digest,
    hash_password,
    new_code,
    new_totp_secret,
    otpauth_uri,
    password_matches,
    totp_step,
)
from issuer.console.sessions import new_session
from issuer.db import tables, write
from issuer.db.models import Officer, OfficerCredential, OfficerRecoveryCode
from issuer.errors import Conflict, IssuerError
from issuer.fields import FieldError, ValidationFailed
from issuer.issuance.sealing import open_text, seal_text
from issuer.settings import IssuerSettings

__all__ = [
    "Enrolment",
    "confirm_enrolment",
    "issue_enrolment",
    "password_problems",
    "sign_in",
    "start_enrolment",
]

_CRED = tables.OFFICER_CREDENTIAL
_RECOVERY = tables.OFFICER_RECOVERY_CODE
_SESSION = tables.CONSOLE_SESSION
_UNKNOWN_ACTOR = "console"  # the actor of a sign-in under a name no officer has


@dataclass(frozen=True)
class Enrolment:
    """What an officer is shown once while enrolling: the TOTP secret, its ``otpauth://``
    URI (for the QR code) and the recovery codes."""

    secret: str
    uri: str
    recovery_codes: tuple[str, ...]


def _totp_context(officer_id: int) -> str:
    return f"totp:{officer_id}"


def _actor(officer: Officer) -> str:
    return f"officer:{officer.username}"


def _officer_named(session: Session, username: str) -> Officer | None:
    name = username.strip().lower()[:100]
    return session.execute(
        sa.select(Officer).where(tables.OFFICER.c.username == name)
    ).scalar_one_or_none()


def _credential(session: Session, officer_id: int) -> OfficerCredential | None:
    return session.execute(
        sa.select(OfficerCredential).where(_CRED.c.officer_id == officer_id).with_for_update()
    ).scalar_one_or_none()


def _locked_for(cred: OfficerCredential | None, now: dt.datetime) -> int:
    if cred is None or cred.locked_until is None:
        return 0
    left = (as_utc(cred.locked_until) - now).total_seconds()
    return math.ceil(left) if left > 0 else 0


def _count_failure(
    session: Session,
    cred: OfficerCredential,
    officer: Officer,
    *,
    client: str,
    settings: IssuerSettings,
    now: dt.datetime,
) -> None:
    """Count one failure on ``cred``; at ``console_max_failures`` within the window, lock
    the officer for ``console_lockout_minutes`` (audited ``console.lockout``)."""
    window = dt.timedelta(minutes=settings.console_lockout_minutes)
    failures, start = cred.failures, as_utc(cred.window_start)
    if now - start >= window or (cred.locked_until is not None and not _locked_for(cred, now)):
        failures, start = 0, now  # a new window; an expired lock starts one too
        cred.locked_until = None
    failures += 1
    if failures >= settings.console_max_failures:
        cred.failures, cred.window_start, cred.locked_until = 0, now, now + window
        audit.append(
            session,
            actor=_actor(officer),
            action="console.lockout",
            subject=_actor(officer),
            detail={"client": client, "minutes": settings.console_lockout_minutes},
            at=now,
        )
    else:
        cred.failures, cred.window_start = failures, start
    session.flush()


def _refusal(
    officer: Officer | None,
    username: str,
    *,
    action: str,
    reason: str,
    client: str,
) -> dict[str, Any]:
    actor = _actor(officer) if officer is not None else _UNKNOWN_ACTOR
    subject = _actor(officer) if officer is not None else f"username:{username.strip()[:64]}"
    return {
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": {"client": client, "reason": reason},
    }


# --- enrolment -----------------------------------------------------------------------------


def issue_enrolment(
    session: Session,
    *,
    officer_id: int,
    office_id: str | None,
    issued_by: int | None,
    actor: str,
    settings: IssuerSettings,
    now: dt.datetime,
) -> str:
    """Give officer ``officer_id`` (of ``office_id``; None: any, the command line) a new
    one-time enrolment code and return it (shown once, stored as SHA-256). Their password,
    TOTP and recovery codes are cleared and their sessions end: this is also the reset.

    ``issued_by`` (the acting admin; None: the command line) is recorded: until someone
    else resets the officer, the issuer could be signing in as them, and two-person rules
    treat them so (``issuer.accounts.changes``). Raises NotFound, Conflict (deactivated).
    """
    code = new_code()
    with write(session):
        officer = officer_in(session, officer_id, office_id)
        if not officer.active:
            raise Conflict(
                "The officer is deactivated",
                "该工作人员已停用",
                f"officer {officer.username} is deactivated",
                f"工作人员{officer.username}已停用",
            )
        cred = _credential(session, officer_id)
        if cred is None:
            cred = OfficerCredential(officer_id=officer_id, window_start=now, updated_at=now)
            session.add(cred)
        cred.password_hash = cred.totp_sealed = None
        cred.totp_confirmed_at = cred.locked_until = None
        cred.last_totp_step = None
        cred.failures, cred.window_start = 0, now
        cred.enrolment_hash = code_digest(code)
        expires = now + dt.timedelta(hours=settings.console_enrolment_hours)
        cred.enrolment_expires_at = expires
        cred.enrolment_issued_by, cred.set_via_code_of = issued_by, None
        cred.updated_at = now
        session.execute(sa.delete(_RECOVERY).where(_RECOVERY.c.officer_id == officer_id))
        session.execute(
            sa.update(_SESSION)
            .where(_SESSION.c.officer_id == officer_id, _SESSION.c.ended_at.is_(None))
            .values(ended_at=now)
        )
        audit.append(
            session,
            actor=actor,
            action="console.enrolment_issued",
            subject=_actor(officer),
            detail={
                "officer_id": officer_id,
                "office_id": officer.office_id,
                "expires_at": expires.isoformat(),
            },
            at=now,
        )
    return code


def password_problems(password: str, *, username: str, settings: IssuerSettings) -> None:
    """Raise ValidationFailed (field ``password``) unless ``password`` may be set: at least
    ``console_password_min_length`` characters, at most 200, not the username."""
    minimum = settings.console_password_min_length
    if len(password) < minimum:
        raise ValidationFailed(
            [
                FieldError(
                    "password",
                    "too_short",
                    f"must be at least {minimum} characters",
                    f"密码至少{minimum}个字符",
                )
            ]
        )
    if len(password) > 200:
        raise ValidationFailed(
            [
                FieldError(
                    "password", "too_long", "must be at most 200 characters", "密码最多200个字符"
                )
            ]
        )
    if password.strip().lower() == username.strip().lower():
        raise ValidationFailed(
            [
                FieldError(
                    "password", "is_username", "must not be the username", "密码不能与用户名相同"
                )
            ]
        )


def _enrolling(
    session: Session, username: str, code: str, now: dt.datetime
) -> tuple[Officer | None, OfficerCredential | None, bool]:
    """Return the officer, their locked credential row and whether ``code`` is their
    live enrolment code."""
    officer = _officer_named(session, username)
    cred = _credential(session, officer.id or 0) if officer is not None else None
    given = code_digest(code)
    expected = cred.enrolment_hash if cred is not None and cred.enrolment_hash else "0" * 64
    matches = hmac.compare_digest(given.encode(), expected.encode())
    live = (
        officer is not None
        and officer.active
        and cred is not None
        and cred.enrolment_expires_at is not None
        and as_utc(cred.enrolment_expires_at) > now
    )
    return officer, cred, matches and live


def start_enrolment(
    session: Session,
    *,
    username: str,
    code: str,
    password: str,
    client: str,
    settings: IssuerSettings,
    now: dt.datetime,
) -> Enrolment:
    """Set the password of the officer whose live enrolment code ``code`` is, give them a
    new TOTP secret (sealed) and ten recovery codes (hashed); return them to show once.
    The TOTP is not yet in force: :func:`confirm_enrolment` makes it so.

    Raises ValidationFailed (the password), ConsoleLocked, SignInFailed (recorded,
    committed).
    """
    password_problems(password, username=username, settings=settings)
    error: IssuerError | None = None
    out: Enrolment | None = None
    with write(session):
        officer, cred, ok = _enrolling(session, username, code, now)
        wait = _locked_for(cred, now)
        if wait or not ok or officer is None or cred is None:
            reason = "locked" if wait else "wrong_code"
            audit.append(
                session,
                **_refusal(
                    officer,
                    username,
                    action="console.enrolment_failed",
                    reason=reason,
                    client=client,
                ),
                at=now,
            )
            if cred is not None and officer is not None and not wait:
                _count_failure(session, cred, officer, client=client, settings=settings, now=now)
            error = ConsoleLocked(wait) if wait else sign_in_failed()
        else:
            secret = new_totp_secret()
            codes = tuple(new_code() for _ in range(RECOVERY_CODES))
            cred.password_hash = hash_password(password)
            cred.totp_sealed = seal_text(settings, secret, context=_totp_context(cred.officer_id))
            cred.totp_confirmed_at, cred.last_totp_step, cred.updated_at = None, None, now
            session.execute(sa.delete(_RECOVERY).where(_RECOVERY.c.officer_id == cred.officer_id))
            session.add_all(
                OfficerRecoveryCode(officer_id=cred.officer_id, code_hash=code_digest(c))
                for c in codes
            )
            audit.append(
                session,
                actor=_actor(officer),
                action="console.password_set",
                subject=_actor(officer),
                detail={"client": client},
                at=now,
            )
            issuer = settings.office_name or settings.office_id
            out = Enrolment(
                secret, otpauth_uri(secret, username=officer.username, issuer=issuer), codes
            )
    if error is not None:
        raise error
    assert out is not None
    return out


def confirm_enrolment(
    session: Session,
    *,
    username: str,
    code: str,
    totp_code: str,
    client: str,
    settings: IssuerSettings,
    now: dt.datetime,
) -> None:
    """Put the officer's TOTP in force once ``totp_code`` matches it; the enrolment code
    is then used up. Raises ConsoleLocked, SignInFailed (recorded, committed)."""
    error: IssuerError | None = None
    with write(session):
        officer, cred, ok = _enrolling(session, username, code, now)
        wait = _locked_for(cred, now)
        step = None
        if ok and not wait and cred is not None and cred.totp_sealed:
            secret = open_text(settings, cred.totp_sealed, context=_totp_context(cred.officer_id))
            step = totp_step(secret, totp_code, now=now, after=None)
        if step is None or officer is None or cred is None:
            reason = "locked" if wait else "wrong_code" if not ok else "wrong_totp"
            audit.append(
                session,
                **_refusal(
                    officer,
                    username,
                    action="console.enrolment_failed",
                    reason=reason,
                    client=client,
                ),
                at=now,
            )
            if cred is not None and officer is not None and not wait:
                _count_failure(session, cred, officer, client=client, settings=settings, now=now)
            error = ConsoleLocked(wait) if wait else sign_in_failed()
        else:
            cred.totp_confirmed_at, cred.last_totp_step = now, step
            cred.set_via_code_of = cred.enrolment_issued_by
            cred.enrolment_hash = cred.enrolment_expires_at = None
            cred.failures, cred.locked_until, cred.updated_at = 0, None, now
            audit.append(
                session,
                actor=_actor(officer),
                action="console.totp_enrolled",
                subject=_actor(officer),
                detail={"client": client},
                at=now,
            )
    if error is not None:
        raise error


# --- signing in ----------------------------------------------------------------------------


def _second_factor(
    session: Session,
    cred: OfficerCredential,
    code: str,
    settings: IssuerSettings,
    now: dt.datetime,
) -> str | None:
    """Return ``"totp"`` or ``"recovery"`` if ``code`` is a good second factor (a recovery
    code is used up, a TOTP step remembered), else None."""
    if cred.totp_sealed is None:
        return None
    digits = "".join(code.split())
    if len(digits) == 6 and digits.isdigit():
        secret = open_text(settings, cred.totp_sealed, context=_totp_context(cred.officer_id))
        step = totp_step(secret, digits, now=now, after=cred.last_totp_step)
        if step is None:
            return None
        cred.last_totp_step = step
        return "totp"
    used = session.execute(
        sa.update(_RECOVERY)
        .where(
            _RECOVERY.c.officer_id == cred.officer_id,
            _RECOVERY.c.code_hash == code_digest(code),
            _RECOVERY.c.used_at.is_(None),
        )
        .values(used_at=now)
        .returning(_RECOVERY.c.id)
    ).first()
    return "recovery" if used is not None else None


def sign_in(
    session: Session,
    *,
    username: str,
    password: str,
    code: str,
    client: str,
    settings: IssuerSettings,
    now: dt.datetime,
) -> str:
    """Sign an officer in with their password and a TOTP or recovery code; return the new
    session's cookie token (a new session every time: a token set before sign-in is never
    taken over). Audited ``console.signin`` or ``console.signin_failed`` (with the reason,
    which the answer never says), ``console.lockout``, ``console.signin_refused`` (locked).

    Raises ConsoleLocked, SignInFailed (recorded, committed).
    """
    error: IssuerError | None = None
    token: str | None = None
    with write(session):
        officer = _officer_named(session, username)
        cred = _credential(session, officer.id or 0) if officer is not None else None
        wait = _locked_for(cred, now)
        if wait:
            audit.append(
                session,
                **_refusal(
                    officer,
                    username,
                    action="console.signin_refused",
                    reason="locked",
                    client=client,
                ),
                at=now,
            )
            error = ConsoleLocked(wait)
        else:
            # always one argon2 verification, whoever is named
            good_password = password_matches(cred.password_hash if cred else None, password)
            enrolled = cred is not None and cred.totp_confirmed_at is not None
            factor = None
            if good_password and enrolled and cred is not None:
                factor = _second_factor(session, cred, code, settings, now)
            if officer is not None and officer.active and factor and cred is not None:
                cred.failures, cred.locked_until, cred.updated_at = 0, None, now
                token = new_session(session, officer_id=cred.officer_id, settings=settings, now=now)
                audit.append(
                    session,
                    actor=_actor(officer),
                    action="console.signin",
                    subject=_actor(officer),
                    detail={"client": client, "factor": factor},
                    at=now,
                )
            else:
                reason = (
                    "unknown_user"
                    if officer is None
                    else "deactivated"
                    if not officer.active
                    else "not_enrolled"
                    if not enrolled
                    else "wrong_password"
                    if not good_password
                    else "wrong_code"
                )
                audit.append(
                    session,
                    **_refusal(
                        officer,
                        username,
                        action="console.signin_failed",
                        reason=reason,
                        client=client,
                    ),
                    at=now,
                )
                if cred is not None and officer is not None:
                    _count_failure(
                        session, cred, officer, client=client, settings=settings, now=now
                    )
                error = sign_in_failed()
    if error is not None:
        raise error
    assert token is not None
    return token
