"""Printing a batch: every certificate's signed PDF, and one print file for the printer.

``print_batch`` takes a batch whose rows are issued and writes, in ``out_dir``:

- ``<certificate number>.pdf`` for each certificate of the batch: the signed PDF of
  ``issuer.issuance.printing.certificate_pdf`` (credential attached, PAdES signature), the document
  the holder downloads;
- ``<name>-print.pdf``: every page in the batch's row order in one file, for the printer.
  It is **not signed** and has no credentials attached: it is paper to be printed, not an
  e-licence to hand out (the individual files are those).

The work is cut into parts of ``part_size`` rows (of all the batch's rows, in row
order). The parent reads the batch's certificate numbers once, then per part only the
three columns a page needs (stored credential, QR token, layout version) and hands them
to a process pool (default one worker per core); the workers never open the database.
A worker makes the part's missing PDFs, then renders the part's pages into one part file
with ``issuer.pdf.render_many`` (fonts subset once per part, the pages' fixed layer drawn
once per part as a form every page shows), kept under
``.<name>-parts-<size>/`` until ``pdfunite`` (poppler-utils) joins the parts into the
print file.

Every file is written to a temporary name and renamed into place (``os.replace``), so a
file under its final name is always complete; a killed run leaves at most temporary files,
removed by the next run. A re-run makes only what is missing: PDFs already there (complete:
they begin with ``%PDF-`` and end with ``%%EOF``) are not made again, nor parts, nor the
print file. Certificates no longer valid (suspended, revoked) are not printed.

A certificate that cannot be drawn (a character no font has, for example) is reported with
its row and number and left out, of the print file too; the others are made.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from credential import CredentialError, qr_url
from issuer.batches.workers import follow_parent
from issuer.db import tables
from issuer.db.models import Certificate
from issuer.issuance import (
    SealedDataError,
    certificate_pdf,
    checked_photo,
    facts_of,
    load_photos,
    seal_png,
)
from issuer.pdf import PdfError, PrintItem, render_many
from issuer.settings import IssuerSettings
from keys import DocumentSigningKey

__all__ = [
    "DEFAULT_PART_SIZE",
    "PrintFailure",
    "PrintReport",
    "PrintUnavailableError",
    "batch_entries",
    "page_jobs",
    "print_batch",
    "print_file_name",
]

# Rows per part: one pool task and one part of the print file. Small parts let the
# workers end together; fonts are subset once per part, so larger ones cost a little less.
DEFAULT_PART_SIZE = 100
_UNITE_MAX = 200  # part files pdfunite opens at once (each is an open file)
_TMP = re.compile(r"^\..+\.(\d+)\.tmp$")  # ".<name>.<pid>.tmp"

_ITEM = tables.BATCH_ITEM
_CERT = tables.CERTIFICATE


class PrintUnavailableError(Exception):
    """The print file cannot be made here (``pdfunite`` is not installed)."""


@dataclass(frozen=True, slots=True)
class PrintFailure:
    """A certificate whose PDF could not be made (and why)."""

    row_number: int
    certificate_number: str
    message: str


@dataclass
class PrintReport:
    """What a run of :func:`print_batch` did."""

    total: int = 0  # certificates of the batch that are printed (valid ones)
    made: int = 0  # PDFs made by this run
    present: int = 0  # PDFs already there, left as they were
    not_valid: list[tuple[int, str, str]] = field(default_factory=list)  # row, number, status
    failures: list[PrintFailure] = field(default_factory=list)
    print_file: Path | None = None
    print_pages: int | None = None  # None when the print file was already there

    @property
    def ok(self) -> bool:
        return not self.failures


def print_file_name(stem: str) -> str:
    """Return the file name of a batch's print file (``<stem>-print.pdf``)."""
    return f"{stem}-print.pdf"


# --- files -----------------------------------------------------------------------------------


