"""The issuer's tables (SQLModel). The Alembic revision in ``issuer/db/migrations`` creates
exactly these; a test compares the two.

Identity numbers: the clear number is not a column. ``id_number_hash`` is HMAC-SHA256
(key ``JIAOZI_ID_HMAC_KEY``) over ``<id_type>:<normalised number>`` for lookups,
``id_number_masked`` is what lists show; the full number exists only inside the signed
credential text (``credential_jws``), which the office must be able to hand back.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field

from issuer.db._access import (
    ConsoleSession,
    HolderAttempt,
    HolderClaimCode,
    HolderCopy,
    OfficerCredential,
    OfficerRecoveryCode,
)
from issuer.db._base import METADATA, IssuerModel, _ts, _ts_or_none

__all__ = [
    "HOLDING_STATUSES",
    "HOLDING_WHERE",
    "METADATA",
    "PERSON_QUALIFICATION_INDEX",
    "ApiKey",
    "AuditCheckpoint",
    "AuditHead",
    "AuditRecord",
    "Batch",
    "BatchItem",
    "Certificate",
    "CertificateVersion",
    "ConsoleSession",
    "Event",
    "EventHead",
    "HolderAttempt",
    "HolderClaimCode",
    "HolderCopy",
    "IdempotencyRecord",
    "Office",
    "Officer",
    "OfficerCredential",
    "OfficerRecoveryCode",
    "PendingAction",
    "PublishedDocument",
    "Restriction",
    "RestrictionChange",
    "RestrictionDocument",
    "SerialCounter",
    "ServiceClient",
    "StatusListRow",
]


class StatusListRow(IssuerModel, table=True):
    """One Token Status List of an office; ``data`` is the packed, uncompressed array."""

    __tablename__ = "status_list"
    __table_args__ = (
        sa.UniqueConstraint("office_id", "ordinal", name="uq_status_list_office_id_ordinal"),
    )

    id: int | None = Field(default=None, primary_key=True)
    office_id: str = Field(max_length=200)
    ordinal: int
    uri: str = Field(max_length=500)
    bits: int
    size: int
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    created_at: dt.datetime = _ts()
    # revision 0002: bumped on every entry change; the signed token is cached per revision
    revision: int = 0
    signed_revision: int | None = None
    signed_token: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    signed_at: dt.datetime | None = _ts_or_none()


class PublishedDocument(IssuerModel, table=True):
    """revision 0007: a key-free public artefact as last published (``jwks.json``, the
    trust list), so a process without the key store can serve it; ``digest`` (SHA-256 of
    ``body``) lets the publication job write only what changed."""

    __tablename__ = "published_document"

    name: str = Field(primary_key=True, max_length=100)
    media_type: str = Field(max_length=100)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    digest: str = Field(max_length=64)
    published_at: dt.datetime = _ts()


class SerialCounter(IssuerModel, table=True):
    """Last serial used per office and certification year (contract section 2)."""

    __tablename__ = "serial_counter"

    office_id: str = Field(primary_key=True, max_length=200)
    year: int = Field(primary_key=True)
    last_serial: int = 0


#: The partial unique index that lets a person hold one certificate of a qualification
#: type and subject at a time (a revoked one frees the person to be certified again).
PERSON_QUALIFICATION_INDEX = "uq_certificate_person_qualification"
HOLDING_STATUSES = ("valid", "suspended")
HOLDING_WHERE = "status IN ('valid', 'suspended')"


class Certificate(IssuerModel, table=True):
    """One issued certificate version with both signed tokens."""

    __tablename__ = "certificate"
    __table_args__ = (
        sa.UniqueConstraint(
            "status_list_id", "status_idx", name="uq_certificate_status_list_id_status_idx"
        ),
        # revision 0004: one valid or suspended certificate per person, type and subject
        sa.Index(
            PERSON_QUALIFICATION_INDEX,
            "id_number_hash",
            "qualification_type",
            "subject",
            unique=True,
            sqlite_where=sa.text(HOLDING_WHERE),
            postgresql_where=sa.text(HOLDING_WHERE),
        ),
        # revision 0010: the office's searches (issuer.search.find), newest first by
        # (created_at, id) read straight off an index, so page 1,000 costs what page 1 does
        sa.Index("ix_certificate_office_issued", "office_id", "created_at", "id"),
        sa.Index("ix_certificate_office_status", "office_id", "status", "created_at", "id"),
        sa.Index("ix_certificate_office_name", "office_id", "name", "birth_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    certificate_number: str = Field(max_length=17, unique=True)
    version: int = 1
    office_id: str = Field(max_length=200)
    year: int
    serial: int
    qualification_type: int
    name: str = Field(max_length=100)
    sex: str = Field(max_length=8)
    birth_date: dt.date
    ethnicity: str | None = Field(default=None, max_length=40)
    id_type: str = Field(max_length=32)
    id_number_hash: str = Field(max_length=64, index=True)
    id_number_masked: str = Field(max_length=40)
    subject: str = Field(max_length=100)
    certified_on: dt.date
    elicence_id: str = Field(max_length=120)
    status_list_id: int = Field(foreign_key="status_list.id")
    status_idx: int
    credential_jws: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    qr_token: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(default="valid", max_length=16)
    created_at: dt.datetime = _ts()
    # revision 0002
    kid: str | None = Field(default=None, max_length=64, index=True)
    status_reason: str | None = Field(default=None, max_length=64)
    status_changed_at: dt.datetime | None = _ts_or_none()
    # the certificate layout new certificates are printed in (templates/certificate/);
    # a row keeps its own, so older certificates print as they did (v2: issue 15's seal;
    # v3: the holder's photo and a QR a phone photo of the whole page reads)
    layout_version: str = Field(default="v3", max_length=16)
    # revision 0007: the restricted list's person reference (HMAC under the key shared
    # nationally), so that a national entry finds this office's certificates of the
    # person; NULL for certificates issued before it (docs/registry.md)
    person_ref: str | None = Field(default=None, max_length=64, index=True)


class CertificatePhoto(IssuerModel, table=True):
    """Revision 0015: the holder's photo of a certificate (issuer.photos' normalised JPEG),
    the one its current credential binds by ``sha256`` (hex) and its PDFs carry."""

    __tablename__ = "certificate_photo"

    certificate_id: int = Field(foreign_key="certificate.id", primary_key=True)
    sha256: str = Field(max_length=64)
    jpeg: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    created_at: dt.datetime = _ts()


class IdempotencyRecord(IssuerModel, table=True):
    """A POST's Idempotency-Key, inserted first in its transaction (the unique key decides)."""

    __tablename__ = "idempotency_record"
    __table_args__ = (
        sa.UniqueConstraint("principal", "key", name="uq_idempotency_record_principal_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    principal: str = Field(max_length=200)
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int | None = None
    response_json: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    created_at: dt.datetime = _ts()


class AuditRecord(IssuerModel, table=True):
    """One hash-chained audit record; ``id`` is the gapless sequence number from 1."""

    __tablename__ = "audit_record"
    # revision 0010: a certificate's trail on its record page (issuer.search.record)
    __table_args__ = (sa.Index("ix_audit_record_subject", "subject", "id"),)

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: dt.datetime = _ts()
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64)
    subject: str = Field(max_length=200)
    detail_json: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditHead(IssuerModel, table=True):
    """The single row naming the chain's last record; updating it serialises appends."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = 0
    hash: str = Field(max_length=64)


# --- revision 0002: accounts, lifecycle, restrictions, events, batches, checkpoints --------


class Office(IssuerModel, table=True):
    """A certification office served by this issuer, with its own settings."""

    __tablename__ = "office"

    id: str = Field(primary_key=True, max_length=200)
    name: str = Field(max_length=200)
    province: str = Field(max_length=2)
    office_code: str = Field(max_length=3)
    # Maker-checker on revocations and restrictions; switching it is itself audited.
    maker_checker: bool = True
    created_at: dt.datetime = _ts()


class Officer(IssuerModel, table=True):
    """A person acting for one office in one role: clerk, supervisor or admin."""

    __tablename__ = "officer"

    id: int | None = Field(default=None, primary_key=True)
    office_id: str = Field(foreign_key="office.id", max_length=200, index=True)
    username: str = Field(max_length=100, unique=True)
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=16)
    active: bool = True
    created_at: dt.datetime = _ts()
    # Who created the officer and who last changed its role (officer ids; None for the
    # bootstrap key and the command line): such an officer may never approve that
    # officer's requests (two-person rules). Plain ids, no foreign key: added to a live
    # table by a migration, and an officer row is never deleted.
    created_by: int | None = None
    role_changed_by: int | None = None


class ApiKey(IssuerModel, table=True):
    """An officer's API key: shown once, stored as SHA-256 of its secret part.

    The key reads ``jz_<prefix>_<secret>``; ``prefix`` finds the row, the hash decides.
    """

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int | None = Field(default=None, foreign_key="officer.id", index=True)
    client_id: int | None = Field(default=None, foreign_key="service_client.id", index=True)
    prefix: str = Field(max_length=16, unique=True)
    secret_hash: str = Field(max_length=64)
    created_at: dt.datetime = _ts()
    revoked_at: dt.datetime | None = _ts_or_none()
    # The officer who issued the key (None: bootstrap key, command line): they know its
    # text, so its holder may not approve their requests while it is unrevoked.
    issued_by: int | None = None


class ServiceClient(IssuerModel, table=True):
    """A machine reader: a verifier (restricted list) or the teacher MIS (event feed)."""

    __tablename__ = "service_client"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    kind: str = Field(max_length=16)  # "verifier" | "mis"
    created_at: dt.datetime = _ts()


class CertificateVersion(IssuerModel, table=True):
    """A superseded version of a certificate (reissue keeps the number, bumps the version).

    ``status_list_id``/``status_idx`` name the version's own status entry when it had one
    apart from the certificate's (replacement, correction: that entry is revoked and never
    drawn again); NULL when it shared the certificate's entry (key-compromise reissue).
    """

    __tablename__ = "certificate_version"
    __table_args__ = (
        sa.UniqueConstraint(
            "certificate_id", "version", name="uq_certificate_version_certificate_id_version"
        ),
        sa.Index("ix_certificate_version_status_entry", "status_list_id", "status_idx"),
    )

    id: int | None = Field(default=None, primary_key=True)
    certificate_id: int = Field(foreign_key="certificate.id", index=True)
    version: int
    kid: str = Field(max_length=64)
    credential_jws: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    qr_token: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    superseded_at: dt.datetime = _ts()
    reason: str = Field(max_length=64)
    status_list_id: int | None = Field(default=None, foreign_key="status_list.id")
    status_idx: int | None = None


class PendingAction(IssuerModel, table=True):
    """A right-removing act awaiting a second supervisor (maker-checker), or an account
    change awaiting a second admin (two-person rules)."""

    __tablename__ = "pending_action"
    # revision 0010: the requests about one certificate (issuer.search.record)
    __table_args__ = (sa.Index("ix_pending_action_target", "target"),)

    id: int | None = Field(default=None, primary_key=True)
    office_id: str = Field(foreign_key="office.id", max_length=200, index=True)
    # revoke | restrict | unrestrict | replace | correct | create_officer | change_role |
    # maker_checker_off
    kind: str = Field(max_length=32)
    # certificate number, restriction id, username, officer id or office id
    target: str = Field(max_length=200)
    payload_json: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    requested_by: int = Field(foreign_key="officer.id")
    requested_at: dt.datetime = _ts()
    decided_by: int | None = Field(default=None, foreign_key="officer.id")
    decided_at: dt.datetime | None = _ts_or_none()
    decision: str | None = Field(default=None, max_length=16)  # approved | rejected
    # why it was rejected, as the supervisor wrote it (revision 0013)
    decision_reason: str | None = Field(default=None, max_length=500)


class Restriction(IssuerModel, table=True):
    """An entry of the restricted-qualification list (contract section 7)."""

    __tablename__ = "restriction"

    id: int | None = Field(default=None, primary_key=True)
    person_ref: str = Field(max_length=64, index=True)  # HMAC-SHA256 hex, shared key
    id_type: str = Field(max_length=32)
    category: str = Field(max_length=16)  # lost | revoked
    decision_date: dt.date
    bar_until: dt.date | None = None
    deciding_office: str = Field(max_length=200)
    legal_basis: str = Field(max_length=500)
    affected_json: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    recorded_at: dt.datetime = _ts()
    removed_at: dt.datetime | None = _ts_or_none()
    removal_reason: str | None = Field(default=None, max_length=500)
    # whom it names, for the office's officers (revision 0014; null on older entries)
    name: str | None = Field(default=None, max_length=100)
    id_number_masked: str | None = Field(default=None, max_length=40)


class RestrictionChange(IssuerModel, table=True):
    """The restricted list's change log; ``seq`` is the verifiers' cursor (gapless)."""

    __tablename__ = "restriction_change"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    restriction_id: int = Field(foreign_key="restriction.id", index=True)
    op: str = Field(max_length=8)  # add | remove
    at: dt.datetime = _ts()


class RestrictionDocument(IssuerModel, table=True):
    """revision 0012: the verifiers' restricted-list documents as the publication job
    signed them (``issuer.lifecycle.restriction_publication``), served as stored: ``name``
    ``snapshot``, or ``after:<n>`` for the page that answers ``changes?after=<n>`` (one
    change, or none at the head); ``cursor`` and ``iat`` are the document's own."""

    __tablename__ = "restriction_document"

    name: str = Field(primary_key=True, max_length=20)
    cursor: int
    iat: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    token: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    published_at: dt.datetime = _ts()


