"""Alembic environment of the verifier's tables: runs on the connection
``verifier.db.upgrade`` passes in (which holds the migration lock), or on
``JIAOZI_DATABASE_URL`` when invoked from the alembic command line.

Its version table is ``vf_alembic_version`` and it sees only ``vf_`` tables, so that the
issuer (``alembic_version``) and the registry (``rg_alembic_version``) can share one
PostgreSQL schema with it: neither's autogenerate proposes dropping the others' tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

from verifier.db import SCHEMA_MIGRATIONS


def _engine() -> Engine:
    from verifier.db import engine_for
    from verifier.settings import VerifierSettings

    return engine_for(VerifierSettings().database_url)


SCHEMA_MIGRATIONS.run_environment(context, _engine)
