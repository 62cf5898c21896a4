"""The registry's own tables (its own MetaData: it shares nothing with the issuer's or the
verifier's; the ``rg_`` prefix keeps them apart even in one PostgreSQL schema).

``rg_entry`` holds every entry an office sent, removed or not, with the office-signed
token as evidence; ``rg_change`` is the consolidated list's change log, whose ``seq`` (the
offices' cursor) is gapless and commits in order: every writer first locks the one
``rg_head`` row (SQLite: every transaction begins IMMEDIATE, taking the write lock).
The schema is versioned by Alembic (``registry/migrations``, version table
``rg_alembic_version``): ``make_engine`` upgrades it to head at start, one process at a
time; revision 0001 is the schema ``create_all`` made before, and adopts such a database.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url

from keys import create_private_file
from ops.migrations import Migrations

__all__ = [
    "SCHEMA_MIGRATIONS",
    "VERSION_TABLE",
    "SchemaError",
    "accounts",
    "admission_audit",
    "alembic_config",
    "changes",
    "engine_for",
    "entries",
    "feed_clients",
    "feed_events",
    "feed_offices",
    "head",
    "make_engine",
    "metadata",
    "migration_state",
    "rate_counters",
    "restores",
    "schema_diff",
    "upgrade",
]

VERSION_TABLE = "rg_alembic_version"  # not alembic_version: that is the issuer's
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)
metadata = sa.MetaData()
_TS = sa.DateTime(timezone=True)

entries = sa.Table(
    "rg_entry",
    metadata,
    sa.Column("ref", sa.String(320), primary_key=True),  # <office id>#<office's id>
    sa.Column("office", sa.String(200), nullable=False),
    sa.Column("person_ref", sa.String(64), nullable=False, index=True),
    sa.Column("category", sa.String(16), nullable=False),
    sa.Column("decision_date", sa.Date, nullable=False),
    sa.Column("bar_until", sa.Date),
    sa.Column("added_seq", sa.BigInteger, nullable=False),
    sa.Column("removed_seq", sa.BigInteger),
    sa.Column("received_at", _TS, nullable=False),
    sa.Column("token", sa.Text, nullable=False),  # the office-signed entry, as received
    sa.Column("removal_token", sa.Text),
)

changes = sa.Table(
    "rg_change",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ref", sa.String(320), sa.ForeignKey("rg_entry.ref"), nullable=False),
    sa.Column("op", sa.String(8), nullable=False),  # add | remove
    sa.Column("at", _TS, nullable=False),
)

head = sa.Table(
    "rg_head",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
)

# The consolidated list's snapshot as last signed (registry.store.published_snapshot): the
# head it was made at, the key and time it was signed with; served again while the head
# stands, so an office's start costs a read, not a signature over every entry.
published = sa.Table(
    "rg_published",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("cursor", sa.BigInteger, nullable=False),
    sa.Column("kid", sa.String(64), nullable=False),
    sa.Column("iat", sa.BigInteger, nullable=False),
    sa.Column("token", sa.Text, nullable=False),
)

# The national feed (issue 12 point 7, registry/feed.py): its seq takes the "feed" head
# row, so it is gapless and commits in order as the list's changes.
feed_events = sa.Table(
    "rg_feed_event",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("office", sa.String(200), nullable=False),
    sa.Column("office_seq", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the chained event, canonical JSON
    sa.Column("hash", sa.String(64), nullable=False),
    # the identity number sealed under JIAOZI_REGISTRY_DATA_KEY (AES-GCM, bound to seq)
    sa.Column("identity_sealed", sa.Text, nullable=False),
    sa.Column("salt", sa.String(32), nullable=False),
    sa.Column("received_at", _TS, nullable=False),
    sa.UniqueConstraint("office", "office_seq"),
)

feed_offices = sa.Table(  # each office's last event received, and its signed batches' cursor
    "rg_feed_office",
    metadata,
    sa.Column("office", sa.String(200), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)

feed_clients = sa.Table(
    "rg_feed_client",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("identity", sa.Boolean, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("disabled_at", _TS),
)

# Each restore of this database from a backup (registry.restore, revision 0002): where the
# list and the feed stood in the archive (``*_from``, the feed's hash there) and the floor
# each continues above. Seqs handed out before the restore are all below the floors, so a
# cursor below the list's floor is refused (the office reads a snapshot) and a follower
# crosses the feed's jump from ``feed_from`` to ``feed_floor + 1`` knowingly.
restores = sa.Table(
    "rg_restore",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("restored_at", _TS, nullable=False),
    sa.Column("archive", sa.String(300), nullable=False),
    sa.Column("list_from", sa.BigInteger, nullable=False),
    sa.Column("list_floor", sa.BigInteger, nullable=False),
    sa.Column("feed_from", sa.BigInteger, nullable=False),
    sa.Column("feed_hash", sa.String(64), nullable=False),
    sa.Column("feed_floor", sa.BigInteger, nullable=False),
)

# Admission checks (registry/admission.py): school and employer accounts, their API keys
# stored as SHA-256 of the 256-bit secret, and a fixed-window counter per account.
accounts = sa.Table(
    "rg_account",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # employer | school
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("key_prefix", sa.String(12), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

rate_counters = sa.Table(
    "rg_rate_counter",
    metadata,
    sa.Column("bucket", sa.String(200), primary_key=True),
    sa.Column("window", sa.BigInteger, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

# Who asked, when, with what consent, what was answered, and about whom only as a masked
# number and ``subject_tag``: HMAC-SHA256 under the registry's own audit key (which never
# leaves the registry), never the person_ref the offices' shared key makes.
admission_audit = sa.Table(
    "rg_admission_audit",
    metadata,
    sa.Column("query_id", sa.String(32), primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("rg_account.id"), nullable=False),
    sa.Column("at", _TS, nullable=False, index=True),
    sa.Column("id_type", sa.String(32), nullable=False),
    sa.Column("subject_tag", sa.String(64), nullable=False, index=True),
    sa.Column("id_masked", sa.String(40), nullable=False),
    sa.Column("consent_reference", sa.String(200), nullable=False),
    sa.Column("restricted", sa.Boolean, nullable=False),
    sa.Column("data_as_of", _TS, nullable=False),
)


# "jz_rg": serialises migrations across processes (advisory locks are per database).
_PG_LOCK_ID = 0x6A7A5F7267


class SchemaError(RuntimeError):
    """The database's schema is not the one this registry runs on."""


