"""The tables of who may get in: the holder pages (claim codes, attempt counters, purpose
copies) and the office console's sign-in (credentials, recovery codes, sessions).
Re-exported by ``issuer.db.models``; kept apart only for the module's length."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field

from issuer.db._base import IssuerModel, _ts, _ts_or_none

__all__ = [
    "ConsoleSession",
    "HolderAttempt",
    "HolderClaimCode",
    "HolderCopy",
    "OfficerCredential",
    "OfficerRecoveryCode",
]


# --- revision 0003: the holder pages (claim codes, attempt counters, purpose copies) -------


class HolderClaimCode(IssuerModel, table=True):
    """A teacher's claim code (领取码): bound to the person, one per person (a new code
    replaces the old one), stored only as a keyed hash (HMAC-SHA256, ``issuer.holder.codes``)."""

    __tablename__ = "holder_claim_code"

    id: int | None = Field(default=None, primary_key=True)
    id_number_hash: str = Field(max_length=64, unique=True)
    code_hash: str = Field(max_length=64)
    certificate_number: str = Field(max_length=17)  # the certificate it was handed out for
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = _ts()
    expires_at: dt.datetime = _ts()
    used_at: dt.datetime | None = _ts_or_none()


class HolderAttempt(IssuerModel, table=True):
    """Failed claim-code attempts per key (``number:<17 digits>`` or ``addr:<client>``)
    within the current window, and the lockout they caused; shared by all workers."""

    __tablename__ = "holder_attempt"

    key: str = Field(primary_key=True, max_length=80)
    failures: int = 0
    window_start: dt.datetime = _ts()
    locked_until: dt.datetime | None = _ts_or_none()


class HolderCopy(IssuerModel, table=True):
    """A purpose-bound copy (加注件) a teacher made: what the office can see of it."""

    __tablename__ = "holder_copy"

    id: int | None = Field(default=None, primary_key=True)
    certificate_number: str = Field(max_length=17, index=True)
    version: int
    purpose: str = Field(max_length=60)
    expires_at: dt.datetime = _ts()
    token_sha256: str = Field(max_length=64)
    created_at: dt.datetime = _ts()


# --- the office console's sign-in (issue 13 point 2; issuer.console) -----------------------


class OfficerCredential(IssuerModel, table=True):
    """An officer's console sign-in: argon2id password hash, the TOTP secret (sealed with
    ``JIAOZI_DATA_KEY``), the failed-attempt counter and lock, and the one-time enrolment
    code (SHA-256 only) an admin issued; a row per officer, made on the first code."""

    __tablename__ = "officer_credential"

    officer_id: int = Field(primary_key=True, foreign_key="officer.id")
    password_hash: str | None = Field(default=None, max_length=200)
    totp_sealed: str | None = Field(default=None, max_length=300)
    totp_confirmed_at: dt.datetime | None = _ts_or_none()
    last_totp_step: int | None = None  # a code is accepted once (no replay in its window)
    failures: int = 0
    window_start: dt.datetime = _ts()
    locked_until: dt.datetime | None = _ts_or_none()
    enrolment_hash: str | None = Field(default=None, max_length=64)
    enrolment_expires_at: dt.datetime | None = _ts_or_none()
    # The officer who issued the code the current sign-in was set with (None: the command
    # line): they could have enrolled in the officer's name, so two-person rules treat them
    # like the issuer of a key the officer holds (issuer.accounts.changes).
    set_via_code_of: int | None = None
    enrolment_issued_by: int | None = None
    updated_at: dt.datetime = _ts()


class OfficerRecoveryCode(IssuerModel, table=True):
    """One of an officer's ten recovery codes (SHA-256 only), each usable once."""

    __tablename__ = "officer_recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    code_hash: str = Field(max_length=64)
    used_at: dt.datetime | None = _ts_or_none()


class ConsoleSession(IssuerModel, table=True):
    """A signed-in console session: the cookie is an opaque token, the row keyed by its
    SHA-256; ``csrf`` is the token every form of the session carries."""

    __tablename__ = "console_session"

    id: str = Field(primary_key=True, max_length=64)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    csrf: str = Field(max_length=64)
    created_at: dt.datetime = _ts()
    last_seen_at: dt.datetime = _ts()
    expires_at: dt.datetime = _ts()
    ended_at: dt.datetime | None = _ts_or_none()
