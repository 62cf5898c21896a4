"""The issuer's table base: its own metadata (with the constraint naming convention the
migrations share) and the time columns every table uses. ``issuer.db.models`` re-exports
what the rest of the issuer needs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from issuer.db.types import UtcDateTime

__all__ = ["METADATA", "IssuerModel"]


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
    """A time that every row has: UTC in, aware UTC out (``issuer.db.types``)."""
    return Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


def _ts_or_none() -> Any:
    """A time a row may not have (yet)."""
    return Field(default=None, sa_column=sa.Column(UtcDateTime(), nullable=True))
