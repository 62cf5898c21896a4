"""Alembic environment of the registry's tables: runs on the connection
``registry.db.upgrade`` passes in (which holds the migration lock), or on the registry's
database URL (``JIAOZI_REGISTRY_DATABASE_URL``, else ``JIAOZI_DATABASE_URL``) when invoked
from the alembic command line.

Its version table is ``rg_alembic_version`` and it sees only ``rg_`` tables, so that the
issuer (``alembic_version``) and the verifier (``vf_alembic_version``) can share one
PostgreSQL schema with it: neither's autogenerate proposes dropping the others' tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

from registry.db import SCHEMA_MIGRATIONS


def _engine() -> Engine:
    from registry.db import engine_for
    from registry.settings import RegistrySettings

    return engine_for(RegistrySettings().database_url)


SCHEMA_MIGRATIONS.run_environment(context, _engine)
