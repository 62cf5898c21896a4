"""``jiaozi batch issue FILE``: issue a certification round's file straight into the database;
then the batch's artefacts by its id, as the API gives them (issue 13 point 4):
``status``, ``codes`` (the teachers' claim codes, one step), ``manifest``, ``letters``,
``print`` (signed PDFs and the print file into a directory) and ``zip``.

No server needed: the database and the office come from ``JIAOZI_*`` settings, the key
from the key store (``JIAOZI_HOME``, ``JIAOZI_KEY_PASSPHRASE``). Running the same file
again resumes it (see ``issuer.batches.run``). Importing this module is cheap: the issuer is
loaded only when the command runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from issuer.cli._common import cli_actor, cli_lang

__all__ = ["batch_group"]

EXIT_FAILED = 1


@click.group("batch")
def batch_group() -> None:
    """Batch issuance from a CSV or XLSX file."""


def _t(key: str, lang: str, **fields: object) -> str:
    from credential import cli_text

    return cli_text(key, lang, **fields)


class _Progress:
    """``issued / total, rate`` on stderr (``verb`` a ``CLI_TEXT`` key saying what is
    counted): one line redrawn on a terminal, else a whole line every few seconds.

    A redrawn line has no newline until it is done; :meth:`end_line` ends it, and every
    other message of the command goes through :meth:`echo`, so nothing is ever written onto
    the end of a progress line (the "issuedissued" of issue 15).
    """

    def __init__(self, verb: str = "batch.issued", lang: str = "en") -> None:
        self.verb = _t(verb, lang)
        # A progress bar is for a person at a terminal: a pipe, a file or a dumb terminal
        # (an editor's shell, a CI log) keeps no carriage return, so gets whole lines.
        self.tty = sys.stderr.isatty() and os.environ.get("TERM", "") != "dumb"
        self.start = time.monotonic()
        self.first: int | None = None
        self.last_line = 0.0
        self.open_line = False

    def end_line(self) -> None:
        """End a progress line left open on the terminal (nothing when there is none)."""
        if self.open_line:
            click.echo("", err=True)
            self.open_line = False

    def echo(self, message: str, err: bool = False) -> None:
        """Write ``message`` as a whole line of its own, after any open progress line."""
        self.end_line()
        click.echo(message, err=err)

    def __call__(self, issued: int, total: int) -> None:
        now = time.monotonic()
        if self.first is None:
            self.first = issued
        done = issued - self.first
        rate = done / (now - self.start) if now > self.start and done else 0.0
        pct = 100.0 * issued / total if total else 100.0
        text = f"{self.verb} {issued:,} / {total:,} ({pct:.0f}%)  {rate:,.0f}/s"
        if self.tty:
            width = 30
            filled = int(width * issued / total) if total else width
            click.echo(f"\r[{'#' * filled}{'-' * (width - filled)}] {text}  ", nl=False, err=True)
            self.open_line = True
            if issued >= total:
                self.end_line()
        elif issued >= total or now - self.last_line >= 2.0 or self.first == issued:
            click.echo(text, err=True)
            self.last_line = now


@batch_group.command("issue")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option(
    "--chunk",
    type=click.IntRange(1, 10_000),
    default=1000,  # issuer.batches.run.DEFAULT_CHUNK (a test holds them equal)
    show_default=True,
    help="rows per transaction",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="signing processes (default: 2, or 1 on a single core)",
)
@click.option(
    "--errors-out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="where to write the error report (.csv or .xlsx) [default: FILE stem + .errors.csv]",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="language of the error report",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 100),
    default=5,
    show_default=True,
    help="times to resume by itself when the database connection is lost "
    "(waiting 2, 4, 8, 16, 30 s ...)",
)
@click.option(
    "--pdf-dir",
    type=click.Path(file_okay=False, writable=True, path_type=Path),
    default=None,
    help="then print: each certificate's signed PDF as DIR/<number>.pdf, and "
    "DIR/<FILE stem>-print.pdf with every page for the printer (unsigned)",
)
@click.option(
    "--photos",
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    default=None,
    help="a zip of the holders' photos, named <request_id> or <identity number> "
    ".jpg/.jpeg/.png; every row then needs its photo (read when the batch is first "
    "opened; a resumed batch uses the photos stored then)",
)
@click.option(
    "--pdf-workers",
    type=click.IntRange(1, 64),
    default=None,
    help="printing processes (default: one per core)",
)
def issue_command(
    file: Path,
    chunk: int,
    workers: int | None,
    errors_out: Path | None,
    lang: str,
    pdf_dir: Path | None,
    pdf_workers: int | None,
    retries: int,
    photos: Path | None,
) -> None:
    """Validate FILE, write its error report, and issue every valid row exactly once;
    with --pdf-dir, print the batch too. A lost database connection is waited out and
    the batch resumed (--retries times).

    Exits 0 when every valid row is issued (rows with errors are reported, not issued)
    and, with --pdf-dir, printed; 1 when the file cannot be used, issuing or printing
    stopped, or some certificates could not be printed (they are listed). Run the same
    command again to resume: issuing, then printing, continue where they stopped.
    """
    import datetime as dt

    from sqlalchemy.exc import OperationalError

    from issuer import batches
    from issuer.batches.reading import BatchFileError
    from issuer.batches.report import write_error_report
    from issuer.batches.store import error_text
    from issuer.db.engine import make_engine, upgrade
    from issuer.settings import IssuerSettings
    from keys import DocumentSigningKey, KeysError, KeyStore, office_document_key

    say = cli_lang()
    progress = _Progress(lang=say)

    def fail(message: str) -> NoReturn:
        progress.echo(f"jiaozi batch issue: {message}", err=True)
        sys.exit(EXIT_FAILED)

    try:
        settings = IssuerSettings()
    except Exception as exc:
        fail(_t("batch.settings", say, error=exc))
    now = dt.datetime.now(dt.UTC)
    try:
        store = KeyStore.from_env()
        signer = store.issuing_signer(settings.office_id, now=int(now.timestamp()))
    except KeysError as exc:
        fail(_t("batch.signing_key", say, office=settings.office_id, error=exc))
    document_key: DocumentSigningKey | None = None
    if pdf_dir is not None:  # before anything is issued: a missing key stops it all
        try:
            document_key = office_document_key(store, settings.office_id, now=int(now.timestamp()))
        except KeysError as exc:
            fail(_t("batch.document_key", say, office=settings.office_id, error=exc))
    engine = make_engine(settings.database_url)
    zipped: batches.PhotoZip | None = None
    try:
        if settings.auto_migrate:
            upgrade(engine)
        data = file.read_bytes()
        if workers is None:
            workers = min(batches.DEFAULT_WORKERS, os.cpu_count() or 1)
        report: Path | None = None

        def opened(ob: batches.OpenedBatch) -> None:
            nonlocal report
            b = ob.batch
            progress.echo(
                _t(
                    "batch.opened",
                    say,
                    id=b.id,
                    resumed=_t("batch.resumed", say) if ob.resumed else "",
                    file=file.name,
                    total=f"{b.total_rows:,}",
                    valid=f"{b.valid_rows:,}",
                    errors=f"{b.error_rows:,}",
                    before=f"{b.issued_rows:,}",
                )
            )
            errors = batches.batch_errors(b)
            if errors:
                report = errors_out or file.with_name(f"{file.stem}.errors.csv")
                fmt: Any = "xlsx" if report.suffix.lower() == ".xlsx" else "csv"
                report.write_bytes(write_error_report(errors, fmt=fmt, lang=lang))  # type: ignore[arg-type]
                progress.echo(_t("batch.error_report", say, path=report, n=f"{len(errors):,}"))
            progress.start = time.monotonic()  # the rate counts issuing, not reading

        attempt = 0
        while True:
            try:
                if photos is not None and zipped is None:
                    # read from the file as needed, never unpacked to disk
                    zipped = batches.open_photo_zip(
                        photos.open("rb"), max_total=2 * settings.batch_photos_max_bytes
                    )
                batch = batches.issue_file(
                    engine,
                    data=data,
                    filename=file.name,
                    signer=signer,
                    settings=settings,
                    actor=cli_actor(),
                    now_fn=lambda: dt.datetime.now(dt.UTC),
                    chunk=chunk,
                    workers=workers,
                    opened=opened,
                    progress=progress,
                    photos=zipped,
                )
                break
            except BatchFileError as exc:
                named = photos if exc.code.startswith("photos_") and photos else file
                fail(f"{named}: {exc.message_zh} / {exc.message}")
            except OperationalError as exc:
                # The database went away (restarted, failed over, the network): the open
                # chunk rolled back, and the same file resumes the batch where it stopped,
                # which is what the person at the terminal would do, so do it for them.
                attempt += 1
                if attempt > retries:
                    fail(_t("batch.stopped_retries", say, error=error_text(exc), retries=retries))
                wait = min(2**attempt, 30)
                progress.echo(
                    _t(
                        "batch.db_wait",
                        say,
                        error=error_text(exc),
                        wait=wait,
                        attempt=attempt,
                        retries=retries,
                    ),
                    err=True,
                )
                time.sleep(wait)
            except Exception as exc:
                fail(_t("batch.stopped", say, error=error_text(exc)))
        issued, valid = f"{batch.issued_rows:,}", f"{batch.valid_rows:,}"
        progress.echo(
            _t("batch.done", say, issued=issued, valid=valid)
            + (
                _t("batch.done_errors", say, errors=f"{batch.error_rows:,}", path=report)
                if report is not None
                else ""
            )
        )
        if batch.issued_rows != batch.valid_rows:
            fail(_t("batch.only", say, issued=issued, valid=valid))
        if pdf_dir is not None:
            assert document_key is not None
            _print(engine, batch, file, pdf_dir, settings, document_key, pdf_workers, fail)
    finally:
        if zipped is not None:
            zipped.close()
        engine.dispose()


def _print(
    engine: Any,
    batch: Any,
    file: Path,
    pdf_dir: Path,
    settings: Any,
    document_key: Any,
    workers: int | None,
    fail: Any,
) -> None:
    """Print the issued batch into ``pdf_dir`` (see ``issuer.batches.printing``)."""
    from issuer.batches import PrintUnavailableError, print_batch, print_file_name

    say = cli_lang()
    progress = _Progress(verb="batch.printed", lang=say)
    try:
        report = print_batch(
            engine,
            batch_id=batch.id,
            out_dir=pdf_dir,
            settings=settings,
            document_key=document_key,
            name=file.stem,
            workers=workers,
            progress=progress,
        )
    except PrintUnavailableError as exc:
        progress.end_line()
        fail(_t("print.unavailable", say, error=exc))
    except Exception as exc:
        progress.end_line()
        fail(_t("print.stopped", say, error=exc))
    made = _t("print.made", say, made=f"{report.made:,}") + (
        _t("print.present", say, present=f"{report.present:,}") if report.present else ""
    )
    n = f"{report.total - len(report.failures):,}"
    progress.echo(_t("print.done", say, n=n, dir=pdf_dir, made=made))
    if report.print_file is not None:
        pages = (
            _t("print.pages", say, pages=f"{report.print_pages:,}")
            if report.print_pages is not None
            else ""
        )
        progress.echo(_t("print.file", say, path=report.print_file, pages=pages))
    elif report.total:
        progress.echo(_t("print.no_file", say, path=pdf_dir / print_file_name(file.stem)))
    for row, number, status in report.not_valid:
        progress.echo(_t("print.not_valid", say, row=row, number=number, status=status))
    if report.failures:
        for f in report.failures:
            progress.echo(
                _t(
                    "print.cannot",
                    say,
                    row=f.row_number,
                    number=f.certificate_number,
                    error=f.message,
                ),
                err=True,
            )
        fail(_t("print.failures", say, n=f"{len(report.failures):,}"))


# --- a batch's artefacts, by its id ------------------------------------------------------------

_STATES = {f"batch.state.{s}" for s in ("validating", "issuing", "done", "failed")}
BatchIdArg = click.argument("batch_id", type=click.IntRange(1, 2**31 - 1))


def _stop(command: str, message: str) -> NoReturn:
    click.echo(f"jiaozi batch {command}: {message}", err=True)
    sys.exit(EXIT_FAILED)


@contextlib.contextmanager
def _office(command: str, batch_id: int) -> Iterator[tuple[Any, Any, Any]]:
    """Yield (settings, engine, session) with batch ``batch_id`` of this office checked to
    exist; stop with a one-line message (exit 1) when it does not."""
    from sqlalchemy.orm import Session

    from issuer import batches
    from issuer.cli._common import writer_engine
    from issuer.errors import NotFound
    from issuer.settings import IssuerSettings

    try:
        settings = IssuerSettings()
    except Exception as exc:
        _stop(command, _t("batch.settings", cli_lang(), error=exc))
    engine = writer_engine(settings)
    try:
        with Session(engine) as session:
            try:
                batches.get_batch(session, batch_id=batch_id, settings=settings)
            except NotFound:
                _stop(
                    command,
                    _t("batch.no_batch", cli_lang(), id=batch_id, office=settings.office_id),
                )
            yield settings, engine, session
    finally:
        engine.dispose()


def _document_key(command: str, settings: Any) -> Any:
    import datetime as dt

    from keys import KeysError, KeyStore, office_document_key

    now = int(dt.datetime.now(dt.UTC).timestamp())
    try:
        return office_document_key(KeyStore.from_env(), settings.office_id, now=now)
    except KeysError as exc:
        _stop(command, _t("batch.document_key", cli_lang(), office=settings.office_id, error=exc))


def _write(out: Path, data: bytes) -> None:
    """Write ``data`` to ``out`` whole or not at all (a temporary name, then renamed)."""
    import os

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


@batch_group.command("status")
@BatchIdArg
def status_command(batch_id: int) -> None:
    """Show batch BATCH_ID's state and progress (rows done, rows per second, time left)."""
    import datetime as dt

    from issuer import batches

    with _office("status", batch_id) as (settings, _engine, session):
        b = batches.get_batch(session, batch_id=batch_id, settings=settings)
        p = batches.batch_progress(b, now=dt.datetime.now(dt.UTC))
    from credential import beijing_text

    say = cli_lang()
    rate = (
        "-"
        if p.rows_per_second is None
        else _t("batch.rate", say, rate=f"{p.rows_per_second:,.1f}")
    )
    left = "-" if p.seconds_left is None else _t("batch.left", say, seconds=f"{p.seconds_left:,}")
    state_key = f"batch.state.{b.state}"
    click.echo(
        _t(
            "batch.status",
            say,
            id=b.id,
            file=b.filename,
            state=_t(state_key, say) if state_key in _STATES else b.state,
            total=f"{b.total_rows:,}",
            errors=f"{b.error_rows:,}",
            done=f"{p.done:,}",
            all=f"{p.total:,}",
            rate=rate,
            left=left,
            started=beijing_text(b.created_at, say),
        )
    )


