"""Batch issuance over HTTP: upload a round's file, poll its progress, fetch its errors
(its other artefacts are ``issuer.web.routes.batch_artefacts``).

``POST /api/v1/batches`` validates the whole file while the request waits (a file that is
unusable as a whole is 422 and leaves nothing behind), answers 202 with the counts, and
issues the valid rows in a background thread of this server. The same file posted again
answers with the same batch and resumes it if it is not done (after a restart, say).
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import logging
import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUploadFile

from credential import DualSigner, KeySigner, rfc3339
from issuer import batches
from issuer.batches.reading import DEFAULT_MAX_ROWS, ApplicantRow, BatchFileError
from issuer.batches.report import write_error_report
from issuer.db.models import Batch
from issuer.errors import IssuerError, NotFound
from issuer.fields import FieldError, ValidationFailed
from issuer.settings import IssuerSettings
from issuer.web.deps import Clerk, DbSession, Now, Principal, Settings, SignerDep
from issuer.web.problems import language
from issuer.web.routes._common import AUTH, problems
from keys import KeysError, KeyStore

__all__ = [
    "CSV_TYPE",
    "MAX_UPLOAD_BYTES",
    "XLSX_TYPE",
    "BatchFileRefused",
    "BatchId",
    "BatchLinks",
    "BatchProgressOut",
    "BatchStatus",
    "Lang",
    "PhotosRefused",
    "PhotosTooLarge",
    "Upload",
    "UploadTooLarge",
    "limits",
    "own_batch",
    "photos_too_large",
    "receive_upload",
    "router",
    "start_upload",
    "too_large",
]

log = logging.getLogger("jiaozi.issuer.batches")
router = APIRouter(tags=["batches"])
BatchId = Annotated[int, Path(ge=1, le=2**31 - 1)]

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # contract section 10
_MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file itself
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UploadTooLarge(IssuerError):
    status = 413
    code = "upload_too_large"


class BatchFileRefused(IssuerError):
    status = 422
    code = "batch_file"


class PhotosRefused(BatchFileRefused):
    """The zip of photos cannot be used as a whole (the console says it beside its field)."""


class PhotosTooLarge(UploadTooLarge):
    """The zip of photos is over ``JIAOZI_BATCH_PHOTOS_MAX_BYTES``."""


class BatchLinks(BaseModel):
    self: str
    errors_csv: str
    errors_xlsx: str
    manifest_csv: str
    manifest_xlsx: str
    claim_codes: str = Field(description="POST: make the teachers' claim codes")
    claim_letters: str
    certificates_zip: str
    print_pdf: str


class BatchProgressOut(BaseModel):
    """Live progress, from stored timestamps: the current run's rows over its time."""

    done: int = Field(description="rows issued")
    total: int = Field(description="valid rows, to be issued")
    rows_per_second: float | None = Field(description="null before a run has issued a row")
    seconds_left: int | None = Field(
        description="0 when finished; null when it cannot be estimated"
    )


class BatchStatus(BaseModel):
    """A batch and its progress. ``state``: validating, issuing, done or failed."""

    id: int
    state: Literal["validating", "issuing", "done", "failed"]
    filename: str
    file_sha256: str
    total_rows: int = Field(description="non-blank data rows in the file")
    valid_rows: int = Field(description="rows that passed validation (to be issued)")
    error_rows: int = Field(description="rows with at least one error (not issued)")
    issued_rows: int
    created_at: str
    finished_at: str | None = None
    failure: str | None = Field(default=None, description="why a failed batch stopped")
    progress: BatchProgressOut
    links: BatchLinks


def _status(batch: Batch, settings: IssuerSettings, *, en: bool, now: dt.datetime) -> BatchStatus:
    base = f"{settings.public_url}/api/v1/batches/{batch.id}"
    failure = batches.batch_failure(batch) if batch.state == batches.FAILED else None
    assert batch.id is not None
    return BatchStatus(
        id=batch.id,
        state=batch.state,  # type: ignore[arg-type]
        filename=batch.filename,
        file_sha256=batch.file_sha256,
        total_rows=batch.total_rows,
        valid_rows=batch.valid_rows,
        error_rows=batch.error_rows,
        issued_rows=batch.issued_rows,
        created_at=rfc3339(batch.created_at),
        finished_at=None if batch.finished_at is None else rfc3339(batch.finished_at),
        failure=None if failure is None else (failure.message if en else failure.message_zh),
        progress=BatchProgressOut(**dataclasses.asdict(batches.batch_progress(batch, now=now))),
        links=BatchLinks(
            self=base,
            errors_csv=f"{base}/errors.csv",
            errors_xlsx=f"{base}/errors.xlsx",
            manifest_csv=f"{base}/manifest.csv",
            manifest_xlsx=f"{base}/manifest.xlsx",
            claim_codes=f"{base}/claim-codes",
            claim_letters=f"{base}/claim-letters.pdf",
            certificates_zip=f"{base}/certificates.zip",
            print_pdf=f"{base}/print.pdf",
        ),
    )


