"""The console's certificates area (issue 13 points 1, 3): find a certificate, its page,
its signed PDF, a claim code with its letter. Status changes, replacement and correction
are in ``office_certificates_actions``; issuing one in ``office_certificates_new``.

Every page acts as the signed-in officer through the API's own services
(``issuer.search``, ``issuer.issuance``, ``issuer.holder``): the search is scoped to the
officer's office and audited as the API's is; another office's certificate is a 404 page.

Privacy: ``GET /office/certificates`` takes only a number, a batch and a status (they may
be in a URL); a name with a birth date and an identity number come only in the body of
``POST /office/certificates`` (a query string lands in logs and histories). The
identity number is never echoed: not in the form again, not in a next-page link (an
identity search is one person's few certificates: it has no next page).

A claim code is shown once on the certificate's page; the letter form sends it back and
``issuer.holder.claim_letter_pdf`` makes the letter only if it is still the live code of
this certificate's holder (checked by its keyed hash): no code is stored in clear.

Route order: this router (its ``/new``, ``/claim-code`` and ``/claim-letter``) comes
before ``office_certificates_actions``' ``/office/certificates/{number}/{action}`` in
``issuer.web.routes.ROUTERS``.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from credential import IdType, QualificationType, beijing_date
from issuer import holder, issuance, lifecycle, search
from issuer.console import ConsoleIdentity
from issuer.errors import IssuerError, NotFound
from issuer.fields import REASON_CODES_EN, ValidationFailed
from issuer.issuance import printing
from issuer.pdf import PdfError
from issuer.web.deps import DbSession, DocumentKey, Now, Settings
from issuer.web.office_pages import (
    FORM_MAX,
    OfficeUser,
    check_form,
    field_errors,
    message,
    page,
)
from issuer.web.pages import page_lang
from issuer.web.routes import office_certificates_new
from issuer.web.routes._office_common import shown_date, typed_date
from issuer.web.routes.office_certificates_text import CERT_STRINGS, error_text

__all__ = ["NUMBER", "record_page", "router"]

router = APIRouter()
# /office/certificates/new before /office/certificates/{number}
router.include_router(office_certificates_new.router)

Text = Annotated[str, Form(max_length=FORM_MAX)]
NUMBER = re.compile(r"[0-9]{17}")
_SUPERVISORS = frozenset({"supervisor", "admin"})


def _t(lang: str) -> dict[str, str]:
    return CERT_STRINGS[lang]


def _options(lang: str) -> dict[str, Any]:
    return {
        "id_types": [(k.value, k.name_in(lang)) for k in IdType],
        "id_names": {k.value: k.name_in(lang) for k in IdType},
        "kinds": {k.slug: k.name_in(lang) for k in QualificationType},
        "statuses": list(search.STATUSES),
    }


def _search_page(
    request: Request,
    who: ConsoleIdentity,
    lang: str,
    status: int = 200,
    *,
    form: dict[str, str],
    results: search.Page | None = None,
    errors: dict[str, str] | None = None,
    next_get: str = "",
    next_post: dict[str, str] | None = None,
) -> Response:
    return page(
        request,
        who,
        lang,
        "certificates.html",
        status,
        strings=CERT_STRINGS,
        form=form,
        results=results,
        errors=errors or {},
        next_get=next_get,
        next_post=next_post,
        **_options(lang),
    )


def _batch_id(value: str) -> int | None:
    """Return a batch id as given (None: none); something not a number is -1, which the
    search's own rule refuses with its message."""
    value = value.strip()
    if not value:
        return None
    return int(value) if value.isdigit() and len(value) <= 10 else -1


