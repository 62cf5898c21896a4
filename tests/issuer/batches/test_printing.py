"""``jiaozi batch issue FILE --pdf-dir DIR``: a signed PDF per certificate named by its
number, one print file with every page in row order, a re-run that makes only what is
missing (after a ``kill -9`` too), and a name no font can draw reported without stopping
the others.

Real subprocesses with a key store, on SQLite and PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader
from sqlalchemy.orm import Session

from credential import qr_url
from issuer.db.engine import make_engine
from issuer.db.models import BatchItem, Certificate
from issuer.issuance import open_credential
from issuer.settings import IssuerSettings
from tests.factory import SHARED
from tests.factory.issuer import batch_cli_env
from verifier.extract import extract

APPLICANTS = SHARED / "data" / "applicants-1000.csv"


def _batch_file(tmp_path: Path, rows: int, *, name: str = "round.csv", edit=None) -> Path:
    lines = APPLICANTS.read_text(encoding="utf-8").splitlines()[: rows + 1]
    if edit is not None:
        lines = edit(lines)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _command(batch_file: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "jiaozi",
        "batch",
        "issue",
        str(batch_file),
        "--pdf-dir",
        str(out),
        *extra,
    ]


def _run(env: dict[str, str], batch_file: Path, out: Path, *extra: str):
    return subprocess.run(
        _command(batch_file, out, *extra), env=env, capture_output=True, text=True, timeout=300
    )


def _issued(database_url: str) -> list[tuple[str, str, str]]:
    """(number, credential JWS, QR token) of every certificate, in batch row order."""
    settings = IssuerSettings()
    engine = make_engine(database_url)
    try:
        with Session(engine) as s:
            rows = s.execute(
                sa.select(
                    Certificate.certificate_number, Certificate.credential_jws, Certificate.qr_token
                )
                .join(BatchItem, BatchItem.certificate_id == Certificate.id)
                .order_by(BatchItem.row_number)
            ).all()
    finally:
        engine.dispose()
    return [
        (n, open_credential(settings, stored, certificate_number=n), token)
        for n, stored, token in rows
    ]


def _check_pdfs(out: Path, issued: list[tuple[str, str, str]]) -> None:
    """Every certificate's PDF is there, carries its credential and decodes to its QR."""
    verifier_url = IssuerSettings().verifier_url
    for number, jws, token in issued:
        found = extract((out / f"{number}.pdf").read_bytes())
        assert found.credential == jws, number
        assert found.qr == qr_url(verifier_url, token), number


def _page_order(print_file: Path, numbers: list[str]) -> list[str]:
    """Return the certificate numbers in the order the print file's pages show them."""
    text = subprocess.run(
        ["pdftotext", str(print_file), "-"], capture_output=True, check=True
    ).stdout.decode()
    pages = text.split("\f")
    return [next((n for n in numbers if n in page), "?") for page in pages if page.strip()]


def test_pdf_per_certificate_and_a_print_file_and_a_rerun_makes_only_what_is_missing(
    tmp_path: Path, database_url: str
) -> None:
    env = batch_cli_env(tmp_path, database_url)
    batch_file = _batch_file(tmp_path, 20)
    out = tmp_path / "pdf"

    first = _run(env, batch_file, out)
    assert first.returncode == 0, first.stderr
    assert "20 of 20 valid rows issued" in first.stdout
    assert "printed: 20 PDFs" in first.stdout and "(20 made)" in first.stdout
    issued = _issued(database_url)
    numbers = [n for n, _, _ in issued]
    assert len(numbers) == 20
    print_file = out / "round-print.pdf"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{n}.pdf" for n in numbers] + [print_file.name]
    )  # no temporary files, no parts left
    _check_pdfs(out, issued)
    root = asn1_x509.Certificate.load((tmp_path / "home" / "trust" / "root.crt").read_bytes())
    with (out / f"{numbers[0]}.pdf").open("rb") as f:
        (sig,) = PdfFileReader(f).embedded_signatures
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=[root]))
    assert (status.intact, status.valid, status.trusted) == (True, True, True)
    assert status.coverage.name == "ENTIRE_FILE"
    reader = PdfReader(print_file)
    assert len(reader.pages) == 20
    assert "/AcroForm" not in reader.trailer["/Root"]  # for the printer: not signed
    assert _page_order(print_file, numbers) == numbers

    # Again, with one PDF gone and one cut short: only those two are made again.
    before = {n: (out / f"{n}.pdf").stat().st_mtime_ns for n in numbers}
    (out / f"{numbers[3]}.pdf").unlink()
    cut = out / f"{numbers[7]}.pdf"
    cut.write_bytes(cut.read_bytes()[:1000])
    print_mtime = print_file.stat().st_mtime_ns
    time.sleep(0.01)
    again = _run(env, batch_file, out)
    assert again.returncode == 0, again.stderr
    assert "(2 made, 18 already there)" in again.stdout
    after = {n: (out / f"{n}.pdf").stat().st_mtime_ns for n in numbers}
    assert {n for n in numbers if after[n] != before.get(n)} == {numbers[3], numbers[7]}
    assert print_file.stat().st_mtime_ns == print_mtime
    _check_pdfs(out, [issued[3], issued[7]])

    # A certificate suspended since is not printed again (and not an error).
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.update(Certificate)
                .where(Certificate.certificate_number == numbers[5])
                .values(status="suspended")
            )
    finally:
        engine.dispose()
    (out / f"{numbers[5]}.pdf").unlink()
    third = _run(env, batch_file, out)
    assert third.returncode == 0, third.stderr
    assert f"not printed: row 7, certificate {numbers[5]}: suspended" in third.stdout
    assert "(0 made, 19 already there)" in third.stdout
    assert not (out / f"{numbers[5]}.pdf").exists()
    assert "Traceback" not in first.stderr + again.stderr + third.stderr