def _english(accept_language: str | None) -> bool:
    return language(accept_language) == "en"


# --- background runs -------------------------------------------------------------------------

_running: dict[tuple[int, int], threading.Thread] = {}
_running_lock = threading.Lock()


def _signer_ref(request: Request, signer: Any) -> batches.SignerRef | None:
    """Return how a spawned signing worker re-opens this server's key, if it can: the
    app's ``batch_signer_ref(signer)`` if set, else the key store of this environment
    when it holds the signer's key (``jiaozi issuer serve``); otherwise None (the server
    then signs batches in its own process)."""
    provider = getattr(request.app.state, "batch_signer_ref", None)
    if callable(provider):
        return provider(signer)  # type: ignore[no-any-return]
    if not isinstance(signer, KeySigner | DualSigner):
        return None
    try:
        store = KeyStore.from_env()
        found = store.find(signer.kid)
    except (KeysError, OSError):
        return None
    if found is None:
        return None
    return batches.SignerRef.for_key_store(signer, home=store.home, owner=found[0])


def _start_run(
    request: Request,
    *,
    batch_id: int,
    rows: tuple[ApplicantRow, ...],
    signer: Any,
    settings: IssuerSettings,
    actor: str,
) -> None:
    """Issue the batch in a thread of this server, unless one already is."""
    engine = request.app.state.engine
    key = (id(engine), batch_id)
    workers = int(getattr(request.app.state, "batch_workers", batches.DEFAULT_WORKERS))
    ref = _signer_ref(request, signer)

    def work() -> None:
        try:
            batches.run_batch(
                engine,
                batch_id=batch_id,
                rows=rows,
                signer=signer,
                settings=settings,
                actor=actor,
                now_fn=lambda: dt.datetime.now(dt.UTC),
                workers=workers,
                signer_ref=ref,
            )
        except Exception:
            log.exception("batch %s failed (re-post the same file to resume)", batch_id)
        finally:
            with _running_lock:
                _running.pop(key, None)

    with _running_lock:
        if key in _running:
            return
        # in the upload's context: the batch's log lines carry that request's id (ops)
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run, args=(work,), name=f"jiaozi-batch-{batch_id}", daemon=True
        )
        _running[key] = thread
    thread.start()


def wait_for_batches(timeout: float = 60.0) -> None:
    """Wait for this process's background batch runs (tests, orderly shutdown)."""
    with _running_lock:
        threads = list(_running.values())
    for t in threads:
        t.join(timeout)


# --- routes ------------------------------------------------------------------------------------


def limits(settings: IssuerSettings) -> tuple[int, int]:
    """Return (upload bytes, data rows) allowed: the contract's defaults unless the
    settings carry ``batch_max_bytes``/``batch_max_rows``."""
    max_bytes = int(getattr(settings, "batch_max_bytes", MAX_UPLOAD_BYTES))
    max_rows = int(getattr(settings, "batch_max_rows", DEFAULT_MAX_ROWS))
    return max_bytes, max_rows


def too_large(limit: int) -> UploadTooLarge:
    """Return the refusal of an upload over ``limit`` bytes."""
    return UploadTooLarge(
        "The file is too large",
        "文件过大",
        f"A batch file may be at most {limit:,} bytes; split it into smaller files.",
        f"批量文件不能超过{limit}字节；请拆分为多个文件。",
    )


