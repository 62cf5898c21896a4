"""One service's Alembic migrations, run the same way by the verifier and the registry
(the issuer's predate this and keep their own, ``issuer.db.engine``).

Each service keeps its revisions in its own package with its own version table and
table prefix, so the three can share one PostgreSQL schema. ``upgrade`` runs them in one
transaction, serialised with any other process doing the same (a PostgreSQL advisory
lock held to the commit; on SQLite the database write lock), and adopts a database that
``create_all`` made before migrations: revision 0001 records it, then its tables are
compared with the code's and the whole upgrade is undone if they differ.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

__all__ = ["Migrations"]

log = logging.getLogger("jiaozi.ops.migrations")


def _begin_immediate(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass(frozen=True)
class Migrations:
    """A service's migrations: ``service`` names it in messages, ``directory`` holds its
    ``env.py`` and revisions, ``prefix`` marks its tables (``vf_``, ``rg_``)."""

    service: str
    directory: Path
    version_table: str
    prefix: str
    metadata: sa.MetaData
    lock_id: int
    error: type[Exception]  # the service's own SchemaError
    adopt_hint: str  # what an operator does when an adopted database differs
    # How a SQLite connection takes the write lock first: by default BEGIN IMMEDIATE;
    # an engine whose "begin" event already says it passes ``sa.Connection.begin``.
    sqlite_begin: Callable[[sa.Connection], Any] = _begin_immediate
    log: logging.Logger = log  # the service's own logger, for the adoption line

    def include_name(self, name: str | None, type_: str, parent_names: Any) -> bool:
        """Return whether Alembic considers ``name``: of tables, only this service's
        (another service's tables in a shared schema are not ours to drop)."""
        del parent_names
        return type_ != "table" or (name or "").startswith(self.prefix)

    def config(self) -> Config:
        """Return the Alembic configuration of these migrations (no ini file)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(self.directory))
        return cfg

    def revision(self, conn: sa.Connection) -> str | None:
        """Return the database's revision, None when it was never migrated."""
        ctx = MigrationContext.configure(conn, opts={"version_table": self.version_table})
        return ctx.get_current_revision()

    def state(self, engine: Engine) -> tuple[str | None, str]:
        """Return the database's revision (None: never migrated) and this code's head."""
        head = ScriptDirectory.from_config(self.config()).get_current_head()
        assert head is not None  # the package ships its revisions
        with engine.connect() as conn:
            return self.revision(conn), head

    def diff(self, conn: sa.Connection) -> list[Any]:
        """Return Alembic's differences between ``conn``'s tables of this service and the
        metadata (empty: they match)."""
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": self.include_name,
                "version_table": self.version_table,
            },
        )
        return list(compare_metadata(ctx, self.metadata))

    def run_environment(self, context: Any, engine_from_settings: Callable[[], Engine]) -> None:
        """Run the revisions, from the service's ``env.py`` (``context`` is Alembic's): on
        the connection ``upgrade`` passes in (which holds the migration lock), or, from the
        alembic command line, on an engine for the service's settings."""

        def run(connection: sa.Connection) -> None:
            context.configure(
                connection=connection,
                target_metadata=self.metadata,
                version_table=self.version_table,
                include_name=self.include_name,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()

        connection = context.config.attributes.get("connection")
        if connection is not None:
            run(connection)
            return
        with engine_from_settings().connect() as conn:
            run(conn)
            conn.commit()

    def upgrade(self, engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
        """Upgrade the schema on ``engine`` to ``revision`` in one transaction, serialised
        with any other process doing the same.

        Returns the revisions before and after. Raises ``self.error``, nothing kept, when
        an adopted ``create_all`` database's tables differ from what this code expects.
        """
        cfg = self.config()
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                self.sqlite_begin(conn)
            elif conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": self.lock_id})
            before = self.revision(conn)
            adopted = before is None and any(
                self.include_name(t, "table", {}) for t in sa.inspect(conn).get_table_names()
            )
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            after = self.revision(conn)
            if adopted:
                diff = self.diff(conn) if revision == "head" else []
                if diff:
                    raise self.error(
                        f"the {self.service}'s database was made before migrations and its "
                        f"tables differ from this version's ({_describe(diff)}): nothing was "
                        f"changed; {self.adopt_hint}"
                    )
                self.log.warning(
                    "%s database made before migrations: recorded at %s", self.service, after
                )
            conn.commit()
        return before, after


def _describe(diff: list[Any]) -> str:
    said = []
    for item in diff:
        first = item[0] if isinstance(item, list) else item
        names = [getattr(x, "name", x) for x in first[1:4] if x is not None]
        said.append(" ".join([first[0], *(str(n) for n in names if isinstance(n, str))]))
    return "; ".join(said)
