"""``issuer.db.write``: the one write transaction. It commits the body, or rolls all of it
back and re-raises; it ends an open read first and begins as a writer on SQLite."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer.db import make_engine, upgrade, write
from issuer.db import tables as t

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _add_client(session: Session, name: str) -> None:
    session.execute(sa.insert(t.SERVICE_CLIENT).values(name=name, kind="mis", created_at=NOW))


def _clients(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(t.SERVICE_CLIENT.c.name)).scalars())


def test_the_body_is_committed(engine: sa.Engine) -> None:
    with Session(engine) as session:
        with write(session) as same:
            assert same is session
            _add_client(session, "a")
        assert not session.in_transaction()
    assert _clients(engine) == ["a"]


@pytest.mark.parametrize("error", [ValueError("bad"), KeyboardInterrupt()])
def test_an_error_rolls_everything_back_and_is_raised(
    engine: sa.Engine, error: BaseException
) -> None:
    with Session(engine) as session:
        with pytest.raises(type(error)), write(session):
            _add_client(session, "a")
            _add_client(session, "b")
            raise error
        assert not session.in_transaction()
        with write(session):  # the session is usable again
            _add_client(session, "c")
    assert _clients(engine) == ["c"]


def test_a_database_error_rolls_back_what_came_before_it(engine: sa.Engine) -> None:
    with Session(engine) as session:
        with write(session):
            _add_client(session, "a")
        with pytest.raises(sa.exc.IntegrityError), write(session):
            _add_client(session, "b")
            _add_client(session, "a")  # unique name
        with write(session):
            _add_client(session, "c")
    assert sorted(_clients(engine)) == ["a", "c"]


def test_an_open_read_is_ended_and_the_write_begins_immediate(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'issuer.db'}")
    upgrade(engine)
    begins: list[str] = []
    sa.event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cur, stmt, *a: begins.append(stmt) if stmt.startswith("BEGIN") else None,
    )
    try:
        with Session(engine) as session:
            session.execute(sa.select(t.SERVICE_CLIENT.c.id)).all()  # a read is open
            assert session.in_transaction()
            with write(session):
                _add_client(session, "a")
        assert begins == ["BEGIN DEFERRED", "BEGIN IMMEDIATE"]
        assert _clients(engine) == ["a"]
    finally:
        engine.dispose()


def test_a_failed_begin_is_rolled_back_and_raised(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'issuer.db'}")
    upgrade(engine)
    busy = [True]  # the first BEGIN finds the database busy

    def begin(conn: sa.Connection) -> None:
        if busy:
            busy.clear()
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    sa.event.listen(engine, "begin", begin, insert=True)
    try:
        with Session(engine) as session:
            with pytest.raises(sa.exc.OperationalError), write(session):
                _add_client(session, "a")
            assert not session.in_transaction()
            with write(session):
                _add_client(session, "b")
        assert _clients(engine) == ["b"]
    finally:
        engine.dispose()