def _complete(path: Path) -> bool:
    """Return True when ``path`` is a whole PDF (renamed into place after it was written;
    this also catches a file emptied by a crash of the machine before it reached the disk)."""
    try:
        with path.open("rb") as f:
            if f.read(5) != b"%PDF-":
                return False
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 32))
            return b"%%EOF" in f.read()
    except OSError:
        return False


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _pid_alive(pid: int) -> bool:
    """Return True when process ``pid`` runs (a zombie does not: a killed run's orphaned
    worker may wait long to be reaped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: ask the kernel
        pass
    else:
        state = next((s for s in status.splitlines() if s.startswith("State:")), "State: R")
        return state.split(":", 1)[1].strip()[:1] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _remove_stale_temps(*dirs: Path) -> None:
    """Remove temporary files left by killed runs (those of live processes stay)."""
    for d in dirs:
        if not d.is_dir():
            continue
        for p in d.iterdir():
            m = _TMP.match(p.name)
            if m and not _pid_alive(int(m.group(1))):
                with contextlib.suppress(OSError):
                    p.unlink()


def _part_path(parts_dir: Path, k: int) -> Path | None:
    """Return the complete part file ``k`` (named ``part-<k>.<pages>.pdf``), or None."""
    for p in parts_dir.glob(f"part-{k:06d}.*.pdf"):
        if _complete(p):
            return p
    return None


# --- the workers -----------------------------------------------------------------------------

# A worker's settings, document key and output directories, set by the pool's initializer.
_worker: dict[str, Any] = {}
# (row number, certificate number, stored credential, QR token, layout version, make PDF,
# the holder's photo or None)
_Job = tuple[int, str, str, str, str, bool, bytes | None]


def _init_worker(settings: IssuerSettings, key: DocumentSigningKey, out: str, parts: str) -> None:
    follow_parent()
    _worker.update(settings=settings, key=key, out=Path(out), parts=Path(parts))


def _work(k: int, jobs: Sequence[_Job], part: bool) -> tuple[int, list[PrintFailure], int]:
    return _make_part(
        k,
        jobs,
        part=part,
        settings=_worker["settings"],
        key=_worker["key"],
        out=_worker["out"],
        parts=_worker["parts"],
    )


def _make_part(
    k: int,
    jobs: Sequence[_Job],
    *,
    part: bool,
    settings: IssuerSettings,
    key: DocumentSigningKey,
    out: Path,
    parts: Path,
) -> tuple[int, list[PrintFailure], int]:
    """Make the missing PDFs of ``jobs`` and, if ``part``, part file ``k`` of their pages;
    return (PDFs made, failures, pages in the part)."""
    made = 0
    failures: list[PrintFailure] = []
    items: list[PrintItem] = []
    seal = seal_png(settings)
    for row_number, number, stored, token, layout, make, photo in jobs:
        row = Certificate(  # type: ignore[call-arg]  # just what printing reads
            certificate_number=number,
            credential_jws=stored,
            qr_token=token,
            layout_version=layout,
        )
        try:
            opened = facts_of(row, settings=settings)  # once for both drawings
            printed = checked_photo(opened[0], photo)
            if make:
                _write_atomically(
                    out / f"{number}.pdf",
                    certificate_pdf(
                        row, settings=settings, document_key=key, opened=opened, photo=printed
                    ),
                )
                made += 1
            if part:
                facts = opened[0]
                items.append(
                    PrintItem(
                        facts,
                        qr_url(settings.verifier_url, token),
                        None,
                        None,
                        seal,
                        layout,
                        settings.seal_text,
                        printed,
                    )
                )
        except (PdfError, SealedDataError, CredentialError, ValueError) as exc:
            failures.append(PrintFailure(row_number, number, str(exc)))
    pages = 0
    if part:
        if items:  # the rows that failed above are not among them
            try:
                data = render_many(items, verifier_url=settings.verifier_url)
            except PdfError as exc:  # every page drew alone: this should not happen
                failures.append(PrintFailure(jobs[0][0], jobs[0][1], f"print file part: {exc}"))
            else:
                pages = len(items)
                _write_atomically(parts / f"part-{k:06d}.{pages}.pdf", data)
        else:  # an empty part still marks the part done
            _write_atomically(parts / f"part-{k:06d}.0.pdf", b"%PDF-1.4\n%%EOF\n")
    return made, failures, pages


# --- the parent ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    row_number: int
    certificate_id: int
    number: str
    status: str


def batch_entries(engine: Engine, batch_id: int) -> list[_Entry]:
    """Return the batch's certificates in row order."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_ITEM.c.row_number, _CERT.c.id, _CERT.c.certificate_number, _CERT.c.status)
            .join(_CERT, _CERT.c.id == _ITEM.c.certificate_id)
            .where(_ITEM.c.batch_id == batch_id)
            .order_by(_ITEM.c.row_number)
        ).all()
    return [_Entry(*r) for r in rows]