@batch_group.command("codes")
@BatchIdArg
def codes_command(batch_id: int) -> None:
    """Make the claim codes of batch BATCH_ID's teachers (one step; again makes none new).

    A teacher whose code was made after the batch was uploaded (by this command before, or
    one at a time after a lost letter) keeps it. Print them with ``letters``/``manifest``.
    """
    import datetime as dt

    from issuer import holder
    from issuer.cli._common import cli_actor

    with _office("codes", batch_id) as (settings, _engine, session):
        made = holder.make_batch_codes(
            session,
            batch_id=batch_id,
            office_id=settings.office_id,
            settings=settings,
            actor=cli_actor(),
            now=dt.datetime.now(dt.UTC),
        )
    click.echo(
        _t(
            "batch.codes",
            cli_lang(),
            id=batch_id,
            made=f"{made.made:,}",
            kept=f"{made.kept:,}",
            not_valid=f"{made.not_valid:,}",
        )
    )


@batch_group.command("manifest")
@BatchIdArg
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="the manifest file: .csv (UTF-8 with BOM) or .xlsx",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="language of the manifest",
)
def manifest_command(batch_id: int, out: Path, lang: str) -> None:
    """Write batch BATCH_ID's manifest: every row, its certificate number or its errors,
    and its teacher's live claim code (a secret list: keep it as the letters)."""
    import datetime as dt

    from issuer import batches, holder
    from issuer.cli._common import cli_actor

    fmt: Any = "xlsx" if out.suffix.lower() == ".xlsx" else "csv"
    now = dt.datetime.now(dt.UTC)
    with _office("manifest", batch_id) as (settings, _engine, session):
        b = batches.get_batch(session, batch_id=batch_id, settings=settings)
        rows = holder.batch_holders(
            session, batch_id=batch_id, office_id=settings.office_id, settings=settings, now=now
        )
        _write(out, batches.write_manifest(rows, batches.batch_errors(b), fmt=fmt, lang=lang))  # type: ignore[arg-type]
        holder.record_codes_shown(
            session,
            batch_id=batch_id,
            artefact=f"manifest.{fmt}",
            holders=rows,
            actor=cli_actor(),
            now=now,
        )
    live = sum(1 for r in rows if r.state == "live")
    click.echo(_t("batch.manifest", cli_lang(), path=out, rows=f"{len(rows):,}", live=f"{live:,}"))


