"""The office console's batches (issue 13 point 4; HTML, not in the OpenAPI document):
``/office/batches`` (the office's batches, newest first, a page at a time; the upload
form), ``/office/batches/{id}`` (live progress, then the downloads and the claim-codes
button), ``/office/batches/{id}/progress`` (the progress as JSON, polled by office.js),
and the downloads under ``/office/batches/{id}/``: ``errors.csv``, ``errors.xlsx``,
``manifest.csv``, ``manifest.xlsx``, ``claim-letters.pdf``, ``certificates.zip``,
``print.pdf``, and ``POST .../claim-codes``.

Every action is the API's own: the upload goes through ``issuer.web.routes.batches``
(``receive_upload``, ``start_upload``: the same limits, the same batch run), and the
downloads and the claim codes call the API's route functions with the signed-in officer's
``Principal``, so the bytes and the audit records are the same. Who may: as the API's
``Clerk`` (clerks and supervisors of this office; admins).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from issuer import batches
from issuer.console import ConsoleIdentity
from issuer.db.models import Batch
from issuer.errors import IssuerError
from issuer.settings import IssuerSettings
from issuer.web import deps
from issuer.web.deps import DbSession, DocumentKey, Now, Settings, SignerDep
from issuer.web.office_pages import FORM_MAX, OfficeUser, check_form, message, page
from issuer.web.pages import lang_query, page_lang
from issuer.web.routes import batch_artefacts as artefacts
from issuer.web.routes import batches as api
from issuer.web.routes.office_batches_text import BATCH_STRINGS, error_text, figures, when

__all__ = ["PER_PAGE", "router"]

router = APIRouter()

PER_PAGE = 20
_MAX_PAGE = 100_000
_MAX_ID = 2**31 - 1
_MAY = deps.require("clerk", "supervisor")  # the API's Clerk: who may upload and download
_DOWNLOADS = ("errors.csv", "errors.xlsx", "manifest.csv", "manifest.xlsx")
Text = Annotated[str, Form(max_length=FORM_MAX)]
_FILES = (*_DOWNLOADS, "claim-letters.pdf", "certificates.zip", "print.pdf")


def _text(lang: str) -> dict[str, str]:
    return BATCH_STRINGS[lang]


def _refusal(
    request: Request, who: ConsoleIdentity, settings: IssuerSettings, lang: str
) -> Response | None:
    """Return a 403 page unless ``who`` may use batches as the API's ``Clerk`` may."""
    try:
        _MAY(who.principal, settings)
    except IssuerError as exc:
        return message(request, who, lang, exc.status, error_text(exc, lang))
    return None