def _run(
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: ConsoleIdentity,
    lang: str,
    form: dict[str, str],
    cursor: str,
) -> Response:
    blank = {k: "" for k in ("number", "name", "birth_date", "id_type", "batch", "status")}
    shown = {**blank, **{k: v for k, v in form.items() if k != "id_number"}}
    # a birth date typed 2026年6月5日 or 2026/6/5 is searched as 2026-06-05 and shown back
    # as the page writes a date
    form = {**form, "birth_date": typed_date(form.get("birth_date", ""))}
    shown["birth_date"] = shown_date(shown["birth_date"], lang)
    try:
        results = search.find_certificates(
            session,
            office_id=who.office_id,
            settings=settings,
            actor=who.principal.actor,
            now=now,
            number=form.get("number") or None,
            name=form.get("name") or None,
            birth_date=form.get("birth_date") or None,
            id_type=form.get("id_type") or None,
            id_number=form.get("id_number") or None,
            batch_id=_batch_id(form.get("batch", "")),
            status=form.get("status") or None,
            cursor=cursor or None,
        )
    except ValidationFailed as exc:
        session.rollback()
        return _search_page(request, who, lang, 422, form=shown, errors=field_errors(exc, lang))
    next_get, next_post = "", None
    if results.next_cursor:
        if request.method == "GET":
            params = {k: form[k] for k in ("number", "batch", "status") if form.get(k)}
            params["cursor"] = results.next_cursor
            if lang == "en":
                params["lang"] = "en"
            next_get = "/office/certificates?" + urlencode(params)
        elif not form.get("id_number"):
            next_post = {**{k: v for k, v in shown.items() if v}, "cursor": results.next_cursor}
    return _search_page(
        request, who, lang, form=shown, results=results, next_get=next_get, next_post=next_post
    )


@router.get("/office/certificates", include_in_schema=False)
def office_certificates(
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeUser,
) -> Response:
    lang = page_lang(request)
    q = request.query_params
    form = {k: q.get(k, "")[:FORM_MAX] for k in ("number", "batch", "status")}
    # a name, birth date or identity number in a URL is not used (nor echoed)
    return _run(request, session, settings, now, who, lang, form, q.get("cursor", "")[:FORM_MAX])


@router.post("/office/certificates", include_in_schema=False)
def office_certificates_search(
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeUser,
    number: Text = "",
    name: Text = "",
    birth_date: Text = "",
    id_type: Text = "",
    id_number: Text = "",
    batch: Text = "",
    status: Text = "",
    cursor: Text = "",
    csrf: Text = "",
) -> Response:
    lang = page_lang(request)
    check_form(request, settings, who, csrf, lang)
    form = {
        "number": number,
        "name": name,
        "birth_date": birth_date,
        "id_type": id_type,
        "id_number": id_number,
        "batch": batch,
        "status": status,
    }
    return _run(request, session, settings, now, who, lang, form, cursor)


# --- one certificate -----------------------------------------------------------------------


def record_page(
    request: Request,
    session: DbSession,
    who: ConsoleIdentity,
    lang: str,
    number: str,
    status: int = 200,
    *,
    notice: str = "",
    error: str = "",
    errors: dict[str, dict[str, str]] | None = None,
    form: dict[str, str] | None = None,
    claim: holder.ClaimCode | None = None,
) -> Response:
    """Return certificate ``number``'s page for ``who`` (a 404 page for a malformed
    number, an unknown one or another office's), with ``notice``/``error`` on top,
    ``errors`` (by action form, then by field) beside the fields of the refused form,
    its values in ``form``, and a claim code just made (``claim``, shown this once)."""
    t = _t(lang)
    if not NUMBER.fullmatch(number):
        return message(request, who, lang, 404, t["bad_number"], back="/office/certificates")
    try:
        record = search.certificate_record(session, office_id=who.office_id, number=number)
    except NotFound as exc:
        session.rollback()
        return message(request, who, lang, 404, error_text(exc, lang), back="/office/certificates")
    has_photo = _photo(session, who, number) is not None
    session.rollback()
    return page(
        request,
        who,
        lang,
        "certificates_record.html",
        status,
        strings=CERT_STRINGS,
        r=record,
        notice=notice,
        error=error,
        errors=errors or {},
        form=form or {},
        claim=claim,
        claim_day=beijing_date(claim.expires_at).isoformat() if claim else "",
        supervisor=who.role in _SUPERVISORS,
        # one Idempotency-Key per form (replacement, correction): a resent form acts once
        key=secrets.token_urlsafe(18),
        key2=secrets.token_urlsafe(18),
        reasons=_reasons(lang),
        has_photo=has_photo,
        **_options(lang),
    )


