"""Claim codes (领取码) and the holder key.

An office clerk makes a claim code for a certificate and reads or hands it to the teacher
once; it binds to the *person* (the certificate's ``id_number_hash``), so with it the
teacher sees all and only their own certificates. A code is 16 characters from an
alphabet without look-alikes (about 79 bits), printed in groups of four; only its
HMAC-SHA256 under the holder key is stored, and a new code replaces the old one.

The holder key (``JIAOZI_HOLDER_HMAC_KEY``, else derived from the identity-number key)
also MACs the holder's sessions and form tokens (``issuer.holder.signin``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from credential import rfc3339
from issuer.audit import chain as audit
from issuer.db import tables, write
from issuer.issuance import certificate_row
from issuer.settings import IssuerSettings

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "ClaimCode",
    "code_hash",
    "format_code",
    "holder_mac",
    "issue_claim_code",
    "normalise_code",
]

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud, typed on a phone
CODE_LENGTH = 16
_CODE = tables.HOLDER_CLAIM_CODE


def _key(settings: IssuerSettings) -> bytes:
    given = settings.holder_hmac_key
    if given is not None and given.get_secret_value():
        return given.get_secret_value().encode("utf-8")
    base = settings.id_hmac_key.get_secret_value().encode("utf-8")
    return hmac.new(base, b"jiaozi holder key v1", hashlib.sha256).digest()


def holder_mac(settings: IssuerSettings, label: str, data: str) -> str:
    """Return HMAC-SHA256 hex under the holder key of ``label`` and ``data``; the label
    (claim-code, session, csrf, ...) keeps each use's MACs apart."""
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
    return holder_mac(settings, "claim-code", code)


@dataclass(frozen=True)
class ClaimCode:
    certificate_number: str
    claim_code: str  # formatted, shown once
    expires_at: dt.datetime
    replaced: bool


def issue_claim_code(
    session: Session,
    *,
    number: str,
    office_id: str | None,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
) -> ClaimCode:
    """Make a new claim code for the holder of certificate ``number`` of ``office_id``
    (replacing any earlier code of that person), audited; raises NotFound (also for
    another office's certificate)."""
    with write(session):
        row = certificate_row(session, number=number, office_id=office_id)
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
            detail={"expires_at": rfc3339(expires), "replaced": replaced},
            at=now,
        )
    return ClaimCode(number, format_code(code), expires, replaced)
