"""The office console's frame (HTML, not in the OpenAPI document; issue 13 points 1, 2):
``/office`` (home: who is signed in, their role), ``/office/signin``, ``/office/enrol``
(set a password and TOTP with an enrolment code), ``POST /office/signout``,
``/office/officers`` (admins: create, change role, deactivate, issue an enrolment code),
``/office/static/<file>``.

Account changes go through the API's own services (``issuer.lifecycle`` account
requests, ``issuer.accounts``) with the signed-in officer as the ``Principal``: the
two-person rules are the same. How pages look and what they check is in
``issuer.web.office_pages``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from issuer import accounts, console, lifecycle
from issuer.console import ConsoleIdentity
from issuer.errors import IssuerError
from issuer.fields import ValidationFailed
from issuer.web.deps import DbSession, Now, Settings
from issuer.web.office_pages import (
    COOKIE,
    FORM_MAX,
    PRE_COOKIE,
    STATIC,
    STRINGS,
    OfficeAdmin,
    OfficeUser,
    check_form,
    check_pre_form,
    field_errors,
    message,
    page,
    set_session_cookie,
)
from issuer.web.pages import client_address, lang_query, page_lang

__all__ = ["router"]

router = APIRouter()

Text = Annotated[str, Form(max_length=FORM_MAX)]
OfficerId = Annotated[int, Path(ge=1, le=2**31 - 1)]
_STATIC = {"office.css": "text/css; charset=utf-8", "office.js": "text/javascript; charset=utf-8"}


def _error_text(exc: IssuerError, lang: str) -> str:
    if lang == "en":
        return f"{exc.title}. {exc.detail}" if exc.detail else exc.title
    return f"{exc.title_zh}。{exc.detail_zh}" if exc.detail_zh else exc.title_zh


@router.get("/office/static/{name}", include_in_schema=False)
def office_static(name: str) -> Response:
    if name not in _STATIC:
        return Response(status_code=404)
    return Response(
        (STATIC / name).read_bytes(),
        media_type=_STATIC[name],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/office", include_in_schema=False)
def office_home(request: Request, who: OfficeUser) -> Response:
    return page(request, who, page_lang(request), "home.html")


# --- signing in and out --------------------------------------------------------------------


def _signin_page(
    request: Request,
    lang: str,
    status: int = 200,
    error: str = "",
    username: str = "",
    notice: str = "",
) -> Response:
    settings = request.app.state.settings
    note = STRINGS[lang]["signin_note"].format(
        max=settings.console_max_failures, minutes=settings.console_lockout_minutes
    )
    return page(
        request,
        None,
        lang,
        "signin.html",
        status,
        error=error,
        username=username,
        note=note,
        notice=notice,
    )


@router.get("/office/signin", include_in_schema=False)
def office_signin_page(request: Request) -> Response:
    lang = page_lang(request)
    notice = STRINGS[lang]["enrolled"] if request.query_params.get("enrolled") else ""
    return _signin_page(request, lang, notice=notice)


@router.post("/office/signin", include_in_schema=False)
def office_signin(
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    username: Text = "",
    password: Text = "",
    code: Text = "",
    csrf: Text = "",
    lang: Text = "",
) -> Response:
    lang = page_lang(request, lang)
    check_pre_form(request, settings, csrf, lang)
    try:
        token = console.sign_in(
            session,
            username=username,
            password=password,
            code=code,
            client=client_address(request),
            settings=settings,
            now=now,
        )
    except console.ConsoleLocked as exc:
        minutes = max(1, (exc.retry_after + 59) // 60)
        text = STRINGS[lang]["locked"].format(minutes=minutes)
        return _signin_page(request, lang, 429, text, username)
    except console.SignInFailed as exc:
        return _signin_page(request, lang, 401, _error_text(exc, lang), username)
    response = RedirectResponse("/office" + lang_query(lang), status_code=303)
    set_session_cookie(response, token, settings)
    response.delete_cookie(PRE_COOKIE, path="/office")
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/office/signout", include_in_schema=False)
def office_signout(
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeUser,
    csrf: Text = "",
) -> Response:
    lang = page_lang(request)
    check_form(request, settings, who, csrf, lang)
    console.end_session(session, who, client=client_address(request), now=now)
    response = RedirectResponse("/office/signin" + lang_query(lang), status_code=303)
    response.delete_cookie(COOKIE, path="/office", httponly=True, samesite="strict")
    return response


# --- enrolment -----------------------------------------------------------------------------


@router.get("/office/enrol", include_in_schema=False)
def office_enrol_page(request: Request) -> Response:
    return page(request, None, page_lang(request), "enrol.html", errors={}, username="", error="")


@router.post("/office/enrol", include_in_schema=False)
def office_enrol(
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    username: Text = "",
    code: Text = "",
    password: Text = "",
    password2: Text = "",
    csrf: Text = "",
    lang: Text = "",
) -> Response:
    lang = page_lang(request, lang)
    t = STRINGS[lang]
    check_pre_form(request, settings, csrf, lang)
    errors: dict[str, str] = {}
    for field, value in (("username", username), ("code", code), ("password", password)):
        if not value.strip():
            errors[field] = t["required"]
    if not errors:
        try:
            console.password_problems(password, username=username, settings=settings)
        except ValidationFailed as exc:
            errors.update(field_errors(exc, lang))
    if not errors and password != password2:
        errors["password2"] = t["mismatch"]
    if errors:
        return page(
            request, None, lang, "enrol.html", 422, errors=errors, username=username, error=""
        )
    try:
        got = console.start_enrolment(
            session,
            username=username,
            code=code,
            password=password,
            client=client_address(request),
            settings=settings,
            now=now,
        )
    except (console.SignInFailed, console.ConsoleLocked) as exc:
        status = exc.status
        return page(
            request,
            None,
            lang,
            "enrol.html",
            status,
            errors={},
            username=username,
            error=_error_text(exc, lang),
        )
    return page(
        request,
        None,
        lang,
        "enrol_totp.html",
        username=username.strip().lower(),
        code=code,
        qr=console.qr_svg(got.uri),
        secret=got.secret,
        recovery=got.recovery_codes,
        error="",
        show_secrets=True,
    )


@router.post("/office/enrol/confirm", include_in_schema=False)
def office_enrol_confirm(
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    username: Text = "",
    code: Text = "",
    totp: Text = "",
    csrf: Text = "",
    lang: Text = "",
) -> Response:
    lang = page_lang(request, lang)
    check_pre_form(request, settings, csrf, lang)
    try:
        console.confirm_enrolment(
            session,
            username=username,
            code=code,
            totp_code=totp,
            client=client_address(request),
            settings=settings,
            now=now,
        )
    except (console.SignInFailed, console.ConsoleLocked) as exc:
        # the QR code and recovery codes are not shown again
        return page(
            request,
            None,
            lang,
            "enrol_totp.html",
            exc.status,
            username=username,
            code=code,
            qr="",
            secret="",
            recovery=(),
            error=_error_text(exc, lang),
            show_secrets=False,
        )
    q = "?enrolled=1" + ("&lang=en" if lang == "en" else "")
    return RedirectResponse("/office/signin" + q, status_code=303)


# --- officers (admins) ---------------------------------------------------------------------


def _officers_page(
    request: Request,
    session: DbSession,
    who: ConsoleIdentity,
    lang: str,
    status: int = 200,
    *,
    notice: str = "",
    error: str = "",
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    issued: tuple[str, str] | None = None,
) -> Response:
    officers = accounts.list_officers(session, office_id=who.office_id)
    session.rollback()
    hours = request.app.state.settings.console_enrolment_hours
    return page(
        request,
        who,
        lang,
        "officers.html",
        status,
        officers=officers,
        roles=accounts.ROLES,
        notice=notice,
        error=error,
        errors=errors or {},
        form=form or {"username": "", "display_name": "", "role": "clerk"},
        issued=issued,
        hours=hours,
    )


@router.get("/office/officers", include_in_schema=False)
def office_officers(request: Request, session: DbSession, who: OfficeAdmin) -> Response:
    return _officers_page(request, session, who, page_lang(request))


def _issue_code(
    session: DbSession, settings: Settings, now: Now, who: ConsoleIdentity, officer_id: int
) -> str:
    return console.issue_enrolment(
        session,
        officer_id=officer_id,
        office_id=who.office_id,
        issued_by=who.officer_id,
        actor=who.principal.actor,
        settings=settings,
        now=now,
    )


@router.post("/office/officers", include_in_schema=False)
def office_create_officer(
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeAdmin,
    username: Text = "",
    display_name: Text = "",
    role: Text = "",
    csrf: Text = "",
) -> Response:
    lang = page_lang(request)
    check_form(request, settings, who, csrf, lang)
    form = {"username": username, "display_name": display_name, "role": role}
    try:
        out = lifecycle.request_officer(
            session,
            username=username,
            display_name=display_name,
            role=role,
            who=who.principal,
            now=now,
        )
    except ValidationFailed as exc:
        return _officers_page(
            request, session, who, lang, 422, errors=field_errors(exc, lang), form=form
        )
    except IssuerError as exc:
        return _officers_page(
            request, session, who, lang, exc.status, error=_error_text(exc, lang), form=form
        )
    t = STRINGS[lang]
    if out["state"] == "pending":
        return _officers_page(request, session, who, lang, 202, notice=t["pending"])
    created = out["officer"]
    code = _issue_code(session, settings, now, who, created.id)
    return _officers_page(
        request, session, who, lang, 201, notice=t["done"], issued=(created.username, code)
    )


@router.post("/office/officers/{officer_id}/{action}", include_in_schema=False)
def office_officer_action(
    officer_id: OfficerId,
    action: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeAdmin,
    role: Text = "",
    csrf: Text = "",
) -> Response:
    lang = page_lang(request)
    t = STRINGS[lang]
    if action not in ("role", "deactivate", "enrolment"):
        return message(request, who, lang, 404, t["not_found"])
    check_form(request, settings, who, csrf, lang)
    try:
        if action == "role":
            out = lifecycle.request_role_change(
                session, officer_id=officer_id, role=role, who=who.principal, now=now
            )
            notice = t["pending"] if out["state"] == "pending" else t["done"]
            return _officers_page(request, session, who, lang, notice=notice)
        if action == "deactivate":
            accounts.deactivate_officer(
                session,
                officer_id=officer_id,
                office_id=who.office_id,
                actor=who.principal.actor,
                now=now,
            )
            return _officers_page(request, session, who, lang, notice=t["done"])
        code = _issue_code(session, settings, now, who, officer_id)
        name = accounts.get_officer(session, officer_id=officer_id, office_id=who.office_id)
        return _officers_page(
            request, session, who, lang, notice=t["done"], issued=(name.username, code)
        )
    except ValidationFailed as exc:
        return _officers_page(
            request, session, who, lang, 422, error="; ".join(field_errors(exc, lang).values())
        )
    except IssuerError as exc:
        return _officers_page(request, session, who, lang, exc.status, error=_error_text(exc, lang))
