"""Indexes for finding a certificate (issue 13 point 3, ``issuer.search``): an office's
certificates newest first, by status, by name and birth date; a certificate's audit
trail; the requests about one certificate.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_certificate_office_issued", "certificate", ["office_id", "created_at", "id"]),
    ("ix_certificate_office_status", "certificate", ["office_id", "status", "created_at", "id"]),
    ("ix_certificate_office_name", "certificate", ["office_id", "name", "birth_date"]),
    ("ix_audit_record_subject", "audit_record", ["subject", "id"]),
    ("ix_pending_action_target", "pending_action", ["target"]),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
