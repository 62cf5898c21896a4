"""Alembic environment: runs on the connection ``issuer.db.engine.upgrade`` passes in, or on
``JIAOZI_DATABASE_URL`` when invoked from the alembic command line."""

from __future__ import annotations

from alembic import context

from issuer.db.models import METADATA

config = context.config


def _issuer_tables(name, type_, parent_names) -> bool:  # type: ignore[no-untyped-def]
    # The verifier's (vf_) and the registry's (rg_) tables may share the schema: they have
    # their own migrations, and autogenerate must not propose dropping them.
    return type_ != "table" or not (name or "").startswith(("vf_", "rg_"))


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_issuer_tables,
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