def page_jobs(engine: Engine, entries: Sequence[_Entry], make: set[str]) -> list[_Job]:
    """Read the columns a page needs for ``entries`` (one query) as worker jobs."""
    if not entries:
        return []
    with engine.connect() as conn:
        got = {
            cid: (stored, token, layout)
            for cid, stored, token, layout in conn.execute(
                sa.select(
                    _CERT.c.id, _CERT.c.credential_jws, _CERT.c.qr_token, _CERT.c.layout_version
                ).where(_CERT.c.id.in_([e.certificate_id for e in entries]))
            )
        }
        photos = load_photos(conn, [e.certificate_id for e in entries])
    return [
        (
            e.row_number,
            e.number,
            *got[e.certificate_id],
            e.number in make,
            photos.get(e.certificate_id),
        )
        for e in entries
    ]


def _unite(parts: Sequence[Path], target: Path, work: Path) -> None:
    """Join ``parts`` (in order) into ``target`` with pdfunite, atomically."""
    exe = shutil.which("pdfunite")
    if exe is None:
        raise PrintUnavailableError(
            "pdfunite (poppler-utils) is not installed: the print file cannot be joined "
            "(run scripts/system-packages.sh)"
        )
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        if len(parts) == 1:
            shutil.copyfile(parts[0], tmp)
        else:
            groups: list[Path] = list(parts)
            level = 0
            while len(groups) > _UNITE_MAX:  # too many open files at once: join in rounds
                joined = []
                for g in range(0, len(groups), _UNITE_MAX):
                    out = work / f"join-{level}-{g // _UNITE_MAX:06d}.{os.getpid()}.pdf"
                    _run_unite(exe, groups[g : g + _UNITE_MAX], out)
                    joined.append(out)
                groups, level = joined, level + 1
            _run_unite(exe, groups, tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _run_unite(exe: str, parts: Sequence[Path], out: Path) -> None:
    if len(parts) == 1:
        shutil.copyfile(parts[0], out)
        return
    r = subprocess.run(  # noqa: S603 - our own file names, no shell
        [exe, *map(str, parts), str(out)], capture_output=True, text=True, check=False
    )
    if r.returncode != 0:
        raise RuntimeError(f"pdfunite failed: {r.stderr.strip()[:300]}")


def _start_method() -> str:
    # fork is cheap but unsafe with other threads running (the HTTP server's, say)
    return "fork" if threading.active_count() == 1 else "spawn"


Progress = Callable[[int, int], None]


def print_batch(
    engine: Engine,
    *,
    batch_id: int,
    out_dir: Path,
    settings: IssuerSettings,
    document_key: DocumentSigningKey,
    name: str | None = None,
    workers: int | None = None,
    part_size: int = DEFAULT_PART_SIZE,
    progress: Progress | None = None,
    print_file: bool = True,
    pdfs: bool = True,
) -> PrintReport:
    """Write the PDFs of batch ``batch_id`` and its print file into ``out_dir``; return
    what was done (see the module's docstring).

    ``name`` names the print file ``<name>-print.pdf`` (default ``batch-<id>``).
    ``workers``: processes (default one per core; 1 works in this process).
    ``progress(done, total)`` is called as PDFs are found or made. ``print_file=False``
    makes the PDFs only, ``pdfs=False`` the print file only. Raises
    PrintUnavailableError when ``pdfunite`` is missing (the PDFs are made first), OSError
    when a file cannot be written; a re-run continues where it stopped.
    """
    if part_size < 1:
        raise ValueError("part_size must be at least 1")
    name = name or f"batch-{batch_id}"
    out_dir.mkdir(parents=True, exist_ok=True)
    # (the part size is in the name: a part is rows [k * size, (k + 1) * size) of the batch)
    parts_dir = out_dir / f".{name}-parts-{part_size}"
    target = out_dir / print_file_name(name)
    _remove_stale_temps(out_dir, parts_dir)
    report = PrintReport()
    entries = batch_entries(engine, batch_id)
    need_print = print_file and not _complete(target)
    if need_print:
        parts_dir.mkdir(exist_ok=True)
    # What each part still needs: its missing PDFs, and its part file unless it exists.
    plan: list[tuple[int, list[_Entry], set[str], bool]] = []
    # Parts are cut from all the batch's rows, so that a certificate suspended between
    # two runs does not move the others from one part to another.
    for k, start in enumerate(range(0, len(entries), part_size)):
        chunk = [e for e in entries[start : start + part_size] if e.status == "valid"]
        report.not_valid += [
            (e.row_number, e.number, e.status)
            for e in entries[start : start + part_size]
            if e.status != "valid"
        ]
        report.total += len(chunk)
        missing = (
            {e.number for e in chunk if not _complete(out_dir / f"{e.number}.pdf")}
            if pdfs
            else set()
        )
        if pdfs:
            report.present += len(chunk) - len(missing)
        part = False
        if need_print:
            part = _part_path(parts_dir, k) is None
        if missing or part:
            plan.append((k, chunk, missing, part))
    done = report.present
    if progress is not None:
        progress(done, report.total)

    def finished(k: int, result: tuple[int, list[PrintFailure], int], todo: int) -> None:
        nonlocal done
        made, failures, _pages = result
        report.made += made
        report.failures.extend(failures)
        done += todo
        if progress is not None:
            progress(done, report.total)

    workers = workers if workers is not None else (os.cpu_count() or 1)
    workers = max(1, min(workers, len(plan) or 1))
    if plan and workers == 1:
        for k, chunk, missing, part in plan:
            result = _make_part(
                k,
                page_jobs(engine, chunk, missing),
                part=part,
                settings=settings,
                key=document_key,
                out=out_dir,
                parts=parts_dir,
            )
            finished(k, result, len(missing))
    elif plan:
        ctx = multiprocessing.get_context(_start_method())
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(settings, document_key, str(out_dir), str(parts_dir)),
        ) as pool:
            # a window of parts in flight: the parent reads part k+window while they work
            window: deque[tuple[int, int, Future[tuple[int, list[PrintFailure], int]]]] = deque()
            todo: Iterator[tuple[int, list[_Entry], set[str], bool]] = iter(plan)
            try:
                for k, chunk, missing, part in todo:
                    jobs = page_jobs(engine, chunk, missing)
                    window.append((k, len(missing), pool.submit(_work, k, jobs, part)))
                    while len(window) >= 2 * workers:
                        k0, n0, fut = window.popleft()
                        finished(k0, fut.result(), n0)
                while window:
                    k0, n0, fut = window.popleft()
                    finished(k0, fut.result(), n0)
            except BaseException:
                for _k, _n, fut in window:
                    fut.cancel()
                raise
    report.failures.sort(key=lambda f: f.row_number)
    if need_print:
        ordered = []
        for k in range((len(entries) + part_size - 1) // part_size):
            p = _part_path(parts_dir, k)
            if p is None:  # its pages failed together though each drew alone (reported)
                raise RuntimeError(f"part {k} of the print file could not be made")
            ordered.append(p)
        report.print_pages = sum(int(p.name.split(".")[1]) for p in ordered)
        real = [p for p in ordered if not p.name.endswith(".0.pdf")]
        if real:
            with tempfile.TemporaryDirectory(dir=parts_dir, prefix=".join-") as work:
                _unite(real, target, Path(work))
            report.print_file = target
        shutil.rmtree(parts_dir, ignore_errors=True)
    elif print_file and target.exists():
        report.print_file = target
    return report
