"""Finding a certificate, and everything about it (issue 13 point 3): the backend of the
office console's search and certificate pages and of the officers' JSON API.

Owns: ``schemas`` (the answers: a page of summaries, a certificate's record), ``criteria``
(a search's input judged field by field: what may be searched by and how), ``find``
(the keyset-paginated search, always scoped to one office), ``record`` (one
certificate's facts, versions, batch row, status history and audit trail), ``audit``
(searches that identify a person are recorded in the audit trail).

Privacy rules, kept here so that no way in can skip them: a name is searched only with a
birth date; an identity number only exactly, through the keyed hash that issuing stores
(``issuer.issuance.id_hash``), never stored, logged or echoed in clear; every answer is
the caller's office's own certificates.

May import: ``credential``, ``issuer.db``, ``issuer.fields``, ``issuer.audit``,
``issuer.issuance``, ``issuer.settings``, ``issuer.errors``.
"""

from issuer.search.audit import SEARCH_ACTION
from issuer.search.criteria import DEFAULT_LIMIT, MAX_LIMIT, STATUSES
from issuer.search.find import find_certificates
from issuer.search.record import TRAIL_MAX, certificate_record
from issuer.search.schemas import (
    AuditEntry,
    BatchRow,
    CertificateRecord,
    CertificateSummary,
    Page,
    StatusChange,
    VersionRow,
)

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "SEARCH_ACTION",
    "STATUSES",
    "TRAIL_MAX",
    "AuditEntry",
    "BatchRow",
    "CertificateRecord",
    "CertificateSummary",
    "Page",
    "StatusChange",
    "VersionRow",
    "certificate_record",
    "find_certificates",
]
