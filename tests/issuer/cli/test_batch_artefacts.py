"""``jiaozi batch status|codes|manifest|letters|print|zip BATCH_ID``: a batch's artefacts from
the command line, as the API gives them (issue 13 point 4). On SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from pypdf import PdfReader

from tests.factory import logscan
from tests.factory.issuer import bad_rows_file, batch_cli_env


def _batch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "jiaozi", "batch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    logscan.keep_text("batch", done.stderr)  # its log lines, for the session's scan
    return done


def test_cli_makes_codes_once_and_writes_manifest_letters_zip_and_print_file(
    tmp_path: Path, database_url: str
) -> None:
    env = batch_cli_env(tmp_path, database_url)
    data, expected, good_rows = bad_rows_file()
    batch_file = tmp_path / "round.csv"
    batch_file.write_bytes(data)
    issued = _batch(env, "issue", str(batch_file), "--workers", "1")
    assert issued.returncode == 0, issued.stderr
    found = re.search(r"^batch (\d+)", issued.stdout, re.M)
    assert found is not None
    batch_id = found.group(1)

    status = _batch(env, "status", batch_id)
    assert status.returncode == 0, status.stderr
    assert "done" in status.stdout and "issued 3 / 3" in status.stdout

    made = _batch(env, "codes", batch_id)
    assert made.returncode == 0, made.stderr
    assert "3 claim codes made, 0 teachers keep" in made.stdout
    again = _batch(env, "codes", batch_id)
    assert "0 claim codes made, 3 teachers keep" in again.stdout

    manifest = tmp_path / "out" / "manifest.csv"
    m = _batch(env, "manifest", batch_id, "--out", str(manifest))
    assert m.returncode == 0, m.stderr
    table = list(csv.reader(io.StringIO(manifest.read_bytes().decode("utf-8-sig"))))
    by_row = {int(r[0]): r for r in table[1:]}
    assert set(by_row) == set(good_rows) | set(expected)
    codes = {by_row[row][2]: by_row[row][4] for row in good_rows}
    assert all(len(code) == 19 for code in codes.values())

    letters = tmp_path / "out" / "letters.pdf"
    r = _batch(env, "letters", batch_id, "--out", str(letters))
    assert r.returncode == 0, r.stderr
    text = subprocess.run(
        ["pdftotext", str(letters), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert len(PdfReader(letters).pages) == 3
    for number, code in codes.items():
        assert number in text and code in text

    archive = tmp_path / "out" / "pdf.zip"
    z = _batch(env, "zip", batch_id, "--out", str(archive))
    assert z.returncode == 0, z.stderr
    with zipfile.ZipFile(archive) as f:
        assert sorted(f.namelist()) == sorted(f"{n}.pdf" for n in codes)
        assert all(f.read(n).startswith(b"%PDF-") for n in f.namelist())

    p = _batch(env, "print", batch_id, "--pdf-dir", str(tmp_path / "print"), "--pdf-workers", "1")
    assert p.returncode == 0, p.stderr
    assert len(PdfReader(tmp_path / "print" / f"batch-{batch_id}-print.pdf").pages) == 3
    assert {q.name for q in (tmp_path / "print").glob("2*.pdf")} == {f"{n}.pdf" for n in codes}


def test_cli_refuses_an_unknown_batch_in_one_line(tmp_path: Path, database_url: str) -> None:
    env = batch_cli_env(tmp_path, database_url)
    for args in (["status"], ["codes"], ["letters", "--out", str(tmp_path / "x.pdf")]):
        r = _batch(env, *args[:1], "424242", *args[1:])
        assert r.returncode == 1
        assert r.stderr.strip().endswith("no batch 424242 of office " + env["JIAOZI_OFFICE_ID"])
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "x.pdf").exists()
