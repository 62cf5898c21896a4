"""The issuer's tables (SQLModel). The Alembic revision in ``issuer/migrations`` creates
exactly these; a test compares the two.

Identity numbers: the clear number is not a column. ``id_number_hash`` is HMAC-SHA256
(key ``JIAOZI_ID_HMAC_KEY``) over ``<id_type>:<normalised number>`` for lookups,
``id_number_masked`` is what lists show; the full number exists only inside the signed
credential text (``credential_jws``), which the office must be able to hand back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

__all__ = [
    "METADATA",
    "AuditHead",
    "AuditRecord",
    "Certificate",
    "IdempotencyRecord",
    "SerialCounter",
    "StatusListRow",
]


# The issuer's own metadata (not SQLModel's global one, which the verifier may share), with
# a naming convention so the migration and the models name constraints identically.
METADATA = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class IssuerModel(SQLModel, registry=registry(metadata=METADATA)):
    """Base of the issuer's tables."""


def _ts() -> Any:
    return Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


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


class SerialCounter(IssuerModel, table=True):
    """Last serial used per office and certification year (contract section 2)."""

    __tablename__ = "serial_counter"

    office_id: str = Field(primary_key=True, max_length=200)
    year: int = Field(primary_key=True)
    last_serial: int = 0


class Certificate(IssuerModel, table=True):
    """One issued certificate version with both signed tokens."""

    __tablename__ = "certificate"
    __table_args__ = (
        sa.UniqueConstraint(
            "status_list_id", "status_idx", name="uq_certificate_status_list_id_status_idx"
        ),
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