def _batch_id(raw: str) -> int | None:
    """Return the batch id written in a path, or None if it cannot be one."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
        return None
    value = int(raw)
    return value if 1 <= value <= _MAX_ID else None


def _no_batch(request: Request, who: ConsoleIdentity, lang: str) -> Response:
    return message(request, who, lang, 404, _text(lang)["no_batch"], back="/office/batches")


# --- the list and the upload -------------------------------------------------------------


def _list_page(
    request: Request,
    session: Session,
    settings: IssuerSettings,
    who: ConsoleIdentity,
    lang: str,
    number: int,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    got = batches.list_batches(
        session, office_id=who.office_id, offset=(number - 1) * PER_PAGE, limit=PER_PAGE
    )
    session.rollback()
    max_bytes, max_rows = api.limits(settings)
    pages = max(1, -(-got.total // PER_PAGE))
    if number > pages:  # past the last page: say so rather than show an empty list
        text = _text(lang)["past_last"].format(pages=pages)
        return message(request, who, lang, 404, text, back="/office/batches")
    return page(
        request,
        who,
        lang,
        "batches.html",
        status,
        strings=BATCH_STRINGS,
        batches=[_row(b) for b in got.batches],
        page_number=number,
        pages=pages,
        prev_href=_page_href(number - 1, lang) if number > 1 else "",
        next_href=_page_href(number + 1, lang) if number < pages else "",
        errors=errors or {},
        max_bytes=max_bytes,
        too_large=error_text(api.too_large(max_bytes), lang),
        file_hint=_text(lang)["file_hint"].format(
            mb=f"{max_bytes / 1024 / 1024:g}", rows=f"{max_rows:,}"
        ),
        photos_hint=_text(lang)["photos_hint"].format(
            mb=f"{settings.batch_photos_max_bytes / 1024 / 1024:g}"
        ),
    )


def _page_href(number: int, lang: str) -> str:
    return f"/office/batches?page={number}" + ("&lang=en" if lang == "en" else "")


def _row(batch: Batch) -> dict[str, object]:
    return {
        "id": batch.id,
        "filename": batch.filename,
        "by": batch.created_by.removeprefix("officer:"),
        "at": when(batch.created_at),
        "rows": batch.total_rows,
        "issued": batch.issued_rows,
        "errors": batch.error_rows,
        "state": batch.state,
    }


def _field_of(exc: IssuerError) -> str:
    """Return the form field a refusal of the upload belongs beside."""
    return "photos" if isinstance(exc, api.PhotosRefused | api.PhotosTooLarge) else "file"


@router.get("/office/batches", include_in_schema=False)
def office_batches(
    request: Request, session: DbSession, settings: Settings, who: OfficeUser
) -> Response:
    lang = page_lang(request)
    refused = _refusal(request, who, settings, lang)
    if refused is not None:
        return refused
    raw = request.query_params.get("page", "1")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6 and 1 <= int(raw) <= _MAX_PAGE):
        text = _text(lang)["bad_page"].format(max=_MAX_PAGE)
        return message(request, who, lang, 422, text, back="/office/batches")
    return _list_page(request, session, settings, who, lang, int(raw))


@router.post("/office/batches", include_in_schema=False)
async def office_upload_batch(
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeUser,
    signer: SignerDep,
) -> Response:
    lang = page_lang(request)
    refused = _refusal(request, who, settings, lang)
    if refused is not None:
        return refused
    max_bytes, max_rows = api.limits(settings)
    try:
        upload = await api.receive_upload(
            request, max_bytes=max_bytes, photos_max=settings.batch_photos_max_bytes
        )
    except IssuerError as exc:  # too large: said beside the field, nothing kept
        errors = {_field_of(exc): error_text(exc, lang)}
        return await run_in_threadpool(
            _list_page, request, session, settings, who, lang, 1, exc.status, errors
        )
    except HTTPException as exc:  # not a form the parser can read
        return message(request, who, lang, 400, str(exc.detail), back="/office/batches")
    check_form(request, settings, who, upload.fields.get("csrf", ""), lang)
    if not upload.data:  # no file chosen (or an empty one)
        errors = {"file": _text(lang)["required_file"]}
        return await run_in_threadpool(
            _list_page, request, session, settings, who, lang, 1, 422, errors
        )
    try:
        batch = await run_in_threadpool(
            api.start_upload,
            request,
            data=upload.data or b"",
            filename=upload.filename,
            session=session,
            who=who.principal,
            signer=signer,
            settings=settings,
            now=now,
            max_rows=max_rows,
            photos=upload.photos,
        )
    except IssuerError as exc:  # a file unusable as a whole: said beside the field
        errors = {_field_of(exc): error_text(exc, lang)}
        return await run_in_threadpool(
            _list_page, request, session, settings, who, lang, 1, exc.status, errors
        )
    return RedirectResponse(
        f"/office/batches/{batch.id}" + lang_query(lang),
        status_code=303,
        headers={"Cache-Control": "no-store"},
    )


# --- one batch ---------------------------------------------------------------------------


def _detail_page(
    request: Request,
    session: Session,
    settings: IssuerSettings,
    who: ConsoleIdentity,
    lang: str,
    batch_id: int,
    now: dt.datetime,
    notice: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    try:
        batch = api.own_batch(session, batch_id, who.principal, settings)
    except IssuerError:
        return _no_batch(request, who, lang)
    session.rollback()
    progress = batches.batch_progress(batch, now=now)
    failure = batches.batch_failure(batch) if batch.state == batches.FAILED else None
    why = "" if failure is None else (failure.message if lang == "en" else failure.message_zh)
    running = batch.state in (batches.VALIDATING, batches.ISSUING)
    response = page(
        request,
        who,
        lang,
        "batch.html",
        status,
        strings=BATCH_STRINGS,
        batch=_row(batch),
        valid_rows=batch.valid_rows,
        finished_at=when(batch.finished_at),
        failure=why,
        running=running,
        progress=progress,
        figures=figures(progress, lang),
        progress_url=f"/office/batches/{batch_id}/progress" + lang_query(lang),
        base=f"/office/batches/{batch_id}",
        lang_tail="?lang=en" if lang == "en" else "?lang=zh",
        notice=notice,
        error=error,
        refresh_seconds=5,
    )
    if running:  # office.js polls the progress route: allow it that one connection
        csp = response.headers["Content-Security-Policy"]
        response.headers["Content-Security-Policy"] = csp + "; connect-src 'self'"
    return response


@router.get("/office/batches/{batch_id}", include_in_schema=False)
def office_batch(
    batch_id: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeUser,
) -> Response:
    lang = page_lang(request)
    refused = _refusal(request, who, settings, lang)
    if refused is not None:
        return refused
    number = _batch_id(batch_id)
    if number is None:
        return _no_batch(request, who, lang)
    return _detail_page(request, session, settings, who, lang, number, now)


@router.get("/office/batches/{batch_id}/progress", include_in_schema=False)
def office_batch_progress(
    batch_id: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeUser,
) -> Response:
    """The batch's progress as JSON for office.js: the figures, their lines in the page's
    language, and ``finished`` once the batch is no longer running (the page reloads)."""
    lang = page_lang(request)
    headers = {"Cache-Control": "no-store"}
    number = _batch_id(batch_id)
    try:
        _MAY(who.principal, settings)
        if number is None:
            raise IssuerError("No such batch", "批次不存在")
        batch = api.own_batch(session, number, who.principal, settings)
    except IssuerError as exc:
        return JSONResponse({"error": error_text(exc, lang)}, status_code=404, headers=headers)
    progress = batches.batch_progress(batch, now=now)
    return JSONResponse(
        {
            "state": batch.state,
            "finished": batch.state not in (batches.VALIDATING, batches.ISSUING),
            **dataclasses.asdict(progress),
            "text": figures(progress, lang),
        },
        headers=headers,
    )


@router.post("/office/batches/{batch_id}/claim-codes", include_in_schema=False)
def office_batch_claim_codes(
    batch_id: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeUser,
    csrf: Text = "",
) -> Response:
    lang = page_lang(request)
    refused = _refusal(request, who, settings, lang)
    if refused is not None:
        return refused
    number = _batch_id(batch_id)
    if number is None:
        return _no_batch(request, who, lang)
    check_form(request, settings, who, csrf, lang)
    try:
        made = artefacts.make_batch_claim_codes(number, session, who.principal, settings, now)
    except IssuerError as exc:
        if exc.status == 404:
            return _no_batch(request, who, lang)
        return _detail_page(
            request, session, settings, who, lang, number, now,
            error=error_text(exc, lang), status=exc.status,
        )  # fmt: skip
    notice = _text(lang)["codes_made"].format(
        made=made.made, kept=made.kept, not_valid=made.not_valid, live=made.live
    )
    return _detail_page(request, session, settings, who, lang, number, now, notice=notice)


@router.get("/office/batches/{batch_id}/{name}", include_in_schema=False)
def office_batch_file(
    batch_id: str,
    name: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeUser,
    document_key: DocumentKey,
) -> Response:
    """A batch's file, exactly as the API's route for it answers (and audits) it."""
    lang = page_lang(request)
    refused = _refusal(request, who, settings, lang)
    if refused is not None:
        return refused
    number = _batch_id(batch_id)
    if number is None or name not in _FILES:
        return _no_batch(request, who, lang)
    by: Literal["zh", "en"] = "en" if lang == "en" else "zh"
    principal = who.principal
    try:
        if name == "errors.csv":
            return api.read_errors_csv(number, session, principal, settings, by)
        if name == "errors.xlsx":
            return api.read_errors_xlsx(number, session, principal, settings, by)
        if name == "manifest.csv":
            return artefacts.read_manifest_csv(number, session, principal, settings, now, by)
        if name == "manifest.xlsx":
            return artefacts.read_manifest_xlsx(number, session, principal, settings, now, by)
        if name == "claim-letters.pdf":
            return artefacts.read_claim_letters(number, session, principal, settings, now)
        if name == "certificates.zip":
            return artefacts.read_certificates_zip(
                request, number, session, principal, settings, document_key
            )
        return artefacts.read_print_file(
            request, number, session, principal, settings, document_key
        )
    except IssuerError as exc:
        session.rollback()
        if exc.status == 404:
            return _no_batch(request, who, lang)
        back = f"/office/batches/{number}"
        return message(request, who, lang, exc.status, error_text(exc, lang), back=back)
