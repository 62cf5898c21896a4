"""Issuer core: status lists, serial counters, certificates, idempotency keys, audit chain.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "status_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(200), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(500), nullable=False),
        sa.Column("bits", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_status_list"),
        sa.UniqueConstraint("office_id", "ordinal", name="uq_status_list_office_id_ordinal"),
    )
    op.create_table(
        "serial_counter",
        sa.Column("office_id", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("office_id", "year", name="pk_serial_counter"),
    )
    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_number", sa.String(17), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("qualification_type", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("sex", sa.String(8), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("ethnicity", sa.String(40), nullable=True),
        sa.Column("id_type", sa.String(32), nullable=False),
        sa.Column("id_number_hash", sa.String(64), nullable=False),
        sa.Column("id_number_masked", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("certified_on", sa.Date(), nullable=False),
        sa.Column("elicence_id", sa.String(120), nullable=False),
        sa.Column("status_list_id", sa.Integer(), nullable=False),
        sa.Column("status_idx", sa.Integer(), nullable=False),
        sa.Column("credential_jws", sa.Text(), nullable=False),
        sa.Column("qr_token", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_certificate"),
        sa.ForeignKeyConstraint(
            ["status_list_id"],
            ["status_list.id"],
            name="fk_certificate_status_list_id_status_list",
        ),
        sa.UniqueConstraint("certificate_number", name="uq_certificate_certificate_number"),
        sa.UniqueConstraint(
            "status_list_id", "status_idx", name="uq_certificate_status_list_id_status_idx"
        ),
    )
    op.create_index("ix_certificate_id_number_hash", "certificate", ["id_number_hash"])
    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_json", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_idempotency_record"),
        sa.UniqueConstraint("principal", "key", name="uq_idempotency_record_principal_key"),
    )
    op.create_table(
        "audit_record",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("detail_json", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_record"),
        sa.UniqueConstraint("hash", name="uq_audit_record_hash"),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    # The chain starts from the all-zero hash; appends lock and advance this one row.
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_table("audit_record")
    op.drop_table("idempotency_record")
    op.drop_index("ix_certificate_id_number_hash", table_name="certificate")
    op.drop_table("certificate")
    op.drop_table("serial_counter")
    op.drop_table("status_list")
