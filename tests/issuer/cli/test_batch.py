"""``jiaozi batch issue``: the error report beside the file, the exit codes, a resumed run.

On SQLite and PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer.db.engine import make_engine
from issuer.db.models import Certificate
from tests.factory import logscan
from tests.factory.issuer import bad_rows_file, batch_cli_env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "jiaozi", "batch", "issue", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    logscan.keep_text("batch-issue", done.stderr)  # its log lines, for the session's scan
    return done


def test_cli_writes_the_report_beside_the_file_and_exits_0_when_valid_rows_are_issued(
    tmp_path: Path, database_url: str
) -> None:
    env = batch_cli_env(tmp_path, database_url)
    data, expected, good_rows = bad_rows_file()
    batch_file = tmp_path / "第一批.csv"
    batch_file.write_bytes(data)

    first = _run(env, str(batch_file))
    assert first.returncode == 0, first.stderr
    assert "10 rows, 3 valid, 7 with errors" in first.stdout
    assert "3 of 3 valid rows issued" in first.stdout
    report = tmp_path / "第一批.errors.csv"
    assert str(report) in first.stdout
    rows = list(csv.reader(io.StringIO(report.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == ["行号", "申请编号", "姓名", "列", "原因", "值"]
    assert {int(r[0]) for r in rows[1:]} == set(expected)
    assert "Traceback" not in first.stderr

    # Again: the same batch, nothing more issued; the report in English as XLSX elsewhere.
    out = tmp_path / "out" / "report.xlsx"
    out.parent.mkdir()
    again = _run(env, str(batch_file), "--errors-out", str(out), "--lang", "en", "--workers", "1")
    assert again.returncode == 0, again.stderr
    assert "(resumed)" in again.stdout and "3 issued before" in again.stdout
    assert out.read_bytes().startswith(b"PK")
    engine = make_engine(database_url)
    try:
        with Session(engine) as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(Certificate)) == len(good_rows)
    finally:
        engine.dispose()


def test_cli_exits_1_on_an_unusable_file_or_missing_key(tmp_path: Path, database_url: str) -> None:
    env = batch_cli_env(tmp_path, database_url)
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\x01 not a table")
    r = _run(env, str(junk))
    assert r.returncode == 1
    assert "CSV" in r.stderr and "Traceback" not in r.stderr

    header_only = tmp_path / "empty.csv"
    header_only.write_text(
        "name,gender,birth_date,id_type,id_number,qualification_type,subject,issue_date\n"
    )
    r = _run(env, str(header_only))
    assert r.returncode == 1 and "没有数据行" in r.stderr

    no_key = {**env, "JIAOZI_KEY_PASSPHRASE": ""}
    r = _run(no_key, str(junk))
    assert r.returncode == 1 and "JIAOZI_KEY_PASSPHRASE" in r.stderr
    assert "Traceback" not in r.stderr

    r = _run(env, str(tmp_path / "missing.csv"))
    assert r.returncode == 64  # usage error: no such file
