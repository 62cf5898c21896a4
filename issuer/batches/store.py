"""The stored batch: its row, its state, the row errors kept with it, and how a file
becomes a batch.

``open_batch``/``start_batch`` read the file (``issuer.batches.reading.read_batch``), store the
row errors (masked previews only) and create the batch row; the same file again for the
same office (``UNIQUE (office_id, file_sha256)``) finds that row instead of making a new
one. Rows outside the office's qualification scope, rows whose person the restricted
list bars, and rows whose person already holds a valid or suspended certificate of the row's
qualification type and subject (naming it) become row errors here as well.

``errors_json`` holds ``{"rows": [{row, column, field, code, message_zh, message_en,
value}], "failure": null | {message, message_zh}}`` (values masked by ``read_batch``).
States: ``validating`` -> ``issuing`` -> ``done``, or ``failed`` with the reason kept in
``errors_json`` (the same file again resumes a failed batch).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credential import beijing_date, mask_id
from issuer import issuance
from issuer.batches.photos import PhotoZip, digests_of, match_photos, photos_required_error
from issuer.batches.reading import (
    DEFAULT_MAX_ROWS,
    ApplicantRow,
    BatchFileError,
    FirstRows,
    RowError,
    read_batch,
)
from issuer.db import tables, write
from issuer.db.models import Batch
from issuer.errors import NotFound
from issuer.fields import FieldError, ValidationFailed
from issuer.photos import Photo
from issuer.settings import IssuerSettings

__all__ = [
    "DONE",
    "FAILED",
    "ISSUING",
    "STATES",
    "VALIDATING",
    "BatchFailure",
    "OpenedBatch",
    "batch_errors",
    "batch_failure",
    "error_text",
    "failure_reason",
    "file_sha256",
    "gc_frozen",
    "get_batch",
    "open_batch",
    "refuse_held_rows",
    "set_state",
    "start_batch",
]

VALIDATING, ISSUING, DONE, FAILED = "validating", "issuing", "done", "failed"
STATES = (VALIDATING, ISSUING, DONE, FAILED)

_BATCH = tables.BATCH


def file_sha256(data: bytes) -> str:
    """Return the hex SHA-256 naming a batch file (the same bytes resume the same batch)."""
    return hashlib.sha256(data).hexdigest()


# --- errors as stored ----------------------------------------------------------------------


def _error_json(e: RowError) -> dict[str, Any]:
    return {
        "row": e.row_number,
        "column": e.column,
        "field": e.field,
        "code": e.code,
        "message_zh": e.message_zh,
        "message_en": e.message_en,
        "value": e.value_preview,  # masked by read_batch: never a whole identity number
        "request_id": e.request_id,
        "name": e.name,
    }


@dataclass(frozen=True, slots=True)
class BatchFailure:
    """Why a batch stopped (kept until a re-run succeeds)."""

    message: str
    message_zh: str


def _stored(batch: Batch) -> dict[str, Any]:
    try:
        value = json.loads(batch.errors_json or "[]")
    except ValueError:
        return {"rows": [], "failure": None}
    if isinstance(value, list):  # the column's default
        return {"rows": value, "failure": None}
    return value if isinstance(value, dict) else {"rows": [], "failure": None}


def batch_errors(batch: Batch) -> list[RowError]:
    """Return the row errors stored with ``batch`` (for ``write_error_report``)."""
    out: list[RowError] = []
    for e in _stored(batch).get("rows") or []:
        out.append(
            RowError(
                row_number=int(e["row"]),
                column=str(e["column"]),
                field=str(e["field"]),
                code=str(e["code"]),
                message_zh=str(e["message_zh"]),
                message_en=str(e["message_en"]),
                value_preview=str(e["value"]),
                request_id=str(e.get("request_id") or ""),  # absent in batches stored before
                name=str(e.get("name") or ""),
            )
        )
    return out


def batch_failure(batch: Batch) -> BatchFailure | None:
    """Return why ``batch`` failed, or None."""
    f = _stored(batch).get("failure")
    if not isinstance(f, dict):
        return None
    return BatchFailure(str(f.get("message", "")), str(f.get("message_zh", "")))


def _errors_json(rows: Sequence[RowError], failure: BatchFailure | None = None) -> str:
    body: dict[str, Any] = {"rows": [_error_json(e) for e in rows], "failure": None}
    if failure is not None:
        body["failure"] = {"message": failure.message, "message_zh": failure.message_zh}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def error_text(exc: BaseException) -> str:
    """Return one line naming ``exc`` for a person and a stored batch: for a database
    error the driver's first line only, never SQLAlchemy's statement and parameters (a
    batch's rows hold names, birth dates, masked numbers and person references)."""
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        lines = str(exc.orig).strip().splitlines()
        return f"{type(exc.orig).__name__}: {lines[0] if lines else ''}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


def failure_reason(exc: BaseException) -> BatchFailure:
    """Return what a batch stopped by ``exc`` says about it (and how to resume)."""
    if isinstance(exc, KeyboardInterrupt):
        return BatchFailure(
            "interrupted; run the same file again to resume", "已中断；再次提交同一文件即可继续"
        )
    text = error_text(exc)
    return BatchFailure(
        f"{text}; run the same file again to resume",
        f"签发中断（{text}）；再次提交同一文件即可继续",
    )


def set_state(
    engine: Engine,
    batch_id: int,
    state: str,
    *,
    now: dt.datetime | None = None,
    failure: BatchFailure | None = None,
    run_started: tuple[dt.datetime, int] | None = None,
) -> None:
    """Set batch ``batch_id``'s state and finishing time; a failure's reason is stored
    with its row errors, and cleared again when the batch is done. ``run_started``
    (time, rows issued before) marks the start of a run of issuing: the baseline of the
    progress figures (``batch_progress``)."""
    with Session(engine) as session, write(session):
        batch = session.get(Batch, batch_id)
        assert batch is not None
        values: dict[str, Any] = {"state": state, "finished_at": now}
        if run_started is not None:
            values["run_started_at"], values["run_started_rows"] = run_started
        if state == DONE or failure is not None or batch_failure(batch) is not None:
            values["errors_json"] = _errors_json(batch_errors(batch), failure)
        session.execute(sa.update(_BATCH).where(_BATCH.c.id == batch_id).values(**values))


# --- opening a batch -------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedBatch:
    """A batch row and the valid rows of its file (empty when the batch is done)."""

    batch: Batch
    rows: tuple[ApplicantRow, ...]
    resumed: bool


def _find(session: Session, office_id: str, digest: str) -> Batch | None:
    return session.execute(
        sa.select(Batch).where(_BATCH.c.office_id == office_id, _BATCH.c.file_sha256 == digest)
    ).scalar_one_or_none()


def get_batch(session: Session, *, batch_id: int, settings: IssuerSettings) -> Batch:
    """Return batch ``batch_id`` of this office, as now stored and detached from
    ``session`` (its values stay readable after the session ends); raises NotFound."""
    batch = session.execute(
        sa.select(Batch).where(_BATCH.c.id == batch_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if batch is not None:
        session.expunge(batch)
    if batch is None or batch.office_id != settings.office_id:
        raise NotFound(
            "No such batch", "批次不存在", f"No batch {batch_id}.", f"没有批次{batch_id}。"
        )
    return batch


def _scope_errors(
    rows: Sequence[ApplicantRow], settings: IssuerSettings, column: str
) -> tuple[list[ApplicantRow], list[RowError]]:
    """Split off rows of qualification types outside the office's scope (as row errors)."""
    scope = settings.qualification_scope
    keep: list[ApplicantRow] = []
    errors: list[RowError] = []
    for row in rows:
        if row.qualification_type in scope:
            keep.append(row)
            continue
        try:
            issuance.check_scope(row, settings=settings)  # type: ignore[arg-type]
            keep.append(row)  # pragma: no cover - the scope said otherwise
        except ValidationFailed as exc:
            fe = exc.errors[0]
            errors.append(
                RowError(
                    row.row_number,
                    column,
                    "qualification_type",
                    fe.code,
                    fe.message_zh,
                    fe.message,
                    row.qualification_type.slug,
                    row.request_id or "",
                    row.name,
                )
            )
    return keep, errors


def _id_number_error(row: ApplicantRow, column: str, fe: FieldError) -> RowError:
    """Return the row error of ``fe``, a refusal of the row's person (its identity number,
    shown masked)."""
    return RowError(
        row.row_number,
        column,
        "id_number",
        fe.code,
        fe.message_zh,
        fe.message,
        mask_id(row.id_number),
        row.request_id or "",
        row.name,
    )


def _barred_errors(
    session: Session, rows: Sequence[ApplicantRow], settings: IssuerSettings, column: str
) -> tuple[list[ApplicantRow], list[RowError]]:
    """Split off rows whose person the restricted list bars (as row errors)."""
    r, n = tables.RESTRICTION.c, tables.NATIONAL_RESTRICTION.c
    if (
        session.execute(sa.select(r.id).where(r.removed_at.is_(None)).limit(1)).first() is None
        and session.execute(sa.select(n.ref).where(n.removed_at.is_(None)).limit(1)).first() is None
    ):
        # Nobody is on the list: no person reference (an HMAC over the identity number
        # validated once more) needs computing to know that none is barred.
        session.rollback()
        return list(rows), []
    refs = {
        row.row_number: issuance.person_ref(settings, row.id_type, row.id_number) for row in rows
    }
    barred = issuance.barred_refs(
        session, refs.values(), on=min((r.certified_on for r in rows), default=dt.date.max)
    )
    session.rollback()  # a read only: no transaction stays open
    keep: list[ApplicantRow] = []
    errors: list[RowError] = []
    for row in rows:
        entry = barred.get(refs[row.row_number])
        # a revoked bar runs to its date counted from the certification date of the row
        if entry is None or (
            entry.category != "lost" and entry.bar_until and entry.bar_until <= row.certified_on
        ):
            keep.append(row)
            continue
        errors.append(_id_number_error(row, column, issuance.barred_error(entry)))
    return keep, errors


def _held_errors(
    session: Session,
    rows: Sequence[ApplicantRow],
    settings: IssuerSettings,
    column: str,
    batch_id: int,
) -> tuple[list[ApplicantRow], list[RowError]]:
    """Split off rows whose person already holds a valid or suspended certificate of the
    row's qualification type and subject (naming it). One SELECT per 500 persons; the
    certificates this batch issued itself (a resumed run skips their rows) do not count.
    (A person twice in one file is refused when the file is read: ``duplicate_row``.)"""
    if not rows:
        return [], []
    key_of = {
        row.row_number: (
            issuance.id_number_hash(settings, row),
            int(row.qualification_type),
            row.subject,
        )
        for row in rows
    }
    held = issuance.held_certificates(session, key_of.values())
    own: set[str] = set()
    if held:
        c, item = tables.CERTIFICATE.c, tables.BATCH_ITEM.c
        own = set(
            session.execute(
                sa.select(c.certificate_number)
                .join(tables.BATCH_ITEM, item.certificate_id == c.id)
                .where(item.batch_id == batch_id)
            ).scalars()
        )
    keep: list[ApplicantRow] = []
    errors: list[RowError] = []
    for row in rows:
        key = key_of[row.row_number]
        number = held.get(key)
        if number is not None and number not in own:
            errors.append(_id_number_error(row, column, issuance.already_certified_error(number)))
        else:
            keep.append(row)
    return keep, errors


def refuse_held_rows(
    engine: Engine, batch_id: int, rows: Sequence[ApplicantRow], *, settings: IssuerSettings
) -> set[int]:
    """Make row errors of those of ``rows`` whose person now holds the row's qualification
    (certified meanwhile by another batch or request); return their row numbers.

    What a chunk refused by the one-certificate-per-person index does before it runs
    again: the refused rows leave the batch's valid rows and join its stored errors."""
    with Session(engine) as session, write(session):
        batch = session.get(Batch, batch_id)
        assert batch is not None
        stored = batch_errors(batch)
        zh = any(not e.column.isascii() for e in stored)
        _, refused = _held_errors(
            session, rows, settings, "证件号码" if zh else "id_number", batch_id
        )
        if not refused:
            return set()
        errors = sorted([*stored, *refused], key=lambda e: e.row_number)
        session.execute(
            sa.update(_BATCH)
            .where(_BATCH.c.id == batch_id)
            .values(
                valid_rows=_BATCH.c.valid_rows - len(refused),
                error_rows=len({e.row_number for e in errors}),
                errors_json=_errors_json(errors, batch_failure(batch)),
            )
        )
    return {e.row_number for e in refused}


@contextlib.contextmanager
def gc_frozen() -> Iterator[None]:
    """Keep the cyclic garbage collector off every object that exists now, until the end.

    A batch holds its file's rows (tens of thousands of objects) for minutes, and each
    full collection would walk them and the rest of the process again, in the middle of
    reading or of a chunk. ``gc.freeze`` only sets them aside (nothing is freed or lost;
    ``gc.unfreeze`` gives them back, and garbage among them is collected later as usual).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _store_photos(session: Session, batch_id: int, photos: dict[int, Photo]) -> None:
    """Insert the batch's normalised photos (500 to a statement)."""
    items = sorted(photos.items())
    for i in range(0, len(items), 500):
        session.execute(
            sa.insert(tables.BATCH_PHOTO),
            [
                {"batch_id": batch_id, "row_number": n, "sha256": p.sha256_hex, "jpeg": p.jpeg}
                for n, p in items[i : i + 500]
            ],
        )


def _stored_photos(
    session: Session, batch_id: int, rows: Sequence[ApplicantRow], stored: Sequence[RowError]
) -> tuple[list[ApplicantRow], list[RowError]]:
    """Return the rows of a resumed batch with photos: those issued already (skipped by
    the run) and those whose photo is stored (with its digest); and the photo errors
    stored when the batch was opened (their rows stay errors)."""
    p, item = tables.BATCH_PHOTO.c, tables.BATCH_ITEM.c
    digests = digests_of(
        session.execute(sa.select(p.row_number, p.sha256).where(p.batch_id == batch_id)).all()
    )
    issued = set(
        session.execute(sa.select(item.row_number).where(item.batch_id == batch_id)).scalars()
    )
    session.rollback()
    keep = [
        r._replace(photo_digest=digests[r.row_number]) if r.row_number in digests else r
        for r in rows
        if r.row_number in digests or r.row_number in issued
    ]
    return keep, [e for e in stored if e.field == "photo"]


def open_batch(
    session: Session,
    *,
    data: bytes,
    filename: str,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
    max_rows: int = DEFAULT_MAX_ROWS,
    first_rows: FirstRows | None = None,
    photos: PhotoZip | None = None,
    workers: int = 1,
) -> OpenedBatch:
    """Validate the file and return its batch (created, or found for the same file).

    Every row is validated before anything is issued; row errors are stored (masked).
    ``first_rows`` goes to ``read_batch`` as ``on_first_rows`` when this call creates the
    batch (a resumed one has issued rows already). Raises BatchFileError (nothing stored)
    when the file as a whole is unusable.

    ``photos``: the zip of the holders' photos (``issuer.batches.photos``), read when the
    batch is created: every valid row needs its photo (normalised in ``workers``
    processes), stored with the batch (``batch_photo``) until the row is issued. A resumed
    batch uses the photos stored at its creation and never reads a zip; a zip sent with
    the file of a batch made without one is refused (its rows are issued, or being
    issued, without photos). With ``JIAOZI_PHOTO_REQUIRED`` a new batch without a zip is
    refused as a whole.
    """
    digest = file_sha256(data)
    office = settings.office_id
    batch = _find(session, office, digest)
    if batch is not None and photos is not None and not batch.with_photos:
        raise BatchFileError(
            "photos_after_start",
            f"this file was uploaded before without photos (batch {batch.id}): its"
            " certificates are issued without them, and a zip sent now is not used",
            f"该文件此前已在未附照片的情况下上传（批次{batch.id}），其证书不带照片签发，"
            "现在上传的照片压缩包不会被使用",
        )
    if batch is None and photos is None and settings.photo_required:
        raise photos_required_error()
    created = False
    if batch is None:
        batch = Batch(
            office_id=office,
            filename=(filename or "batch")[:300],
            file_sha256=digest,
            state=VALIDATING,
            created_by=actor,
            created_at=now,
            with_photos=photos is not None,
        )
        try:
            with write(session):  # (ends the read above: BEGIN IMMEDIATE on SQLite)
                session.add(batch)
            created = True
        except IntegrityError:  # the same file, posted concurrently: that batch it is
            batch = _find(session, office, digest)
            assert batch is not None
    batch_id, state, with_photos = batch.id, batch.state, batch.with_photos
    if with_photos and state == VALIDATING and photos is None:
        # stopped while it was first read: its photos were never stored
        raise BatchFileError(
            "photos_needed_again",
            f"batch {batch_id} stopped before its photos were read: send the zip of photos"
            " with the file again",
            f"批次{batch_id}在读取照片前中断：请随文件再次上传照片压缩包",
        )
    stored_errors = batch_errors(batch) if not created else []
    assert batch_id is not None
    session.rollback()  # no transaction stays open while the file is read
    if state == DONE:
        return OpenedBatch(get_batch(session, batch_id=batch_id, settings=settings), (), True)
    try:
        with gc_frozen():
            parsed = read_batch(
                data,
                filename=filename,
                max_rows=max_rows,
                today=beijing_date(now),
                settings=settings,
                on_first_rows=first_rows if created else None,
            )
    except BatchFileError:
        if created:  # the file is refused as a whole: leave no trace of it
            with write(session):
                session.execute(
                    sa.delete(_BATCH).where(_BATCH.c.id == batch_id, _BATCH.c.state == VALIDATING)
                )
        raise
    column = "资格种类" if parsed.header_language == "zh" else "qualification_type"
    rows, scope_errors = _scope_errors(parsed.rows, settings, column)
    id_column = "证件号码" if parsed.header_language == "zh" else "id_number"
    rows, barred_errors = _barred_errors(session, rows, settings, id_column)
    rows, held_errors = _held_errors(session, rows, settings, id_column, batch_id)
    session.rollback()  # reads only: no transaction stays open
    photo_errors: list[RowError] = []
    new_photos: dict[int, Photo] = {}
    if with_photos and state == VALIDATING and photos is not None:
        photo_column = "照片" if parsed.header_language == "zh" else "photo"
        rows, new_photos, photo_errors = match_photos(
            rows, photos, column=photo_column, workers=workers
        )
    elif with_photos:  # resumed: the photos stored when the batch was made
        rows, photo_errors = _stored_photos(session, batch_id, rows, stored_errors)
    errors = sorted(
        [*parsed.errors, *scope_errors, *barred_errors, *held_errors, *photo_errors],
        key=lambda e: e.row_number,
    )
    if state == VALIDATING:
        with write(session):
            _store_photos(session, batch_id, new_photos)
            session.execute(
                sa.update(_BATCH)
                .where(_BATCH.c.id == batch_id, _BATCH.c.state == VALIDATING)
                .values(
                    total_rows=parsed.total_rows,
                    valid_rows=len(rows),
                    error_rows=len({e.row_number for e in errors}),
                    errors_json=_errors_json(errors),
                    state=ISSUING if rows else DONE,
                    finished_at=None if rows else now,
                )
            )
    elif state == FAILED and rows:  # the same file again: that is how a failed run resumes
        with write(session):
            session.execute(
                sa.update(_BATCH)
                .where(_BATCH.c.id == batch_id, _BATCH.c.state == FAILED)
                .values(
                    state=ISSUING,
                    finished_at=None,
                    # a person certified meanwhile (another batch, a request) is an error now
                    valid_rows=len(rows),
                    error_rows=len({e.row_number for e in errors}),
                    errors_json=_errors_json(errors),
                )
            )
    batch = get_batch(session, batch_id=batch_id, settings=settings)
    return OpenedBatch(batch, tuple(rows), resumed=not created)


def start_batch(
    session: Session,
    *,
    data: bytes,
    filename: str,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> Batch:
    """Return the batch of ``data`` (see :func:`open_batch`; the rows are not kept)."""
    return open_batch(
        session,
        data=data,
        filename=filename,
        settings=settings,
        actor=actor,
        now=now,
        max_rows=max_rows,
    ).batch