class NationalOutbox(IssuerModel, table=True):
    """An entry or removal of this office's list waiting to reach the registry (revision
    0007): queued in the transaction that records it, marked sent when the registry
    answered; sent in ``id`` order."""

    __tablename__ = "national_outbox"

    id: int | None = Field(default=None, primary_key=True)
    restriction_id: int = Field(foreign_key="restriction.id", index=True)
    op: str = Field(max_length=8)  # add | remove
    queued_at: dt.datetime = _ts()
    sent_at: dt.datetime | None = _ts_or_none()
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)


class NationalRestriction(IssuerModel, table=True):
    """An entry of the national list as pulled from the registry (revision 0007)."""

    __tablename__ = "national_restriction"

    ref: str = Field(primary_key=True, max_length=320)  # <office id>#<office's entry id>
    office: str = Field(max_length=200)
    person_ref: str = Field(max_length=64, index=True)
    category: str = Field(max_length=16)
    decision_date: dt.date
    bar_until: dt.date | None = None
    received_at: dt.datetime = _ts()
    removed_at: dt.datetime | None = _ts_or_none()


class NationalSync(IssuerModel, table=True):
    """The national list's cursor here and the last pull's outcome (one row, revision
    0007)."""

    __tablename__ = "national_sync"

    name: str = Field(primary_key=True, max_length=32)
    cursor: int | None = Field(default=None, sa_type=sa.BigInteger)
    last_success: dt.datetime | None = _ts_or_none()
    last_error: str | None = Field(default=None, max_length=500)


