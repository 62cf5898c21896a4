"""Issue one certificate from the console (``/office/certificates/new``): the same
validation and issuance as ``POST /api/v1/certificates``
(``issuance.issue_certificate_idempotent`` under the officer's name), field errors beside
the fields, and an Idempotency-Key generated into the form so that sending it twice (a
double click, a reload) issues once: the second answer replays the first."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from credential import IdType, QualificationType
from issuer import issuance
from issuer.console import ConsoleIdentity
from issuer.errors import IssuerError
from issuer.fields import ValidationFailed
from issuer.issuance import CertificateCreate
from issuer.photos import MAX_BYTES
from issuer.web.deps import DbSession, Now, Settings, SignerDep
from issuer.web.office_pages import FORM_MAX, OfficeUser, check_form, field_errors, page
from issuer.web.pages import lang_query, page_lang
from issuer.web.routes.office_certificates_text import CERT_STRINGS, error_text

__all__ = ["router"]

router = APIRouter()
Text = Annotated[str, Form(max_length=FORM_MAX)]
FIELDS = (
    "name",
    "sex",
    "birth_date",
    "ethnicity",
    "id_type",
    "id_number",
    "qualification_type",
    "subject",
    "certified_on",
)


def _form_page(
    request: Request,
    who: ConsoleIdentity,
    lang: str,
    status: int = 200,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str = "",
    key: str = "",
) -> Response:
    errors = errors or {}
    loose = [v for k, v in errors.items() if k not in FIELDS]  # e.g. the whole body
    if loose:
        error = " ".join([error, *loose]).strip()
    kinds = [(k.slug, k.name_in(lang)) for k in QualificationType]
    return page(
        request,
        who,
        lang,
        "certificates_new.html",
        status,
        strings=CERT_STRINGS,
        form=form or dict.fromkeys(FIELDS, ""),
        errors=errors,
        error=error,
        key=key or secrets.token_urlsafe(18),
        kinds=kinds,
        id_types=[(k.value, k.name_in(lang)) for k in IdType],
    )


@router.get("/office/certificates/new", include_in_schema=False)
def office_new_certificate(request: Request, who: OfficeUser) -> Response:
    return _form_page(request, who, page_lang(request))


@router.post("/office/certificates/new", include_in_schema=False)
def office_issue_certificate(
    request: Request,
    session: DbSession,
    settings: Settings,
    signer: SignerDep,
    now: Now,
    who: OfficeUser,
    name: Text = "",
    sex: Text = "",
    birth_date: Text = "",
    ethnicity: Text = "",
    id_type: Text = "",
    id_number: Text = "",
    qualification_type: Text = "",
    subject: Text = "",
    certified_on: Text = "",
    key: Text = "",
    csrf: Text = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    lang = page_lang(request)
    check_form(request, settings, who, csrf, lang)
    form = {
        "name": name,
        "sex": sex,
        "birth_date": birth_date,
        "ethnicity": ethnicity,
        "id_type": id_type,
        "id_number": id_number,
        "qualification_type": qualification_type,
        "subject": subject,
        "certified_on": certified_on,
    }
    if who.office_id != settings.office_id:  # as the API's Clerk: this issuer's office only
        return _form_page(
            request, who, lang, 403, form=form, error=CERT_STRINGS[lang]["other_office"], key=key
        )
    if len(key) < 16:  # a form of ours always has one; without it a retry could issue twice
        t = CERT_STRINGS[lang]
        return _form_page(request, who, lang, 422, form=form, error=t["form_errors"])
    # the holder's photo, a file part (none chosen: an empty one); judged, as the API's
    # base64 is, by issuance (errors beside the field ``photo``); the body cap has room
    sent = photo.file.read(MAX_BYTES + 1) if photo is not None else b""
    body = CertificateCreate(
        name=name,
        sex=sex,
        birth_date=birth_date,
        ethnicity=ethnicity or None,
        id_type=id_type,
        id_number=id_number,
        qualification_type=qualification_type,
        subject=subject,
        certified_on=certified_on,
        photo=base64.b64encode(sent).decode("ascii") if sent else None,
    )
    try:
        stored = issuance.issue_certificate_idempotent(
            session,
            key=key,
            principal=who.principal.actor,
            request=body,
            signer=signer,
            settings=settings,
            actor=who.principal.actor,
            now=now,
        )
    except ValidationFailed as exc:
        session.rollback()
        return _form_page(
            request,
            who,
            lang,
            422,
            form=form,
            errors=field_errors(exc, lang),
            error=CERT_STRINGS[lang]["form_errors"],
            key=key,
        )
    except IssuerError as exc:
        session.rollback()
        return _form_page(
            request, who, lang, exc.status, form=form, error=error_text(exc, lang), key=key
        )
    number = json.loads(stored.body)["certificate_number"]
    return RedirectResponse(f"/office/certificates/{number}" + lang_query(lang), status_code=303)
