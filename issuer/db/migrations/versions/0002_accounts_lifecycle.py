"""Accounts and roles, lifecycle (maker-checker), restricted list, event feed, batches,
audit checkpoints; signing key, status reason and layout version on certificates; the
cached signed token on status lists.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("certificate") as t:
        t.add_column(sa.Column("kid", sa.String(64), nullable=True))
        t.add_column(sa.Column("status_reason", sa.String(64), nullable=True))
        t.add_column(sa.Column("status_changed_at", _TS, nullable=True))
        t.add_column(
            sa.Column("layout_version", sa.String(16), nullable=False, server_default="v1")
        )
        t.create_index("ix_certificate_kid", ["kid"])
    with op.batch_alter_table("status_list") as t:
        t.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        t.add_column(sa.Column("signed_revision", sa.Integer(), nullable=True))
        t.add_column(sa.Column("signed_token", sa.Text(), nullable=True))
        t.add_column(sa.Column("signed_at", _TS, nullable=True))

    op.create_table(
        "office",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("office_code", sa.String(3), nullable=False),
        sa.Column("maker_checker", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_office"),
    )
    op.create_table(
        "officer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(200), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_officer"),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], name="fk_officer_office_id_office"),
        sa.UniqueConstraint("username", name="uq_officer_username"),
    )
    op.create_index("ix_officer_office_id", "officer", ["office_id"])
    op.create_table(
        "service_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_service_client"),
        sa.UniqueConstraint("name", name="uq_service_client_name"),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_key"),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officer.id"], name="fk_api_key_officer_id_officer"
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["service_client.id"], name="fk_api_key_client_id_service_client"
        ),
        sa.UniqueConstraint("prefix", name="uq_api_key_prefix"),
    )
    op.create_index("ix_api_key_officer_id", "api_key", ["officer_id"])
    op.create_index("ix_api_key_client_id", "api_key", ["client_id"])
    op.create_table(
        "certificate_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("credential_jws", sa.Text(), nullable=False),
        sa.Column("qr_token", sa.Text(), nullable=False),
        sa.Column("superseded_at", _TS, nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_certificate_version"),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificate.id"],
            name="fk_certificate_version_certificate_id_certificate",
        ),
        sa.UniqueConstraint(
            "certificate_id", "version", name="uq_certificate_version_certificate_id_version"
        ),
    )
    op.create_index(
        "ix_certificate_version_certificate_id", "certificate_version", ["certificate_id"]
    )
    op.create_table(
        "pending_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", _TS, nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_pending_action"),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name="fk_pending_action_office_id_office"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["officer.id"], name="fk_pending_action_requested_by_officer"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["officer.id"], name="fk_pending_action_decided_by_officer"
        ),
    )
    op.create_index("ix_pending_action_office_id", "pending_action", ["office_id"])
    op.create_table(
        "restriction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_ref", sa.String(64), nullable=False),
        sa.Column("id_type", sa.String(32), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("bar_until", sa.Date(), nullable=True),
        sa.Column("deciding_office", sa.String(200), nullable=False),
        sa.Column("legal_basis", sa.String(500), nullable=False),
        sa.Column("affected_json", sa.Text(), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("removed_at", _TS, nullable=True),
        sa.Column("removal_reason", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_restriction"),
    )
    op.create_index("ix_restriction_person_ref", "restriction", ["person_ref"])
    op.create_table(
        "restriction_change",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("restriction_id", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_restriction_change"),
        sa.ForeignKeyConstraint(
            ["restriction_id"],
            ["restriction.id"],
            name="fk_restriction_change_restriction_id_restriction",
        ),
    )
    op.create_index(
        "ix_restriction_change_restriction_id", "restriction_change", ["restriction_id"]
    )
    op.create_table(
        "event",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("office_id", sa.String(200), nullable=False),
        sa.Column("certificate_number", sa.String(17), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("data_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_event"),
    )
    op.create_index("ix_event_certificate_number", "event", ["certificate_number"])
    op.create_table(
        "event_head",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_event_head"),
    )
    op.bulk_insert(
        sa.table("event_head", sa.column("name", sa.String), sa.column("seq", sa.Integer)),
        [{"name": "event", "seq": 0}, {"name": "restriction", "seq": 0}],
    )
    op.create_table(
        "batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(200), nullable=False),
        sa.Column("filename", sa.String(300), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("valid_rows", sa.Integer(), nullable=False),
        sa.Column("error_rows", sa.Integer(), nullable=False),
        sa.Column("issued_rows", sa.Integer(), nullable=False),
        sa.Column("errors_json", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_batch"),
        sa.UniqueConstraint("office_id", "file_sha256", name="uq_batch_office_id_file_sha256"),
    )
    op.create_table(
        "batch_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_batch_item"),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name="fk_batch_item_batch_id_batch"),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificate.id"], name="fk_batch_item_certificate_id_certificate"
        ),
        sa.UniqueConstraint("batch_id", "row_number", name="uq_batch_item_batch_id_row_number"),
    )
    op.create_index("ix_batch_item_batch_id", "batch_item", ["batch_id"])
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("audit_hash", sa.String(64), nullable=False),
        sa.Column("signed_jws", sa.Text(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_checkpoint"),
    )


def downgrade() -> None:
    for table in (
        "audit_checkpoint",
        "batch_item",
        "batch",
        "event_head",
        "event",
        "restriction_change",
        "restriction",
        "pending_action",
        "certificate_version",
        "api_key",
        "service_client",
        "officer",
        "office",
    ):
        op.drop_table(table)
    with op.batch_alter_table("status_list") as t:
        for col in ("signed_at", "signed_token", "signed_revision", "revision"):
            t.drop_column(col)
    with op.batch_alter_table("certificate") as t:
        t.drop_index("ix_certificate_kid")
        for col in ("layout_version", "status_changed_at", "status_reason", "kid"):
            t.drop_column(col)
