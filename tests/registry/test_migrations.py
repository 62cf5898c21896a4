"""The registry's schema under Alembic (issue 14 point 4): the migrated schema is the
metadata's, on SQLite and PostgreSQL; a database made by ``create_all`` before migrations
is adopted with its data, and one whose tables differ (the feed's identity numbers in
clear, before they were sealed) is refused untouched; processes migrating one database at
once both end well; ``jiaozi registry migrate`` runs and inspects it; the three services
share one PostgreSQL database, each with its own version table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner

from registry import db
from registry.cli import registry_group
from tests.factory.migrations import (
    any_database,
    finish,
    migrate_together_on_postgres,
    postgres_database,
    start_migrators,
    stop,
)

T = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    with any_database(request.param, "registry", tmp_path) as made:
        yield made


def _tables(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def _diff(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        return db.schema_diff(conn)


def test_the_migrated_schema_is_the_metadata_and_downgrades_to_nothing(url: str) -> None:
    engine = db.make_engine(url)
    try:
        assert _diff(engine) == []
        assert db.migration_state(engine) == ("0002", "0002")
        assert _tables(engine) == set(db.metadata.tables) | {"rg_alembic_version"}
        assert db.upgrade(engine) == ("0002", "0002")  # at head: nothing to do
        with engine.connect() as conn:
            heads = {n: s for n, s in conn.execute(sa.select(db.head.c.name, db.head.c.seq))}
        assert heads == {"list": 0, "feed": 0}

        cfg = db.alembic_config()
        with engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
            conn.commit()
        assert _tables(engine) <= {"rg_alembic_version"}
        assert db.upgrade(engine) == (None, "0002")
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_a_create_all_database_is_adopted_with_its_data(url: str) -> None:
    old = sa.create_engine(url)
    with old.begin() as conn:  # what make_engine did before migrations
        db.metadata.create_all(conn)
        conn.execute(db.head.insert(), [{"name": "list", "seq": 1}, {"name": "feed", "seq": 0}])
        conn.execute(
            db.entries.insert().values(
                ref="11001#1", office="11001", person_ref="p" * 64, category="lost",
                decision_date=T.date(), added_seq=1, received_at=T, token="a.b.c",
            )
        )  # fmt: skip
        conn.execute(db.changes.insert().values(seq=1, ref="11001#1", op="add", at=T))
    old.dispose()

    engine = db.make_engine(url)
    try:
        assert db.migration_state(engine) == ("0002", "0002")
        assert _diff(engine) == []
        with engine.connect() as conn:
            heads = {n: s for n, s in conn.execute(sa.select(db.head.c.name, db.head.c.seq))}
            changes = conn.execute(sa.select(db.changes.c.seq, db.changes.c.ref)).all()
        assert heads == {"list": 1, "feed": 0}
        assert [tuple(c) for c in changes] == [(1, "11001#1")]
    finally:
        engine.dispose()


def test_an_old_database_whose_tables_differ_is_refused_untouched(url: str) -> None:
    old = sa.create_engine(url)
    with old.begin() as conn:  # the feed as first made: identity numbers in clear
        db.metadata.create_all(conn)
        conn.exec_driver_sql("DROP TABLE rg_feed_event")
        conn.exec_driver_sql(
            "CREATE TABLE rg_feed_event (seq BIGINT PRIMARY KEY, office VARCHAR(200) NOT NULL, "
            "office_seq BIGINT NOT NULL, body TEXT NOT NULL, hash VARCHAR(64) NOT NULL, "
            "identity_number VARCHAR(40) NOT NULL, salt VARCHAR(32) NOT NULL, "
            "received_at TIMESTAMP WITH TIME ZONE NOT NULL, UNIQUE (office, office_seq))"
        )
    old.dispose()
    with pytest.raises(db.SchemaError, match="add_column rg_feed_event identity_sealed") as info:
        db.make_engine(url)
    assert "remove_column rg_feed_event identity_number" in str(info.value)
    bare = sa.create_engine(url)
    try:
        with bare.connect() as conn:
            inspector = sa.inspect(conn)
            assert "rg_alembic_version" not in inspector.get_table_names()
            columns = {c["name"] for c in inspector.get_columns("rg_feed_event")}
            assert "identity_number" in columns and "identity_sealed" not in columns
            assert conn.execute(sa.select(db.head)).all() == []  # no head row either
    finally:
        bare.dispose()


def test_without_auto_migrate_a_database_behind_is_refused_naming_the_command(
    url: str,
) -> None:
    with pytest.raises(db.SchemaError, match="jiaozi registry migrate"):
        db.make_engine(url, migrate=False)
    bare = db.engine_for(url)
    try:
        assert _tables(bare) == set()  # nothing made
        db.upgrade(bare)
    finally:
        bare.dispose()
    db.make_engine(url, migrate=False).dispose()  # at head: starts


def test_two_processes_migrating_one_postgresql_database_at_once_both_end_well() -> None:
    with postgres_database("registry") as url:
        results = migrate_together_on_postgres("registry.db", url, db._PG_LOCK_ID)
        assert [(code, out.split()) for code, out, _ in results] == [
            (0, ["ready", "done", "0002"])
        ] * 2, results
        engine = db.engine_for(url)
        try:
            assert _diff(engine) == []
            with engine.connect() as conn:
                versions = conn.exec_driver_sql("SELECT version_num FROM rg_alembic_version")
                assert versions.scalars().all() == ["0002"]
                names = conn.execute(sa.select(db.head.c.name)).scalars().all()
            assert sorted(names) == ["feed", "list"]
        finally:
            engine.dispose()


def test_two_processes_migrating_one_sqlite_file_at_once_both_end_well(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    procs = start_migrators("registry.db", url)
    try:
        results = finish(procs)
    finally:
        stop(procs)
    assert [(code, out.split()) for code, out, _ in results] == [
        (0, ["ready", "done", "0002"])
    ] * 2, results
    engine = db.engine_for(url)
    try:
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_the_migrate_command_inspects_and_upgrades(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIAOZI_REGISTRY_DATABASE_URL", f"sqlite:///{tmp_path / 'registry.db'}")
    runner = CliRunner()
    behind = runner.invoke(registry_group, ["migrate", "--check"])
    assert (behind.exit_code, behind.output) == (
        1,
        "registry database at none, head 0002 (behind: run `jiaozi registry migrate`)\n",
    )
    done = runner.invoke(registry_group, ["migrate"])
    assert (done.exit_code, done.output) == (0, "registry database upgraded from none to 0002\n")
    again = runner.invoke(registry_group, ["migrate"])
    assert (again.exit_code, again.output) == (0, "registry database already at 0002\n")
    current = runner.invoke(registry_group, ["migrate", "--check"])
    assert (current.exit_code, current.output) == (
        0,
        "registry database at 0002, head 0002 (current)\n",
    )


def test_the_three_services_share_one_postgresql_database() -> None:
    from issuer.db.engine import make_engine as issuer_engine
    from issuer.db.engine import upgrade as issuer_upgrade
    from issuer.db.models import METADATA as ISSUER_METADATA
    from verifier import db as vdb

    with postgres_database("shared") as url:
        engines = [issuer_engine(url), vdb.make_engine(url), db.make_engine(url)]
        try:
            issuer_upgrade(engines[0])  # after the others: it must not trip over theirs
            with engines[0].connect() as conn:
                tables = set(sa.inspect(conn).get_table_names())
                versions = {
                    t: conn.exec_driver_sql(f"SELECT version_num FROM {t}").scalar_one()
                    for t in ("vf_alembic_version", "rg_alembic_version")
                }
                assert vdb.schema_diff(conn) == [] and db.schema_diff(conn) == []
                issuer_only = MigrationContext.configure(
                    conn,
                    opts={
                        "compare_type": True,
                        "include_name": lambda name, type_, _: (
                            type_ != "table" or not (name or "").startswith(("vf_", "rg_"))
                        ),
                    },
                )
                assert compare_metadata(issuer_only, ISSUER_METADATA) == []
            assert versions == {"vf_alembic_version": "0001", "rg_alembic_version": "0002"}
            assert {"alembic_version", "certificate", "vf_document", "rg_entry"} <= tables
        finally:
            for engine in engines:
                engine.dispose()


def test_commands_without_auto_migrate_refuse_a_schema_behind_in_one_line(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIAOZI_REGISTRY_DATABASE_URL", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("JIAOZI_AUTO_MIGRATE", "false")
    refused = CliRunner().invoke(registry_group, ["feed-client", "mis-test"])
    assert refused.exit_code == 1
    assert refused.output == (
        "Error: the registry's database is at revision none, this version needs 0002: run "
        "`jiaozi registry migrate` (or start with JIAOZI_AUTO_MIGRATE=true)\n"
    )
    assert CliRunner().invoke(registry_group, ["migrate"]).exit_code == 0
    made = CliRunner().invoke(registry_group, ["feed-client", "mis-test"])
    assert made.exit_code == 0 and made.output.strip()  # the client's key, shown once