@router.post(
    "/api/v1/batches",
    status_code=202,
    response_model=BatchStatus,
    responses={**AUTH, **problems(400, 413)},
    summary="Upload a batch file (CSV UTF-8/GB18030 or XLSX) and issue its valid rows",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "photos": {
                                "type": "string",
                                "format": "binary",
                                "description": "a zip of the holders' photos, named "
                                "<request_id> or <identity number> .jpg/.jpeg/.png",
                            },
                        },
                    }
                }
            },
        }
    },
    description=(
        "Multipart field `file`, and optionally `photos`: a zip of the holders' photos "
        "(JPEG or PNG named by the row's `request_id` or identity number; every row then "
        "needs its photo, a missing or bad one is a row error; at most "
        "JIAOZI_BATCH_PHOTOS_MAX_BYTES, 1 GiB by default). Every row is validated before "
        "anything is issued; rows with "
        "errors are listed in the error report (`links.errors_csv`, `links.errors_xlsx`) "
        "and the valid ones are issued in the background (poll `links.self`). The same file "
        "again returns the same batch, resuming it if it stopped. 413 beyond the upload "
        "limit (10 MiB by default); 422 for a file that cannot be used as a whole (not a "
        "table, missing columns, more than 200,000 rows, ...)."
    ),
)
async def create_batch(
    request: Request,
    session: DbSession,
    who: Clerk,
    signer: SignerDep,
    settings: Settings,
    now: Now,
    accept_language: Annotated[str | None, Header()] = None,
) -> Response:
    max_bytes, max_rows = limits(settings)
    upload = await receive_upload(
        request, max_bytes=max_bytes, photos_max=settings.batch_photos_max_bytes
    )
    if upload.data is None:
        raise ValidationFailed(
            [
                FieldError(
                    "file",
                    "required",
                    "send the batch file as the multipart field 'file'",
                    "请以表单字段“file”上传批量文件",
                )
            ]
        )
    batch = await run_in_threadpool(
        start_upload,
        request,
        data=upload.data,
        filename=upload.filename,
        session=session,
        who=who,
        signer=signer,
        settings=settings,
        now=now,
        max_rows=max_rows,
        photos=upload.photos,
    )
    status = _status(batch, settings, en=_english(accept_language), now=now)
    return Response(
        status.model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers={"Location": status.links.self},
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Upload:
    """A multipart upload as received: the ``file`` part's bytes (None if there was no
    file part) and name, the ``photos`` part's bytes (the zip of the holders' photos; None
    without one), and the other fields (text) by name."""

    data: bytes | None
    filename: str
    fields: dict[str, str]
    photos: bytes | None = None


def photos_too_large(limit: int) -> UploadTooLarge:
    """Return the refusal of a zip of photos over ``limit`` bytes."""
    return PhotosTooLarge(
        "The zip of photos is too large",
        "照片压缩包过大",
        f"A batch's zip of photos may be at most {limit:,} bytes; split the batch file and"
        " its photos into smaller batches.",
        f"批次的照片压缩包不能超过{limit}字节；请将批量文件及其照片拆分为多个批次。",
    )


async def receive_upload(request: Request, *, max_bytes: int, photos_max: int = 0) -> Upload:
    """Read ``request``'s multipart body, refusing it past ``max_bytes`` for the file and
    ``photos_max`` for the zip of photos (the declared length first, then the bytes
    received, then each part). Returns the ``Upload``; raises UploadTooLarge."""
    cap = max_bytes + photos_max + _MULTIPART_SLACK
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large(max_bytes) if not photos_max else photos_too_large(photos_max)
    received: list[bytes] = []
    size = 0
    async for piece in request.stream():
        size += len(piece)
        if size > cap:
            raise too_large(max_bytes) if not photos_max else photos_too_large(photos_max)
        received.append(piece)
    received.reverse()

    async def replay() -> dict[str, Any]:
        # piece by piece, each let go once parsed: a large zip is not held twice
        body = received.pop() if received else b""
        return {"type": "http.request", "body": body, "more_body": bool(received)}

    form = await Request(request.scope, replay).form(max_files=2, max_fields=16)
    photos: bytes | None = None
    try:
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        zipped = form.get("photos")
        if isinstance(zipped, StarletteUploadFile):
            photos = await zipped.read(photos_max + 1)
            if len(photos) > photos_max:
                raise photos_too_large(photos_max)
            photos = photos or None  # an empty file input: no zip
        upload = form.get("file")
        if not isinstance(upload, StarletteUploadFile):
            return Upload(None, "", fields, photos)
        data = await upload.read(max_bytes + 1)
        filename = upload.filename or "batch"
    finally:
        await form.close()
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    return Upload(data, filename, fields, photos)


def start_upload(
    request: Request,
    *,
    data: bytes,
    filename: str,
    session: Session,
    who: Principal,
    signer: Any,
    settings: IssuerSettings,
    now: dt.datetime,
    max_rows: int,
    photos: bytes | None = None,
) -> Batch:
    """Open ``data`` as a batch of ``who``'s (the same file again: the same batch) and
    start issuing its valid rows in a thread of this server unless it is done. ``photos``:
    the zip of the holders' photos. Returns the batch; raises BatchFileRefused (a file or
    zip unusable as a whole: nothing is kept)."""
    zipped = None
    try:
        if photos is not None:
            zipped = batches.open_photo_zip(photos, max_total=2 * settings.batch_photos_max_bytes)
        workers = int(getattr(request.app.state, "batch_workers", batches.DEFAULT_WORKERS))
        opened = batches.open_batch(
            session,
            data=data,
            filename=filename,
            settings=settings,
            actor=who.actor,
            now=now,
            max_rows=max_rows,
            photos=zipped,
            workers=workers,
        )
    except BatchFileError as exc:
        if exc.code.startswith("photos_"):
            raise PhotosRefused(
                "The zip of photos cannot be used",
                "照片压缩包无法使用",
                exc.message,
                exc.message_zh,
            ) from None
        raise BatchFileRefused(
            "The batch file cannot be used", "批量文件无法使用", exc.message, exc.message_zh
        ) from None
    finally:
        if zipped is not None:
            zipped.close()
    batch = opened.batch
    assert batch.id is not None
    if opened.rows and batch.state != batches.DONE:
        _start_run(
            request,
            batch_id=batch.id,
            rows=opened.rows,
            signer=signer,
            settings=settings,
            actor=who.actor,
        )
    return batch


def own_batch(session: Session, batch_id: int, who: Principal, settings: IssuerSettings) -> Batch:
    """Return batch ``batch_id`` of ``who``'s office; raises NotFound (another office's
    batch does not exist for them)."""
    batch = batches.get_batch(session, batch_id=batch_id, settings=settings)
    if who.office_id != batch.office_id:  # another office's batch does not exist for you
        raise NotFound("No such batch", "批次不存在")
    return batch


@router.get(
    "/api/v1/batches/{batch_id}",
    response_model=BatchStatus,
    responses={**AUTH, **problems(404)},
    summary="A batch's state and progress",
)
def read_batch_status(
    batch_id: BatchId,
    session: DbSession,
    who: Clerk,
    settings: Settings,
    now: Now,
    accept_language: Annotated[str | None, Header()] = None,
) -> BatchStatus:
    batch = own_batch(session, batch_id, who, settings)
    return _status(batch, settings, en=_english(accept_language), now=now)


def _report(
    batch_id: int,
    session: Session,
    who: Principal,
    settings: IssuerSettings,
    fmt: Literal["csv", "xlsx"],
    lang: Literal["zh", "en"],
) -> Response:
    batch = own_batch(session, batch_id, who, settings)
    data = write_error_report(batches.batch_errors(batch), fmt=fmt, lang=lang)
    name = f"batch-{batch_id}-errors.{fmt}"
    return Response(
        data,
        media_type=CSV_TYPE if fmt == "csv" else XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


Lang = Annotated[Literal["zh", "en"], Query(description="report language (default Chinese)")]


@router.get(
    "/api/v1/batches/{batch_id}/errors.csv",
    response_class=Response,
    responses={
        200: {"content": {CSV_TYPE: {}}, "description": "Row errors (UTF-8 with BOM)"},
        **AUTH,
        **problems(404),
    },
    summary="The batch's row errors as CSV: row, column, reason, value (masked)",
)
def read_errors_csv(
    batch_id: BatchId, session: DbSession, who: Clerk, settings: Settings, lang: Lang = "zh"
) -> Response:
    return _report(batch_id, session, who, settings, "csv", lang)


@router.get(
    "/api/v1/batches/{batch_id}/errors.xlsx",
    response_class=Response,
    responses={
        200: {"content": {XLSX_TYPE: {}}, "description": "Row errors as a workbook"},
        **AUTH,
        **problems(404),
    },
    summary="The batch's row errors as XLSX: row, column, reason, value (masked)",
)
def read_errors_xlsx(
    batch_id: BatchId, session: DbSession, who: Clerk, settings: Settings, lang: Lang = "zh"
) -> Response:
    return _report(batch_id, session, who, settings, "xlsx", lang)
