"""Alembic environment: runs on the connection ``issuer.db.engine.upgrade`` passes in, or on
``JIAOZI_DATABASE_URL`` when invoked from the alembic command line."""

from __future__ import annotations

from alembic import context

from issuer.db.models import METADATA

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from issuer.db.engine import make_engine
    from issuer.settings import IssuerSettings

    engine = make_engine(IssuerSettings().database_url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
