"""Reading issued certificates: a stored row by number and its public shape.

Every read is scoped to the caller's office, as the lifecycle actions are: another
office's certificate (several offices may share one database) is NotFound, never
revealed; a caller with no office (a service client) reads none.

The public shape (``CertificatePublic``) is what issuing answers and what a read returns:
the row's facts, the credential opened from its sealed form, the QR token and the links
of the certificate, its status list entry and the verifier.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import QualificationType, compact_of, qr_url, rfc3339
from issuer.db import tables
from issuer.db.models import Certificate
from issuer.errors import NotFound
from issuer.issuance.schemas import CertificateLinks, CertificatePublic, StatusRef
from issuer.issuance.sealing import open_stored_credential
from issuer.settings import IssuerSettings

__all__ = ["certificate_public", "certificate_row", "get_certificate"]

_CERT = tables.CERTIFICATE
_LIST = tables.STATUS_LIST


def certificate_public(
    row: Certificate, *, settings: IssuerSettings, status_uri: str
) -> CertificatePublic:
    """Return the public shape of ``row``, whose status list is at ``status_uri``."""
    qt = QualificationType(row.qualification_type)
    verify_url = qr_url(settings.verifier_url, row.qr_token)
    stored = open_stored_credential(
        settings, row.credential_jws, certificate_number=row.certificate_number
    )
    return CertificatePublic(
        certificate_number=row.certificate_number,
        version=row.version,
        elicence_id=row.elicence_id,
        status=row.status,
        name=row.name,
        sex=row.sex,
        birth_date=row.birth_date.isoformat(),
        ethnicity=row.ethnicity,
        id_type=row.id_type,
        id_number_masked=row.id_number_masked,
        qualification_type=qt.slug,
        qualification_name=qt.name_zh,
        subject=row.subject,
        certified_on=row.certified_on.isoformat(),
        office_name=settings.office_name,
        issued_at=rfc3339(row.created_at),
        credential=compact_of(stored),
        credential_json=stored if stored.startswith("{") else None,
        qr_token=row.qr_token,
        qr_url=verify_url,
        status_list=StatusRef(uri=status_uri, idx=row.status_idx),
        links=CertificateLinks(
            self=f"{settings.public_url}/api/v1/certificates/{row.certificate_number}",
            status_list=status_uri,
            verify=verify_url,
        ),
    )


def _not_found(number: str) -> NotFound:
    return NotFound(
        "No such certificate",
        "证书不存在",
        f"No certificate numbered {number}.",
        "没有该号码的证书。",
    )


def certificate_row(session: Session, *, number: str, office_id: str | None) -> Certificate:
    """Return the row of certificate ``number`` (its latest version) of ``office_id``;
    raises NotFound (also for another office's certificate)."""
    if office_id is None:
        raise _not_found(number)
    query = sa.select(Certificate).where(
        _CERT.c.certificate_number == number, _CERT.c.office_id == office_id
    )
    row = session.scalars(query).first()
    if row is None:
        raise _not_found(number)
    return row


def get_certificate(
    session: Session, *, number: str, office_id: str | None, settings: IssuerSettings
) -> CertificatePublic:
    """Return the latest version of certificate ``number`` of ``office_id``; raises
    NotFound (also for another office's certificate)."""
    if office_id is None:
        raise _not_found(number)
    row = session.execute(
        sa.select(Certificate, _LIST.c.uri)
        .join(_LIST, _LIST.c.id == _CERT.c.status_list_id)
        .where(_CERT.c.certificate_number == number, _CERT.c.office_id == office_id)
    ).first()
    if row is None:
        raise _not_found(number)
    return certificate_public(row[0], settings=settings, status_uri=row[1])
