"""Typed handles on the issuer's tables, for SQLAlchemy Core statements (row locks,
``UPDATE ... RETURNING``, bulk inserts) beside the ORM models.

SQLModel does not declare ``__table__`` to type checkers; this module reads it once, so
no other module needs a ``type: ignore`` for it.
"""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa
from sqlmodel import SQLModel

from issuer.db.models import (
    ApiKey,
    AuditCheckpoint,
    AuditHead,
    AuditRecord,
    Batch,
    BatchItem,
    BatchPhoto,
    Certificate,
    CertificatePhoto,
    CertificateVersion,
    ConsoleSession,
    Event,
    EventHead,
    HolderAttempt,
    HolderClaimCode,
    HolderCopy,
    IdempotencyRecord,
    NationalOutbox,
    NationalRestriction,
    NationalSync,
    Office,
    Officer,
    OfficerCredential,
    OfficerRecoveryCode,
    PendingAction,
    PublishedDocument,
    Restriction,
    RestrictionChange,
    RestrictionDocument,
    SerialCounter,
    ServiceClient,
    StatusListRow,
)

__all__ = [
    "API_KEY",
    "AUDIT_CHECKPOINT",
    "AUDIT_HEAD",
    "AUDIT_RECORD",
    "BATCH",
    "BATCH_ITEM",
    "BATCH_PHOTO",
    "CERTIFICATE",
    "CERTIFICATE_PHOTO",
    "CERTIFICATE_VERSION",
    "CONSOLE_SESSION",
    "EVENT",
    "EVENT_HEAD",
    "HOLDER_ATTEMPT",
    "HOLDER_CLAIM_CODE",
    "HOLDER_COPY",
    "IDEMPOTENCY_RECORD",
    "NATIONAL_OUTBOX",
    "NATIONAL_RESTRICTION",
    "NATIONAL_SYNC",
    "OFFICE",
    "OFFICER",
    "OFFICER_CREDENTIAL",
    "OFFICER_RECOVERY_CODE",
    "PENDING_ACTION",
    "PUBLISHED_DOCUMENT",
    "RESTRICTION",
    "RESTRICTION_CHANGE",
    "RESTRICTION_DOCUMENT",
    "SERIAL_COUNTER",
    "SERVICE_CLIENT",
    "STATUS_LIST",
]


def _table(model: type[SQLModel]) -> sa.Table:
    return cast(sa.Table, model.__table__)  # type: ignore[attr-defined]


STATUS_LIST = _table(StatusListRow)
SERIAL_COUNTER = _table(SerialCounter)
CERTIFICATE = _table(Certificate)
CERTIFICATE_PHOTO = _table(CertificatePhoto)
IDEMPOTENCY_RECORD = _table(IdempotencyRecord)
AUDIT_RECORD = _table(AuditRecord)
AUDIT_HEAD = _table(AuditHead)
OFFICE = _table(Office)
OFFICER = _table(Officer)
API_KEY = _table(ApiKey)
SERVICE_CLIENT = _table(ServiceClient)
CERTIFICATE_VERSION = _table(CertificateVersion)
PENDING_ACTION = _table(PendingAction)
PUBLISHED_DOCUMENT = _table(PublishedDocument)
RESTRICTION = _table(Restriction)
RESTRICTION_CHANGE = _table(RestrictionChange)
RESTRICTION_DOCUMENT = _table(RestrictionDocument)
NATIONAL_OUTBOX = _table(NationalOutbox)
NATIONAL_RESTRICTION = _table(NationalRestriction)
NATIONAL_SYNC = _table(NationalSync)
EVENT = _table(Event)
EVENT_HEAD = _table(EventHead)
BATCH = _table(Batch)
BATCH_ITEM = _table(BatchItem)
BATCH_PHOTO = _table(BatchPhoto)
AUDIT_CHECKPOINT = _table(AuditCheckpoint)
HOLDER_CLAIM_CODE = _table(HolderClaimCode)
HOLDER_ATTEMPT = _table(HolderAttempt)
HOLDER_COPY = _table(HolderCopy)
OFFICER_CREDENTIAL = _table(OfficerCredential)
OFFICER_RECOVERY_CODE = _table(OfficerRecoveryCode)
CONSOLE_SESSION = _table(ConsoleSession)
