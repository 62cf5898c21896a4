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

from registry.db import VERSION_TABLE, include_name, metadata

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from registry.db import engine_for
    from registry.settings import RegistrySettings

    engine = engine_for(RegistrySettings().database_url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
