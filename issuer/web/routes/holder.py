"""The teacher's (holder's) pages (HTML, not in the OpenAPI document; docs/holder.md).

``/holder`` (log in with a certificate number and the claim code), ``/holder/certificates``
(their certificates), downloads ``/holder/certificates/<number>.json|.vc.jwt|.pdf``,
``POST /holder/certificates/<number>/copy`` (a purpose-bound copy, PDF) and ``POST
/holder/logout``. Every POST must come from this site (Origin, else Referer) and, once
logged in, carry the session's form token; the session cookie is HttpOnly and
SameSite=Strict. Bad input is a 4xx page, never a 500. How the pages look and what they
check is in ``issuer.web.holder_pages``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from issuer import holder
from issuer.errors import IssuerError
from issuer.fields import ValidationFailed
from issuer.issuance import printing
from issuer.pdf import PdfError
from issuer.web.deps import DbSession, DocumentKey, Now, Settings, SignerDep
from issuer.web.holder_pages import (
    COOKIE,
    FORM_MAX,
    STRINGS,
    TEMPLATES,
    certificate_number,
    client_address,
    holder_of,
    issuer_error_page,
    lang_query,
    list_page,
    login_page,
    message_page,
    page_lang,
    same_origin,
)

__all__ = ["router"]

router = APIRouter()


@router.get("/holder/holder.css", include_in_schema=False)
def holder_css() -> Response:
    return Response(
        (TEMPLATES / "holder.css").read_bytes(),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/holder", include_in_schema=False)
def holder_home(request: Request, session: DbSession, settings: Settings, now: Now) -> Response:
    lang = page_lang(request)
    if holder_of(request, session, settings, now) is not None:
        return RedirectResponse("/holder/certificates" + lang_query(lang), status_code=303)
    return login_page(request, lang)


@router.post("/holder/login", include_in_schema=False)
def holder_login(
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    number: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "",
) -> Response:
    lang = page_lang(request, lang)
    t = STRINGS[lang]
    if not same_origin(settings, request):
        return message_page(request, lang, 403, t["forbidden"])
    shown = number[:40]
    parsed = certificate_number(number[:FORM_MAX])
    if parsed is None:
        return login_page(request, lang, 422, t["bad_number"], shown)
    if not code.strip() or len(code) > FORM_MAX:
        return login_page(request, lang, 422, t["bad_code"], parsed)
    try:
        who = holder.login(
            session,
            number=parsed,
            code=code,
            client=client_address(request),
            settings=settings,
            now=now,
        )
    except holder.HolderLocked as exc:
        minutes = max(1, (exc.retry_after + 59) // 60)
        return login_page(
            request, lang, 429, t["locked"].format(minutes=minutes), parsed, exc.headers
        )
    except holder.HolderLoginFailed as exc:
        text = f"{exc.title}. {exc.detail}" if lang == "en" else f"{exc.title_zh}。{exc.detail_zh}"
        return login_page(request, lang, 401, text, parsed)
    response = RedirectResponse("/holder/certificates" + lang_query(lang), status_code=303)
    response.set_cookie(
        COOKIE,
        who.cookie,
        max_age=settings.holder_session_minutes * 60,
        path="/holder",
        secure=settings.public_url.startswith("https://"),
        httponly=True,
        samesite="strict",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/holder/logout", include_in_schema=False)
def holder_logout(
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    lang = page_lang(request)
    who = holder_of(request, session, settings, now)
    if not same_origin(settings, request) or (
        who is not None and not holder.csrf_matches(settings, who, csrf)
    ):
        return message_page(request, lang, 403, STRINGS[lang]["forbidden"])
    response = RedirectResponse("/holder" + lang_query(lang), status_code=303)
    response.delete_cookie(COOKIE, path="/holder", httponly=True, samesite="strict")
    return response


@router.get("/holder/certificates", include_in_schema=False)
def holder_certificates(
    request: Request, session: DbSession, settings: Settings, now: Now
) -> Response:
    lang = page_lang(request)
    who = holder_of(request, session, settings, now)
    if who is None:
        return RedirectResponse("/holder" + lang_query(lang), status_code=303)
    return list_page(request, lang, session, settings, who, now=now)


_DOWNLOADS = {
    ".vc.jwt": "application/vc+jwt",
    ".json": "application/json",
    ".pdf": "application/pdf",
}


@router.get("/holder/certificates/{filename}", include_in_schema=False)
def holder_download(
    filename: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    document_key: DocumentKey,
) -> Response:
    lang = page_lang(request)
    t = STRINGS[lang]
    suffix = next((s for s in _DOWNLOADS if filename.endswith(s)), None)
    number = certificate_number(filename[: -len(suffix)]) if suffix else None
    if suffix is None or number is None or filename != number + suffix:
        return message_page(request, lang, 404, t["not_found"], back="/holder/certificates")
    who = holder_of(request, session, settings, now)
    if who is None:
        return message_page(request, lang, 401, t["login_again"])
    try:
        row = holder.certificate_of(session, who, number)
        if suffix == ".pdf":
            body = printing.certificate_pdf(row, settings=settings, document_key=document_key())
        elif suffix == ".json":
            body = holder.dumps(holder.credential_document(row, settings=settings))
        else:
            body = holder.credential_document(row, settings=settings)["jws"].encode("ascii")
    except IssuerError as exc:
        return issuer_error_page(request, lang, exc, "/holder/certificates")
    media = _DOWNLOADS[suffix]
    if media == "application/json":
        media = "application/json; charset=utf-8"
    return _attachment(body, media, f"{number}{suffix}")


def _attachment(body: bytes, media: str, filename: str) -> Response:
    """A download the phone saves as ``filename``; never cached (a shared phone)."""
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/holder/certificates/{number}/copy", include_in_schema=False)
def holder_copy(
    number: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    signer: SignerDep,
    document_key: DocumentKey,
    now: Now,
    purpose: Annotated[str, Form()] = "",
    days: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    lang = page_lang(request)
    t = STRINGS[lang]
    parsed = certificate_number(number)
    if parsed is None:
        return message_page(request, lang, 404, t["not_found"], back="/holder/certificates")
    who = holder_of(request, session, settings, now)
    if who is None:
        return message_page(request, lang, 401, t["login_again"])
    if not same_origin(settings, request) or not holder.csrf_matches(settings, who, csrf):
        return message_page(request, lang, 403, t["forbidden"], back="/holder/certificates")
    try:
        row = holder.certificate_of(session, who, parsed)
        text, n = holder.validate_copy_request(purpose[: FORM_MAX * 5], days[:FORM_MAX])
        session.rollback()
        made = holder.make_copy(
            session,
            row=row,
            purpose=text,
            days=n,
            signer=signer,
            settings=settings,
            document_key=document_key(),
            now=now,
        )
    except ValidationFailed as exc:
        errors = [e.message if lang == "en" else e.message_zh for e in exc.errors]
    except PdfError as exc:
        if getattr(exc, "field", None) is None:
            raise
        en, _, zh = str(exc).partition(" / ")
        errors = [en if lang == "en" else (zh or en)]
    except IssuerError as exc:
        return issuer_error_page(request, lang, exc, "/holder/certificates")
    else:
        return _attachment(made.pdf, "application/pdf", f"{parsed}-copy.pdf")
    return list_page(
        request,
        lang,
        session,
        settings,
        who,
        status=422,
        errors_for=parsed,
        errors=errors,
        purpose=purpose,
        days=days,
        now=now,
    )
