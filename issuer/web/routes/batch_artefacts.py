"""A batch's artefacts over HTTP (issue 13 point 4; ``jiaozi batch`` does the same): the
manifest, the teachers' claim codes made in one step and their letters, the signed PDFs as
a streamed zip and the print file. docs/operations.md, "Printing a batch".
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from issuer import batches, holder
from issuer.errors import NoClaimCodes, NothingToPrint, PrintingUnavailable
from issuer.settings import IssuerSettings
from issuer.web.deps import Clerk, DbSession, DocumentKey, Now, Principal, Settings
from issuer.web.routes._common import AUTH, problems
from issuer.web.routes.batches import CSV_TYPE, XLSX_TYPE, BatchId, Lang, own_batch

__all__ = ["BatchClaimCodes", "router"]

router = APIRouter(tags=["batches"])


class BatchClaimCodes(BaseModel):
    """What a call of the claim-codes step did (persons), and the live codes now."""

    batch_id: int
    made: int = Field(description="codes made by this call")
    kept: int = Field(description="teachers whose code was made after the upload: left alone")
    not_valid: int = Field(description="rows whose certificate is not valid: no code")
    live: int = Field(description="rows whose batch code is live now (in the letters)")
    manifest_csv: str
    manifest_xlsx: str
    claim_letters: str


@router.post(
    "/api/v1/batches/{batch_id}/claim-codes",
    response_model=BatchClaimCodes,
    responses={**AUTH, **problems(404)},
    summary="Make the claim codes of the batch's teachers, all in one step (idempotent)",
    description=(
        "Every teacher of the batch's valid certificates whose claim code is older than the "
        "batch (or who has none) gets the batch's code; a code made after the upload (by "
        "this step before, or one at a time for a lost letter) is kept, so calling this "
        "again makes nothing new. The codes are shown by the manifest and the claim "
        "letters, which can be downloaded again while the codes are live; each download "
        "is audited. docs/operations.md, 'Printing a batch'."
    ),
)
def make_batch_claim_codes(
    batch_id: BatchId, session: DbSession, who: Clerk, settings: Settings, now: Now
) -> BatchClaimCodes:
    batch = own_batch(session, batch_id, who, settings)
    made = holder.make_batch_codes(
        session,
        batch_id=batch_id,
        office_id=who.office_id,
        settings=settings,
        actor=who.actor,
        now=now,
    )
    rows = holder.batch_holders(
        session, batch_id=batch_id, office_id=who.office_id, settings=settings, now=now
    )
    base = f"{settings.public_url}/api/v1/batches/{batch.id}"
    return BatchClaimCodes(
        batch_id=batch_id,
        made=made.made,
        kept=made.kept,
        not_valid=made.not_valid,
        live=sum(1 for r in rows if r.state == "live"),
        manifest_csv=f"{base}/manifest.csv",
        manifest_xlsx=f"{base}/manifest.xlsx",
        claim_letters=f"{base}/claim-letters.pdf",
    )


def _manifest(
    batch_id: int,
    session: Session,
    who: Principal,
    settings: IssuerSettings,
    now: dt.datetime,
    fmt: Literal["csv", "xlsx"],
    lang: Literal["zh", "en"],
) -> Response:
    batch = own_batch(session, batch_id, who, settings)
    rows = holder.batch_holders(
        session, batch_id=batch_id, office_id=who.office_id, settings=settings, now=now
    )
    data = batches.write_manifest(rows, batches.batch_errors(batch), fmt=fmt, lang=lang)
    name = f"manifest.{fmt}"
    holder.record_codes_shown(
        session, batch_id=batch_id, artefact=name, holders=rows, actor=who.actor, now=now
    )
    return Response(
        data,
        media_type=CSV_TYPE if fmt == "csv" else XLSX_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="batch-{batch_id}-{name}"',
            "Cache-Control": "no-store",  # it holds live claim codes
        },
    )


@router.get(
    "/api/v1/batches/{batch_id}/manifest.csv",
    response_class=Response,
    responses={200: {"content": {CSV_TYPE: {}}}, **AUTH, **problems(404)},
    summary="Every row: certificate number (or its errors) and claim code, as CSV",
)
def read_manifest_csv(
    batch_id: BatchId,
    session: DbSession,
    who: Clerk,
    settings: Settings,
    now: Now,
    lang: Lang = "zh",
) -> Response:
    return _manifest(batch_id, session, who, settings, now, "csv", lang)


@router.get(
    "/api/v1/batches/{batch_id}/manifest.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX_TYPE: {}}}, **AUTH, **problems(404)},
    summary="Every row: certificate number (or its errors) and claim code, as XLSX",
)
def read_manifest_xlsx(
    batch_id: BatchId,
    session: DbSession,
    who: Clerk,
    settings: Settings,
    now: Now,
    lang: Lang = "zh",
) -> Response:
    return _manifest(batch_id, session, who, settings, now, "xlsx", lang)


@router.get(
    "/api/v1/batches/{batch_id}/claim-letters.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **AUTH, **problems(404, 409)},
    summary="The claim letters: one A4 page per teacher with a live batch code (Chinese)",
    description="409 until the claim codes are made (`POST .../claim-codes`). Audited.",
)
def read_claim_letters(
    batch_id: BatchId, session: DbSession, who: Clerk, settings: Settings, now: Now
) -> Response:
    own_batch(session, batch_id, who, settings)
    rows = holder.batch_holders(
        session, batch_id=batch_id, office_id=who.office_id, settings=settings, now=now
    )
    pdf = holder.batch_letters_pdf(rows, settings=settings)
    if pdf is None:
        raise NoClaimCodes(
            "No live claim codes in this batch",
            "本批次没有有效的领取码",
            "Make them first: POST /api/v1/batches/{id}/claim-codes.",
            "请先生成领取码：POST /api/v1/batches/{id}/claim-codes。",
        )
    holder.record_codes_shown(
        session,
        batch_id=batch_id,
        artefact="claim-letters.pdf",
        holders=rows,
        actor=who.actor,
        now=now,
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="batch-{batch_id}-claim-letters.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/api/v1/batches/{batch_id}/certificates.zip",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}, **AUTH, **problems(404, 503)},
    summary="Every valid certificate of the batch as its signed PDF, in one zip (streamed)",
)
def read_certificates_zip(
    request: Request,
    batch_id: BatchId,
    session: DbSession,
    who: Clerk,
    settings: Settings,
    document_key: DocumentKey,
) -> StreamingResponse:
    own_batch(session, batch_id, who, settings)
    key = document_key()  # before the 200 starts: a missing key is a problem answer
    stream = batches.certificates_zip(
        request.app.state.engine, batch_id=batch_id, settings=settings, document_key=key
    )
    return StreamingResponse(
        stream,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}-pdf.zip"'},
    )


@router.get(
    "/api/v1/batches/{batch_id}/print.pdf",
    response_class=FileResponse,
    responses={200: {"content": {"application/pdf": {}}}, **AUTH, **problems(404, 409, 503)},
    summary="The batch's print file: every valid certificate's page in row order, unsigned",
    description=(
        "Paper for the printer, not a document to hand out (no signature, no e-licence "
        "attached). Made on request into a temporary file (about a minute for 10,000 "
        "pages); `jiaozi batch print` makes it, and the signed PDFs, on the office's disk."
    ),
)
def read_print_file(
    request: Request,
    batch_id: BatchId,
    session: DbSession,
    who: Clerk,
    settings: Settings,
    document_key: DocumentKey,
) -> FileResponse:
    own_batch(session, batch_id, who, settings)
    key = document_key()
    work = Path(tempfile.mkdtemp(prefix=f"jiaozi-batch-{batch_id}-"))
    try:
        report = batches.print_batch(
            request.app.state.engine,
            batch_id=batch_id,
            out_dir=work,
            settings=settings,
            document_key=key,
            workers=1,  # in this server's thread: no process pool behind a request
            pdfs=False,
        )
    except batches.PrintUnavailableError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise PrintingUnavailable(
            "The print file cannot be made here", "无法生成打印文件", str(exc), str(exc)
        ) from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if report.print_file is None:
        shutil.rmtree(work, ignore_errors=True)
        raise NothingToPrint(
            "Nothing to print", "没有可打印的证书", "The batch has no valid certificate to print."
        )
    return FileResponse(
        report.print_file,
        media_type="application/pdf",
        filename=f"batch-{batch_id}-print.pdf",
        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True),
    )
