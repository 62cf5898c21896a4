"""One certificate per person and qualification: a partial unique index over
(id_number_hash, qualification_type, subject) of the valid and suspended certificates.

A database that already holds such duplicates is refused with the certificate numbers
of each group: the office decides which to revoke (``jiaozi`` revoke, reason of its
choosing), then runs the upgrade again. Nothing is changed before that.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_INDEX = "uq_certificate_person_qualification"
_WHERE = "status IN ('valid', 'suspended')"


class DuplicateCertificates(RuntimeError):
    """The database holds two valid or suspended certificates of one person and qualification."""


def _duplicates(bind: sa.Connection) -> list[list[str]]:
    rows = bind.execute(
        sa.text(
            "SELECT id_number_hash, qualification_type, subject, certificate_number "
            "FROM certificate WHERE status IN ('valid', 'suspended') "
            "ORDER BY id_number_hash, qualification_type, subject, certificate_number"
        )
    )
    groups: dict[tuple[str, int, str], list[str]] = {}
    for hashed, qt, subject, number in rows:
        groups.setdefault((hashed, qt, subject), []).append(number)
    return [numbers for numbers in groups.values() if len(numbers) > 1]


def upgrade() -> None:
    duplicates = _duplicates(op.get_bind())
    if duplicates:
        shown = "; ".join(", ".join(g) for g in duplicates[:20])
        more = f" (and {len(duplicates) - 20} more groups)" if len(duplicates) > 20 else ""
        raise DuplicateCertificates(
            f"cannot add {_INDEX}: {len(duplicates)} person(s) hold more than one valid or "
            f"suspended certificate of the same qualification type and subject: {shown}{more}. "
            "Revoke the surplus certificate of each group, then upgrade again."
        )
    op.create_index(
        _INDEX,
        "certificate",
        ["id_number_hash", "qualification_type", "subject"],
        unique=True,
        sqlite_where=sa.text(_WHERE),
        postgresql_where=sa.text(_WHERE),
    )


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="certificate")
