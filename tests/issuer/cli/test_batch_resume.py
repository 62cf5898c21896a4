"""``jiaozi batch issue`` when the database connection is lost: it waits and resumes the
batch by itself (``--retries``), then gives up saying how to resume; what it prints about
the error never carries SQLAlchemy's statement or the rows' values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

import issuer.batches
from issuer.cli.batch import batch_group
from issuer.db.engine import make_engine
from issuer.db.models import Certificate
from tests.factory.issuer import bad_rows_file, batch_cli_env


class Lost(Exception):
    """What the driver raises when the server closes the connection."""


def _lost() -> sa.exc.OperationalError:
    return sa.exc.OperationalError(
        "INSERT INTO certificate (name) VALUES (%s)",
        [("林芳",)],
        Lost("server closed the connection unexpectedly\n\tmore lines"),
    )


def _run(tmp_path: Path, database_url: str, *args: str) -> Any:
    env = batch_cli_env(tmp_path, database_url)
    data, _expected, _good = bad_rows_file()
    batch_file = tmp_path / "round.csv"
    batch_file.write_bytes(data)
    return CliRunner().invoke(
        batch_group, ["issue", str(batch_file), "--workers", "1", *args], env=env
    )


def test_a_lost_connection_is_waited_out_and_the_batch_resumed(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = issuer.batches.issue_file
    calls: list[int] = []
    waits: list[float] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= 2:
            raise _lost()
        return real(*args, **kwargs)

    monkeypatch.setattr(issuer.batches, "issue_file", flaky)
    monkeypatch.setattr("issuer.cli.batch.time.sleep", waits.append)
    result = _run(tmp_path, database_url)
    assert result.exit_code == 0, result.output
    assert len(calls) == 3 and waits == [2, 4]
    assert "database unavailable (Lost: server closed the connection unexpectedly)" in (
        result.output
    )
    assert "3 of 3 valid rows issued" in result.output
    assert "林芳" not in result.output and "INSERT" not in result.output
    engine = make_engine(database_url)
    try:
        with Session(engine) as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 3
    finally:
        engine.dispose()


def test_it_gives_up_after_the_retries_saying_how_to_resume(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_a: Any, **_k: Any) -> Any:
        raise _lost()

    waits: list[float] = []
    monkeypatch.setattr(issuer.batches, "issue_file", down)
    monkeypatch.setattr("issuer.cli.batch.time.sleep", waits.append)
    result = _run(tmp_path, database_url, "--retries", "2")
    assert result.exit_code == 1
    assert waits == [2, 4]
    assert "after 2 resumption(s) (run the same file again to resume)" in result.output
    assert "林芳" not in result.output and "INSERT" not in result.output
