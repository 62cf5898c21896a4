"""What a signed-in holder sees and downloads: their certificates, the credential as JSON.

A holder sees only the certificates of the person their claim code binds to; another
person's certificate is NotFound exactly like one that does not exist.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import compact_of, parse_jws
from issuer.db import tables
from issuer.db.models import Certificate
from issuer.errors import NotFound
from issuer.holder.signin import HolderIdentity
from issuer.issuance import open_stored_credential
from issuer.settings import IssuerSettings

__all__ = ["certificate_of", "certificates_of", "credential_document", "dumps"]

_CERT = tables.CERTIFICATE


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
    """Return ``<number>.json``: the decoded credential with its JWS (contract section 3);
    for a dual-signed one also ``jws_json``, the JWS JSON serialization with both
    signatures (docs/formats.md, "SM2"), while ``jws`` stays the compact first one."""
    stored = open_stored_credential(
        settings, row.credential_jws, certificate_number=row.certificate_number
    )
    jws = compact_of(stored)
    parsed = parse_jws(jws)
    document: dict[str, Any] = {
        "certificate_number": row.certificate_number,
        "version": row.version,
        "header": dict(parsed.header),
        "credential": dict(parsed.payload),
        "jws": jws,
    }
    if stored != jws:
        document["jws_json"] = stored
    return document


def dumps(document: dict[str, Any]) -> bytes:
    """Return ``document`` as pretty, readable UTF-8 JSON."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