def engine_for(url: str, **kw: Any) -> Engine:
    """Return an engine for ``url`` (a new SQLite file is made 0600 first), its schema
    untouched: ``make_engine`` is the one the service and commands use."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kw.setdefault("pool_pre_ping", True)
        return sa.create_engine(parsed, **kw)
    if parsed.database and parsed.database != ":memory:":
        create_private_file(Path(parsed.database))
    engine = sa.create_engine(
        parsed, connect_args={"check_same_thread": False, "timeout": 30}, **kw
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers serialise here, so a change's seq is taken and committed in order.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# The Alembic machinery the registry shares (ops.migrations); the names below are this
# module's surface, as before.
SCHEMA_MIGRATIONS = Migrations(
    service="registry",
    directory=MIGRATIONS,
    version_table=VERSION_TABLE,
    prefix="rg_",
    metadata=metadata,
    lock_id=_PG_LOCK_ID,
    error=SchemaError,
    adopt_hint="bring them to this version's by hand, or restore a backup made by it",
    sqlite_begin=sa.Connection.begin,  # the engine's begin event says BEGIN IMMEDIATE
    log=log,
)


def alembic_config() -> Config:
    """Return the Alembic configuration of the registry's migrations (no ini file)."""
    return SCHEMA_MIGRATIONS.config()


def migration_state(engine: Engine) -> tuple[str | None, str]:
    """Return the database's revision (None: never migrated) and this code's head."""
    return SCHEMA_MIGRATIONS.state(engine)


def schema_diff(conn: sa.Connection) -> list[Any]:
    """Return Alembic's differences between ``conn``'s ``rg_`` tables and ``metadata``
    (empty: they match)."""
    return SCHEMA_MIGRATIONS.diff(conn)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade the registry's schema on ``engine`` to ``revision`` (``ops.Migrations.upgrade``:
    one transaction, serialised with any other process; a database made by ``create_all``
    before migrations is adopted by revision 0001 and checked against ``metadata``).

    Returns the revisions before and after. Raises ``SchemaError``, nothing kept, when an
    adopted database's tables differ from what this code expects.
    """
    return SCHEMA_MIGRATIONS.upgrade(engine, revision)


def make_engine(url: str, *, migrate: bool = True, **kw: Any) -> Engine:
    """Return an engine for ``url`` whose schema is at head: upgraded first when
    ``migrate`` (the setting ``JIAOZI_AUTO_MIGRATE``), else checked; the list's and the
    feed's head rows are made when missing.

    Raises ``SchemaError`` when the schema is not at head and ``migrate`` is off (the
    message names ``jiaozi registry migrate``), or as ``upgrade`` does.
    """
    engine = engine_for(url, **kw)
    try:
        if migrate:
            upgrade(engine)
        else:
            current, now_head = migration_state(engine)
            if current != now_head:
                raise SchemaError(
                    f"the registry's database is at revision {current or 'none'}, this "
                    f"version needs {now_head}: run `jiaozi registry migrate` "
                    "(or start with JIAOZI_AUTO_MIGRATE=true)"
                )
        for name in ("list", "feed"):
            with engine.begin() as conn:
                if conn.execute(sa.select(head.c.seq).where(head.c.name == name)).first() is None:
                    try:
                        with conn.begin_nested():
                            conn.execute(head.insert().values(name=name, seq=0))
                    except sa.exc.IntegrityError:  # another replica made it first
                        pass
    except BaseException:
        engine.dispose()
        raise
    return engine
