"""Printing a certificate: its PDF drawn from the signed credential, then signed.

The facts on the page come from the signed credential text (not the row), so the paper can
never say something the e-licence does not. A purpose-bound copy (加注件) prints the masked
identity number and its purpose, carries its own QR token, and has no credential attached:
the attachment would hand over the full identity number the copy exists to hide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import object_session

from credential import Certificate as CertificateFacts
from credential import certificate_from_claims, parse_jws, qr_url
from issuer.db.models import Certificate
from issuer.issuance.photos import checked_photo, load_photo
from issuer.issuance.sealing import open_credential, open_stored_credential
from issuer.pdf import PdfSignError, signed_certificate_pdf
from issuer.settings import IssuerSettings
from keys import DocumentSigningKey, KeysError, PadesSigner, pades_signer

__all__ = ["DocumentKeyProvider", "certificate_pdf", "facts_of", "seal_png"]

DocumentKeyProvider = Callable[[], DocumentSigningKey]


def facts_of(row: Certificate, *, settings: IssuerSettings) -> tuple[CertificateFacts, str]:
    """Return the certified facts and the credential JWS of ``row`` (opened if sealed)."""
    jws = open_credential(settings, row.credential_jws, certificate_number=row.certificate_number)
    return certificate_from_claims(parse_jws(jws).payload), jws


def _dual_form(row: Certificate, *, settings: IssuerSettings) -> str | None:
    """Return the dual-signed (SM2) credential of ``row`` when it has one (issue 16)."""
    stored = open_stored_credential(
        settings, row.credential_jws, certificate_number=row.certificate_number
    )
    return stored if stored.startswith("{") else None


@lru_cache(maxsize=4)
def _seal(path: str) -> bytes:
    return Path(path).read_bytes()


def seal_png(settings: IssuerSettings) -> bytes | None:
    """Return the office's seal image (read once per process), or None if none is set."""
    return _seal(str(settings.seal_png)) if settings.seal_png is not None else None


def _signer(document_key: DocumentSigningKey) -> PadesSigner:
    try:
        return pades_signer(document_key)
    except KeysError as exc:  # a key that does not open or match: the server's fault
        raise PdfSignError(f"the document-signing key cannot sign: {exc}") from exc


def certificate_pdf(
    row: Certificate,
    *,
    settings: IssuerSettings,
    document_key: DocumentSigningKey,
    purpose: str | None = None,
    purpose_expires: dt.date | None = None,
    qr_token: str | None = None,
    opened: tuple[CertificateFacts, str] | None = None,
    photo: bytes | None = None,
) -> bytes:
    """Return the signed A4 PDF of ``row`` in the layout version it was made with.

    The holder's photo, when the credential binds one, is printed and attached beside the
    credential (a purpose-bound copy prints it, attaches nothing): ``photo`` when the
    caller read it (batch workers never open the database), else read through the row's
    session. Raises PhotoMismatchError (a ValueError) when it is missing or not the one
    the credential binds.

    ``purpose``/``purpose_expires``/``qr_token`` (all three) make a purpose-bound copy whose
    QR carries ``qr_token``. ``opened`` is what ``facts_of(row, settings=settings)``
    returned, when the caller has it already (batch printing draws the page twice).
    Raises issuer.pdf.PdfError (a glyph no font has, a field too long, a key that cannot
    sign).
    """
    copy = purpose is not None
    token = qr_token if copy else row.qr_token
    if token is None or (copy and purpose_expires is None):
        raise ValueError("a purpose-bound copy needs purpose, purpose_expires and qr_token")
    facts, jws = opened if opened is not None else facts_of(row, settings=settings)
    if facts.photo_digest is not None and photo is None:
        session = object_session(row)
        photo = load_photo(session, row.id) if session is not None else None
    return signed_certificate_pdf(
        facts,
        qr_text=qr_url(settings.verifier_url, token),
        verifier_url=settings.verifier_url,
        signer=_signer(document_key),
        credential_jws=None if copy else jws,
        credential_json=None if copy else _dual_form(row, settings=settings),
        layout=row.layout_version,
        seal_png=seal_png(settings),
        seal_text=settings.seal_text,
        purpose=purpose,
        purpose_expires=purpose_expires,
        photo=checked_photo(facts, photo),
    )