def _photo(session: Session, who: ConsoleIdentity, number: str) -> bytes | None:
    """Return the stored photo of ``who``'s office's certificate ``number``, or None."""
    try:
        row = issuance.certificate_row(session, number=number, office_id=who.office_id)
    except NotFound:
        return None
    return issuance.load_photo(session, row.id)


def _reasons(lang: str) -> dict[str, list[tuple[str, str]]]:
    words = lifecycle.REASON_CODES if lang == "zh" else REASON_CODES_EN
    decision = [(k, words[k]) for k in lifecycle.REASON_CODES]
    replace = [
        (k, v[0] if lang == "en" else v[1]) for k, v in lifecycle.REPLACEMENT_REASONS.items()
    ]
    return {"decision": decision, "replace": replace}


@router.get("/office/certificates/{number}", include_in_schema=False)
def office_certificate(
    number: str, request: Request, session: DbSession, who: OfficeUser
) -> Response:
    return record_page(request, session, who, page_lang(request), number)


@router.get("/office/certificates/{number}/pdf", include_in_schema=False)
def office_certificate_pdf(
    number: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    document_key: DocumentKey,
    who: OfficeUser,
) -> Response:
    """The same signed PDF as ``GET /api/v1/certificates/{number}/pdf``."""
    lang = page_lang(request)
    if not NUMBER.fullmatch(number):
        return message(request, who, lang, 404, _t(lang)["bad_number"], back="/office/certificates")
    try:
        row = issuance.certificate_row(session, number=number, office_id=who.office_id)
        pdf = printing.certificate_pdf(row, settings=settings, document_key=document_key())
    except IssuerError as exc:
        session.rollback()
        return message(request, who, lang, exc.status, error_text(exc, lang))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{number}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/office/certificates/{number}/photo.jpg", include_in_schema=False)
def office_certificate_photo(
    number: str, request: Request, session: DbSession, who: OfficeUser
) -> Response:
    """The holder's stored photo, to whoever may see the certificate's page; never cached."""
    lang = page_lang(request)
    if not NUMBER.fullmatch(number):
        return message(request, who, lang, 404, _t(lang)["bad_number"], back="/office/certificates")
    jpeg = _photo(session, who, number)
    session.rollback()
    if jpeg is None:
        return message(request, who, lang, 404, _t(lang)["photo_none"], back="/office/certificates")
    return Response(
        jpeg,
        media_type="image/jpeg",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


@router.post("/office/certificates/{number}/claim-code", include_in_schema=False)
def office_claim_code(
    number: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeUser,
    csrf: Text = "",
) -> Response:
    lang = page_lang(request)
    check_form(request, settings, who, csrf, lang)
    if not NUMBER.fullmatch(number):
        return record_page(request, session, who, lang, number)
    try:
        made = holder.issue_claim_code(
            session,
            number=number,
            office_id=who.office_id,
            settings=settings,
            actor=who.principal.actor,
            now=now,
        )
    except IssuerError as exc:
        session.rollback()
        return message(request, who, lang, exc.status, error_text(exc, lang))
    return record_page(request, session, who, lang, number, 201, claim=made)


@router.post("/office/certificates/{number}/claim-letter", include_in_schema=False)
def office_claim_letter(
    number: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeUser,
    code: Text = "",
    csrf: Text = "",
) -> Response:
    """The one-page claim letter (PDF) of the code just shown on the certificate's page."""
    lang = page_lang(request)
    check_form(request, settings, who, csrf, lang)
    if not NUMBER.fullmatch(number):
        return record_page(request, session, who, lang, number)
    try:
        pdf = holder.claim_letter_pdf(
            session,
            number=number,
            office_id=who.office_id,
            code=code,
            settings=settings,
            now=now,
        )
    except IssuerError as exc:
        session.rollback()
        return message(request, who, lang, exc.status, error_text(exc, lang))
    except PdfError as exc:  # a character no font has: named, not a 500
        return message(request, who, lang, 422, str(exc))
    if pdf is None:
        return record_page(request, session, who, lang, number, 409, error=_t(lang)["claim_bad"])
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="claim-letter-{number}.pdf"',
            "Cache-Control": "no-store",
        },
    )