def test_a_name_no_font_can_draw_is_refused_before_issuing_and_the_rest_printed(
    tmp_path: Path, database_url: str
) -> None:
    # A certificate is issued only if it can be printed: the row is refused by validation
    # (named in the error report), never issued and then found unprintable.
    env = batch_cli_env(tmp_path, database_url)

    def rare_name(lines: list[str]) -> list[str]:
        fields = lines[5].split(",")
        fields[1] = "张𓀀"  # U+13000: assigned (a hieroglyph), in no certificate font
        lines[5] = ",".join(fields)
        return lines

    batch_file = _batch_file(tmp_path, 8, edit=rare_name)
    out = tmp_path / "pdf"
    r = _run(env, batch_file, out, "--pdf-workers", "2")
    assert r.returncode == 0, r.stderr
    assert "1 rows with errors were not issued" in r.stdout
    report = batch_file.with_name(f"{batch_file.stem}.errors.csv").read_text(encoding="utf-8-sig")
    (line,) = [ln for ln in report.splitlines() if "U+13000" in ln]
    assert line.startswith("6,") and "姓名" in line
    issued = _issued(database_url)
    assert len(issued) == 7
    _check_pdfs(out, issued)
    assert _page_order(out / "round-print.pdf", [n for n, _, _ in issued]) == [
        n for n, _, _ in issued
    ]
    assert "Traceback" not in r.stderr


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next((line for line in status.splitlines() if line.startswith("State:")), "")
    return "Z" not in state.split(":", 1)[1][:3] if state else False


def test_kill_9_while_printing_then_rerun_ends_with_every_pdf_whole(
    tmp_path: Path, database_url: str
) -> None:
    env = batch_cli_env(tmp_path, database_url)
    rows = 300
    batch_file = _batch_file(tmp_path, rows)
    out = tmp_path / "pdf"
    proc = subprocess.Popen(
        _command(batch_file, out, "--pdf-workers", "2"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if out.is_dir():
                workers.update(_children(proc.pid))
                if sum(1 for p in out.glob("2*.pdf")) >= 12:
                    break
            time.sleep(0.005)
        if proc.poll() is not None:
            pytest.fail(f"printing ended before the kill: {proc.communicate()[1].decode()}")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "orphaned printing workers"
    made_before = {p.name: p.stat().st_mtime_ns for p in out.glob("2*.pdf")}
    assert 12 <= len(made_before) < rows
    # What a kill mid-write leaves behind, and a stale temporary file of a dead process.
    (out / ".20269999999999999.pdf.999999999.tmp").write_bytes(b"%PDF-1.7\n half")

    final = _run(env, batch_file, out)
    assert final.returncode == 0, final.stderr
    assert f"{rows} of {rows} valid rows issued" in final.stdout
    assert f"{len(made_before):,} already there" in final.stdout
    assert all((out / n).stat().st_mtime_ns == t for n, t in made_before.items())
    issued = _issued(database_url)
    numbers = [n for n, _, _ in issued]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{n}.pdf" for n in numbers] + ["round-print.pdf"]
    )  # every PDF, no temporary file, no parts
    _check_pdfs(out, issued)
    assert len(PdfReader(out / "round-print.pdf").pages) == rows
    assert _page_order(out / "round-print.pdf", numbers) == numbers


def test_without_a_document_signing_key_nothing_is_issued(
    tmp_path: Path, database_url: str
) -> None:
    env = batch_cli_env(tmp_path, database_url)
    assert not (tmp_path / "home" / "keys" / "root").exists()  # an office home: no root key
    # an office that has not installed the ceremony's answer: no document certificate
    (tmp_path / "home" / "keys" / "office-11001" / "docsign.crt").unlink()
    batch_file = _batch_file(tmp_path, 3)
    r = _run(env, batch_file, tmp_path / "pdf")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jiaozi batch issue: document-signing key")
    assert "jiaozi keys install ANSWER" in lines[0]
    assert "batch" not in r.stdout  # stopped before the batch was opened
    assert not (tmp_path / "pdf").exists()