class Event(IssuerModel, table=True):
    """The event feed for the teacher MIS; ``seq`` is gapless and commits in order."""

    __tablename__ = "event"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: dt.datetime = _ts()
    type: str = Field(max_length=32)
    office_id: str = Field(max_length=200)
    certificate_number: str | None = Field(default=None, max_length=17, index=True)
    version: int | None = None
    data_json: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class EventHead(IssuerModel, table=True):
    """Single-row counters (event and restriction-change sequences) locked by writers."""

    __tablename__ = "event_head"

    name: str = Field(primary_key=True, max_length=32)
    seq: int = 0


class Batch(IssuerModel, table=True):
    """A batch issuance; the same file re-run for the same office resumes this row."""

    __tablename__ = "batch"
    __table_args__ = (
        sa.UniqueConstraint("office_id", "file_sha256", name="uq_batch_office_id_file_sha256"),
    )

    id: int | None = Field(default=None, primary_key=True)
    office_id: str = Field(max_length=200)
    filename: str = Field(max_length=300)
    file_sha256: str = Field(max_length=64)
    state: str = Field(max_length=16)  # validating | issuing | done | failed
    total_rows: int = 0
    valid_rows: int = 0
    error_rows: int = 0
    issued_rows: int = 0
    errors_json: str = Field(default="[]", sa_column=sa.Column(sa.Text, nullable=False))
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = _ts()
    finished_at: dt.datetime | None = _ts_or_none()
    # revision 0011: the current run of issuing (the progress figures' baseline)
    run_started_at: dt.datetime | None = _ts_or_none()
    run_started_rows: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    # revision 0016: opened with a zip of photos (every issued row carries its photo)
    with_photos: bool = Field(
        default=False,
        sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()),
    )


class BatchPhoto(IssuerModel, table=True):
    """Revision 0016: a valid row's normalised photo, kept from the batch's opening until
    the row is issued (then it is the certificate's, ``certificate_photo``)."""

    __tablename__ = "batch_photo"

    batch_id: int = Field(foreign_key="batch.id", primary_key=True)
    row_number: int = Field(primary_key=True)
    sha256: str = Field(max_length=64)
    jpeg: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))


class BatchItem(IssuerModel, table=True):
    """One issued row of a batch, written in the certificate's transaction (exactly once)."""

    __tablename__ = "batch_item"
    __table_args__ = (
        sa.UniqueConstraint("batch_id", "row_number", name="uq_batch_item_batch_id_row_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    row_number: int
    certificate_id: int = Field(foreign_key="certificate.id")


class AuditCheckpoint(IssuerModel, table=True):
    """A signed statement of the audit chain's head at a moment (detects a cut tail)."""

    __tablename__ = "audit_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    audit_seq: int
    audit_hash: str = Field(max_length=64)
    signed_jws: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    at: dt.datetime = _ts()
