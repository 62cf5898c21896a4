"""The answers of a search and of a certificate's record (pydantic; no FastAPI imports).

No clear identity number is in any of them: ``id_number_masked`` is the one form shown
(contract section 2), and audit details lose the keyed hashes of the person.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AuditEntry",
    "BatchRow",
    "CertificateRecord",
    "CertificateSummary",
    "Page",
    "StatusChange",
    "VersionRow",
]


class CertificateSummary(BaseModel):
    """One certificate as a result list shows it."""

    certificate_number: str
    version: int
    name: str
    sex: str
    birth_date: str
    id_type: str
    id_number_masked: str
    qualification_type: str
    subject: str
    certified_on: str
    status: str
    status_reason: str | None
    issued_at: str


class Page(BaseModel):
    """One page of results: newest first; a number search by number, highest first; a
    batch's certificates in the batch file's row order.

    ``next_cursor`` asks for the page after this one (None: this is the last). There is
    no total: counting every match of a broad search costs as much as reading them.
    """

    items: list[CertificateSummary]
    next_cursor: str | None = Field(description="pass as cursor= for the next page")
    limit: int


class StatusChange(BaseModel):
    """One step of a certificate's status history, from its audit record."""

    seq: int = Field(description="the audit record's sequence number")
    at: str
    change: str = Field(
        description="issued, suspended, reinstated, revoked, replaced, corrected or reissued"
    )
    from_status: str | None
    to_status: str
    version: int | None
    reason_code: str | None
    decision_date: str | None
    legal_basis: str | None
    by: str = Field(description="who made it take effect (the approver of a request)")
    requested_by: str | None = Field(description="who requested it, when it was approved")
    approval_id: int | None = Field(description="the pending action that was approved")


class AuditEntry(BaseModel):
    """One audit record about the certificate (its number, or a decision on its request)."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class VersionRow(BaseModel):
    """A superseded version of the certificate."""

    version: int
    kid: str
    superseded_at: str
    reason: str


class BatchRow(BaseModel):
    """The batch row the certificate was issued from."""

    batch_id: int
    row_number: int
    filename: str


class CertificateRecord(BaseModel):
    """Everything the office knows about one certificate, for its page."""

    certificate_number: str
    version: int
    elicence_id: str
    status: str
    status_reason: str | None
    status_changed_at: str | None
    name: str
    sex: str
    birth_date: str
    ethnicity: str | None
    id_type: str
    id_number_masked: str
    qualification_type: str
    qualification_name: str
    subject: str
    certified_on: str
    issued_at: str
    kid: str | None
    layout_version: str
    status_list: dict[str, Any] = Field(description="uri and idx of the status entry")
    batch: BatchRow | None
    previous_versions: list[VersionRow]
    pending_requests: list[dict[str, Any]] = Field(
        description="requests about it still awaiting a second supervisor"
    )
    status_history: list[StatusChange]
    audit_trail: list[AuditEntry] = Field(description="oldest first")
    audit_trail_truncated: bool = Field(
        description="more than TRAIL_MAX records: only the newest are listed"
    )