@batch_group.command("letters")
@BatchIdArg
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="the PDF to write",
)
def letters_command(batch_id: int, out: Path) -> None:
    """Write batch BATCH_ID's claim letters: one A4 page per teacher with a live code."""
    import datetime as dt

    from issuer import holder
    from issuer.cli._common import cli_actor
    from issuer.pdf import PdfError

    now = dt.datetime.now(dt.UTC)
    with _office("letters", batch_id) as (settings, _engine, session):
        rows = holder.batch_holders(
            session, batch_id=batch_id, office_id=settings.office_id, settings=settings, now=now
        )
        try:
            pdf = holder.batch_letters_pdf(rows, settings=settings)
        except PdfError as exc:
            _stop("letters", _t("batch.no_letter", cli_lang(), error=exc))
        if pdf is None:
            _stop("letters", _t("batch.no_codes", cli_lang(), id=batch_id))
        _write(out, pdf)
        holder.record_codes_shown(
            session,
            batch_id=batch_id,
            artefact="claim-letters.pdf",
            holders=rows,
            actor=cli_actor(),
            now=now,
        )
    teachers = len({r.person for r in rows if r.state == "live"})
    click.echo(_t("batch.letters", cli_lang(), path=out, pages=f"{teachers:,}"))


@batch_group.command("print")
@BatchIdArg
@click.option(
    "--pdf-dir",
    required=True,
    type=click.Path(file_okay=False, writable=True, path_type=Path),
    help="each certificate's signed PDF as DIR/<number>.pdf, and DIR/batch-<id>-print.pdf",
)
@click.option(
    "--pdf-workers",
    type=click.IntRange(1, 64),
    default=None,
    help="printing processes (default: one per core)",
)
def print_command(batch_id: int, pdf_dir: Path, pdf_workers: int | None) -> None:
    """Print issued batch BATCH_ID (as ``issue --pdf-dir`` does); run again to resume."""
    from types import SimpleNamespace

    with _office("print", batch_id) as (settings, engine, _session):
        key = _document_key("print", settings)

        def fail(message: str) -> NoReturn:
            _stop("print", message)

        batch = SimpleNamespace(id=batch_id)
        _print(engine, batch, Path(f"batch-{batch_id}"), pdf_dir, settings, key, pdf_workers, fail)


@batch_group.command("zip")
@BatchIdArg
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="the zip to write: <number>.pdf per valid certificate",
)
def zip_command(batch_id: int, out: Path) -> None:
    """Write batch BATCH_ID's signed PDFs as one zip, made as it is written."""
    import os

    from issuer import batches

    with _office("zip", batch_id) as (settings, engine, _session):
        key = _document_key("zip", settings)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as f:
                for piece in batches.certificates_zip(
                    engine, batch_id=batch_id, settings=settings, document_key=key
                ):
                    f.write(piece)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
    click.echo(_t("batch.zip", cli_lang(), path=out, size=f"{out.stat().st_size:,}"))
