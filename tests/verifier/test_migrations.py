"""The verifier's schema under Alembic (issue 14 point 4): the migrated schema is the
metadata's, on SQLite and PostgreSQL; a database made by ``create_all`` before migrations
is adopted with its data (a schema 1 one loses its person data first) and one whose tables
differ is refused untouched; replicas migrating one database at once both end well;
``jiaozi verifier migrate`` runs and inspects it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner

from tests.factory.migrations import (
    any_database,
    finish,
    migrate_together_on_postgres,
    postgres_database,
    start_migrators,
    stop,
)
from verifier import db
from verifier.commands import verifier_group

T = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    with any_database(request.param, "verifier", tmp_path) as made:
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
        current, head = db.migration_state(engine)
        assert current == head == "0001"
        assert _tables(engine) == set(db.metadata.tables) | {"vf_alembic_version"}
        assert db.upgrade(engine) == ("0001", "0001")  # at head: nothing to do
        with engine.connect() as conn:
            meta = {n: v for n, v in conn.execute(sa.select(db.meta.c.name, db.meta.c.value))}
        assert meta == {"schema_version": 2, "generation": 0, "write_lock": 0}

        cfg = db.alembic_config()
        with engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
            conn.commit()
        assert _tables(engine) <= {"vf_alembic_version"}
        assert db.upgrade(engine) == (None, "0001")
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_a_create_all_database_is_adopted_at_0001_with_its_data(url: str) -> None:
    old = sa.create_engine(url)
    with old.begin() as conn:  # what make_engine did before migrations
        db.metadata.create_all(conn)
        conn.execute(
            db.meta.insert(),
            [
                {"name": "schema_version", "value": 2},
                {"name": "generation", "value": 41},
                {"name": "write_lock", "value": 9},
            ],
        )
        conn.execute(
            db.documents.insert().values(
                kind="trust", key="", token="a.b.c", version=7, fetched_at=T, checked_at=T
            )
        )
        conn.execute(
            db.restriction_numbers.insert().values(
                source="https://i", entry_id="1", certificate_number="20261100110000051"
            )
        )
    old.dispose()

    engine = db.make_engine(url)
    try:
        assert db.migration_state(engine) == ("0001", "0001")
        assert _diff(engine) == []
        with engine.connect() as conn:
            generation = conn.execute(
                sa.select(db.meta.c.value).where(db.meta.c.name == "generation")
            ).scalar_one()
            docs = conn.execute(sa.select(db.documents.c.key, db.documents.c.version)).all()
            numbers = conn.execute(sa.select(db.restriction_numbers.c.certificate_number)).all()
        assert generation == 41
        assert [tuple(d) for d in docs] == [("", 7)]
        assert [n[0] for n in numbers] == ["20261100110000051"]
    finally:
        engine.dispose()


def test_a_schema_1_database_loses_its_person_data_and_is_recorded(url: str) -> None:
    old = sa.create_engine(url)
    with old.begin() as conn:
        for table in (db.documents, db.sync_state, db.meta, db.rate_counters):
            table.create(conn)
        conn.exec_driver_sql(
            "CREATE TABLE vf_restriction (source VARCHAR(600), entry_id VARCHAR(100), "
            "person_ref VARCHAR(64) NOT NULL, category VARCHAR(16), decision_date DATE, "
            "bar_until DATE, PRIMARY KEY (source, entry_id))"
        )
        conn.exec_driver_sql("CREATE TABLE vf_employer (id INTEGER PRIMARY KEY, name VARCHAR(200))")
        conn.exec_driver_sql(
            "CREATE TABLE vf_admission_audit (query_id VARCHAR(32) PRIMARY KEY, "
            "employer_id INTEGER REFERENCES vf_employer (id), person_ref VARCHAR(64))"
        )
        conn.execute(db.meta.insert().values(name="schema_version", value=1))
        conn.execute(
            sa.text(
                "INSERT INTO vf_restriction VALUES ('https://i', '1', 'p' , 'lost', NULL, NULL)"
            )
        )
        for kind, key in (("restrictions", "https://i#0"), ("status", "https://i/s/1")):
            conn.execute(
                db.documents.insert().values(
                    kind=kind, key=key, token="t", version=1, fetched_at=T, checked_at=T
                )
            )
        conn.execute(
            db.sync_state.insert(), [{"source": "restrictions:https://i"}, {"source": "trust"}]
        )
    old.dispose()

    engine = db.make_engine(url)
    try:
        assert db.migration_state(engine) == ("0001", "0001")
        assert _diff(engine) == []
        assert not {"vf_employer", "vf_admission_audit"} & _tables(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.select(db.restrictions)).all() == []
            kinds = conn.execute(sa.select(db.documents.c.kind)).scalars().all()
            sources = conn.execute(sa.select(db.sync_state.c.source)).scalars().all()
            version = conn.execute(
                sa.select(db.meta.c.value).where(db.meta.c.name == "schema_version")
            ).scalar_one()
        assert (kinds, sources, version) == (["status"], ["trust"], 2)
    finally:
        engine.dispose()


def test_an_old_database_whose_tables_differ_is_refused_untouched(url: str) -> None:
    old = sa.create_engine(url)
    with old.begin() as conn:
        db.metadata.create_all(conn)
        conn.exec_driver_sql("DROP TABLE vf_sync_state")
        conn.exec_driver_sql("CREATE TABLE vf_sync_state (source VARCHAR(600) PRIMARY KEY)")
    old.dispose()
    with pytest.raises(db.SchemaError, match="add_column vf_sync_state cursor"):
        db.make_engine(url)
    bare = sa.create_engine(url)
    try:
        with bare.connect() as conn:
            inspector = sa.inspect(conn)
            assert "vf_alembic_version" not in inspector.get_table_names()
            assert [c["name"] for c in inspector.get_columns("vf_sync_state")] == ["source"]
    finally:
        bare.dispose()


def test_without_auto_migrate_a_database_behind_is_refused_naming_the_command(
    url: str,
) -> None:
    with pytest.raises(db.SchemaError, match="jiaozi verifier migrate"):
        db.make_engine(url, migrate=False)
    bare = db.engine_for(url)
    try:
        assert _tables(bare) == set()  # nothing made
        db.upgrade(bare)
    finally:
        bare.dispose()
    db.make_engine(url, migrate=False).dispose()  # at head: starts


def test_two_replicas_migrating_one_postgresql_database_at_once_both_end_well() -> None:
    with postgres_database("verifier") as url:
        results = migrate_together_on_postgres("verifier.db", url, db._PG_LOCK_ID)
        assert [(code, out.split()) for code, out, _ in results] == [
            (0, ["ready", "done", "0001"])
        ] * 2, results
        engine = db.engine_for(url)
        try:
            assert _diff(engine) == []
            with engine.connect() as conn:
                versions = conn.exec_driver_sql("SELECT version_num FROM vf_alembic_version")
                assert versions.scalars().all() == ["0001"]
                names = conn.execute(sa.select(db.meta.c.name)).scalars().all()
            assert sorted(names) == ["generation", "schema_version", "write_lock"]
        finally:
            engine.dispose()


def test_two_replicas_migrating_one_sqlite_file_at_once_both_end_well(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'verifier.db'}"
    procs = start_migrators("verifier.db", url)
    try:
        results = finish(procs)
    finally:
        stop(procs)
    assert [(code, out.split()) for code, out, _ in results] == [
        (0, ["ready", "done", "0001"])
    ] * 2, results
    engine = db.engine_for(url)
    try:
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_the_migrate_command_inspects_and_upgrades(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'verifier.db'}"
    monkeypatch.setenv("JIAOZI_DATABASE_URL", url)
    runner = CliRunner()
    behind = runner.invoke(verifier_group, ["migrate", "--check"])
    assert (behind.exit_code, behind.output) == (
        1,
        "verifier database at none, head 0001 (behind: run `jiaozi verifier migrate`)\n",
    )
    done = runner.invoke(verifier_group, ["migrate"])
    assert (done.exit_code, done.output) == (0, "verifier database upgraded from none to 0001\n")
    again = runner.invoke(verifier_group, ["migrate"])
    assert (again.exit_code, again.output) == (0, "verifier database already at 0001\n")
    current = runner.invoke(verifier_group, ["migrate", "--check"])
    assert (current.exit_code, current.output) == (
        0,
        "verifier database at 0001, head 0001 (current)\n",
    )


def test_serve_without_auto_migrate_refuses_a_schema_behind_before_serving(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: served.append(a))
    monkeypatch.setenv("JIAOZI_DATABASE_URL", f"sqlite:///{tmp_path / 'verifier.db'}")
    monkeypatch.setenv("JIAOZI_AUTO_MIGRATE", "false")
    refused = CliRunner().invoke(verifier_group, ["serve", "--port", "0"])
    assert refused.exit_code == 1 and served == []
    assert "at revision none, this version needs 0001: run `jiaozi verifier migrate`" in (
        refused.output
    )
    assert CliRunner().invoke(verifier_group, ["migrate"]).exit_code == 0
    started = CliRunner().invoke(verifier_group, ["serve", "--port", "0"])
    assert started.exit_code == 0 and len(served) == 1
