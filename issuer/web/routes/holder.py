"""The teacher's (holder's) pages and the office's claim-code endpoint (docs/holder.md).

Office (JSON, in the OpenAPI document): ``POST /api/v1/certificates/{number}/claim-code``
makes the teacher's claim code (shown once), ``GET /api/v1/certificates/{number}/copies``
lists the purpose copies made of a certificate.

Holder (HTML, not in the OpenAPI document; mobile first, no script, zh-CN by default,
English with ``?lang=en`` or Accept-Language): ``/holder`` (log in with a certificate
number and the claim code), ``/holder/certificates`` (their certificates), downloads
``/holder/certificates/<number>.json|.vc.jwt|.pdf``, ``POST
/holder/certificates/<number>/copy`` (a purpose-bound copy, PDF) and ``POST
/holder/logout``. Every POST must come from this site (Origin, else Referer) and, once
logged in, carry the session's form token; the session cookie is HttpOnly and
SameSite=Strict. Bad input is a 4xx page, never a 500.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import jinja2
from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from credential import QualificationType
from issuer import holder
from issuer.errors import IssuerError
from issuer.fields.application import ValidationFailed
from issuer.issuance import certificate_row, printing
from issuer.pdf import PdfError
from issuer.settings import IssuerSettings
from issuer.web.deps import DbSession, DocumentKey, Now, Principal, Settings, SignerDep, require
from issuer.web.problems import language
from issuer.web.routes._common import AUTH, problems

__all__ = ["STRINGS", "router"]

router = APIRouter()
Clerk = Annotated[Principal, Depends(require("clerk", "supervisor"))]

TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "holder"
COOKIE = "jz_holder"
_FORM_MAX = 200  # characters kept of any form field (more is refused before use)

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)

_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "html_lang": "zh-CN",
        "title": "教师资格证书 · 持证人",
        "switch": "English",
        "switch_lang": "en",
        "footer": "本页面由认定机构提供。领取码请向发证的认定机构索取，勿告诉他人。",
        "login_heading": "领取我的电子证书",
        "login_lead": "输入任一张证书的号码和认定机构给您的领取码，即可下载您的电子证书。",
        "number_label": "证书号码",
        "number_hint": "17 位数字，见纸质证书或认定机构的通知",
        "code_label": "领取码",
        "code_hint": "16 位字母和数字，可不输入短横线",
        "login_button": "登录",
        "login_note": "连续输错 {max} 次，该证书号码将被锁定 {minutes} 分钟。",
        "list_heading": "我的证书",
        "logout": "退出",
        "none": "没有找到证书。",
        "number": "证书号码",
        "name": "姓名",
        "id_number": "证件号码",
        "subject": "任教学科",
        "certified_on": "认定日期",
        "status": "状态",
        "downloads": "下载",
        "dl_pdf": "PDF 证书",
        "dl_json": "电子证照（JSON）",
        "dl_jws": "电子证照（JWS）",
        "copy_heading": "生成加注件",
        "copy_lead": "加注件注明用途和有效期，证件号码部分隐藏；过期后验证显示为已过期。",
        "purpose_label": "用途（中文约 30 字以内）",
        "purpose_example": "应聘某某学校教师岗位",
        "days_label": "有效天数（1–90）",
        "copy_button": "生成加注件 PDF",
        "back": "返回",
        "status_valid": "有效",
        "status_suspended": "暂停",
        "status_revoked": "已撤销",
        "bad_number": "证书号码应为 17 位数字。",
        "bad_code": "请输入领取码。",
        "login_again": "请先登录。",
        "forbidden": "请求来源不正确，请从本网站的页面提交。",
        "not_found": "未找到该页面或证书。",
        "locked": "尝试次数过多，请 {minutes} 分钟后再试。",
        "error": "无法完成请求",
    },
    "en": {
        "html_lang": "en",
        "title": "Teacher qualification · Holder",
        "switch": "中文",
        "switch_lang": "zh",
        "footer": "Run by the certification office. Get your claim code from the office "
        "that certified you; do not share it.",
        "login_heading": "Get my e-certificates",
        "login_lead": "Enter the number of any of your certificates and the claim code your "
        "office gave you to download your e-certificates.",
        "number_label": "Certificate number",
        "number_hint": "17 digits, on the paper certificate or the office's notice",
        "code_label": "Claim code",
        "code_hint": "16 letters and digits; the dashes are optional",
        "login_button": "Log in",
        "login_note": "After {max} wrong codes the certificate number is locked for {minutes} "
        "minutes.",
        "list_heading": "My certificates",
        "logout": "Log out",
        "none": "No certificates found.",
        "number": "Number",
        "name": "Name",
        "id_number": "Identity number",
        "subject": "Subject",
        "certified_on": "Certified on",
        "status": "Status",
        "downloads": "Download",
        "dl_pdf": "PDF certificate",
        "dl_json": "E-licence (JSON)",
        "dl_jws": "E-licence (JWS)",
        "copy_heading": "Make a purpose-bound copy",
        "copy_lead": "A copy states its purpose and expiry and masks your identity number; "
        "after the expiry, verifying it says expired.",
        "purpose_label": "Purpose (up to about 30 Chinese characters or 60 letters)",
        "purpose_example": "Application for a teaching post at …",
        "days_label": "Valid for days (1–90)",
        "copy_button": "Make the copy (PDF)",
        "back": "Back",
        "status_valid": "Valid",
        "status_suspended": "Suspended",
        "status_revoked": "Revoked",
        "bad_number": "A certificate number is 17 digits.",
        "bad_code": "Enter the claim code.",
        "login_again": "Please log in first.",
        "forbidden": "This request did not come from this site's pages.",
        "not_found": "No such page or certificate.",
        "locked": "Too many attempts: try again in {minutes} minutes.",
        "error": "The request could not be completed",
    },
}


# --- page helpers ------------------------------------------------------------------------


def _lang(request: Request, given: str | None = None) -> str:
    choice = given or request.query_params.get("lang")
    if choice in ("en", "zh"):
        return choice
    return language(request.headers.get("accept-language"))


def _q(lang: str) -> str:
    return "?lang=en" if lang == "en" else ""


def _page(
    request: Request,
    lang: str,
    template: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    t = STRINGS[lang]
    path = request.url.path if request.method == "GET" else "/holder"
    switch = "zh" if lang == "en" else "en"
    html = _ENV.get_template(template).render(
        t=t, lang=lang, q=_q(lang), switch_href=f"{path}?lang={switch}", **context
    )
    hdrs = {**_PAGE_HEADERS, "Content-Language": t["html_lang"], **(headers or {})}
    return HTMLResponse(html, status_code=status, headers=hdrs)


def _message(
    request: Request,
    lang: str,
    status: int,
    message: str,
    *,
    heading: str | None = None,
    back: str = "/holder",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return _page(
        request,
        lang,
        "message.html",
        status,
        headers,
        heading=heading or STRINGS[lang]["error"],
        message=message,
        back=back + _q(lang),
    )


def _login_page(
    request: Request,
    lang: str,
    status: int = 200,
    message: str = "",
    number: str = "",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    settings: IssuerSettings = request.app.state.settings
    note = STRINGS[lang]["login_note"].format(
        max=settings.holder_max_failures, minutes=settings.holder_lockout_minutes
    )
    return _page(
        request, lang, "login.html", status, headers, message=message, number=number, note=note
    )


def _issuer_error(request: Request, lang: str, exc: IssuerError, back: str) -> HTMLResponse:
    text = (exc.detail or exc.title) if lang == "en" else (exc.detail_zh or exc.title_zh)
    title = exc.title if lang == "en" else exc.title_zh
    return _message(
        request,
        lang,
        exc.status,
        text,
        heading=title,
        back=back,
        headers=getattr(exc, "headers", None),
    )


def _origins(settings: IssuerSettings, request: Request) -> set[str]:
    own = urlsplit(settings.public_url)
    allowed = {f"{own.scheme}://{own.netloc}"}
    host = request.headers.get("host")
    if host:
        allowed.add(f"{request.scope['scheme']}://{host}")  # request.url parses Host
    return allowed


def _same_origin(settings: IssuerSettings, request: Request) -> bool:
    """Return True if a POST came from this site's pages (Origin, else Referer)."""
    allowed = _origins(settings, request)
    origin = request.headers.get("origin")
    if origin is not None:
        return origin in allowed
    referer = request.headers.get("referer")
    if referer:
        try:
            parts = urlsplit(referer)
        except ValueError:  # e.g. "http://[x/": not a URL, so not from our pages
            return False
        return f"{parts.scheme}://{parts.netloc}" in allowed
    return False


def _who(
    request: Request, session: Any, settings: IssuerSettings, now: dt.datetime
) -> holder.HolderIdentity | None:
    who = holder.open_session(session, request.cookies.get(COOKIE), settings=settings, now=now)
    session.rollback()  # end the read: a write transaction may follow
    return who


def _row_view(row: Any, lang: str) -> dict[str, Any]:
    qt = QualificationType(row.qualification_type)
    t = STRINGS[lang]
    return {
        "number": row.certificate_number,
        "qualification": qt.name_zh if lang == "zh" else qt.slug.replace("_", " ").title(),
        "name": row.name,
        "masked": row.id_number_masked,
        "subject": row.subject,
        "certified_on": row.certified_on.isoformat(),
        "status": row.status,
        "status_text": t.get(f"status_{row.status}", row.status),
        "errors": [],
        "purpose": "",
        "days": holder.COPY_DAYS_DEFAULT,
    }


def _list_page(
    request: Request,
    lang: str,
    session: Any,
    settings: IssuerSettings,
    who: holder.HolderIdentity,
    *,
    status: int = 200,
    errors_for: str | None = None,
    errors: list[str] | None = None,
    purpose: str = "",
    days: str = "",
) -> HTMLResponse:
    rows = [_row_view(r, lang) for r in holder.certificates_of(session, who)]
    for view in rows:
        if view["number"] == errors_for:
            view["errors"], view["purpose"] = errors or [], purpose[: holder.PURPOSE_MAX]
            view["days"] = days[:3] or holder.COPY_DAYS_DEFAULT
    return _page(
        request,
        lang,
        "certificates.html",
        status,
        certificates=rows,
        csrf=holder.csrf_token(settings, who),
        message="",
        purpose_max=holder.PURPOSE_MAX,
        days_max=holder.COPY_DAYS_MAX,
    )


def _number(text: str) -> str | None:
    digits = "".join(text.split())
    return digits if len(digits) == 17 and digits.isascii() and digits.isdigit() else None


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


# --- office side -------------------------------------------------------------------------


class ClaimCodeIssued(BaseModel):
    """A new claim code: give it to the teacher now; it is not shown again."""

    certificate_number: str
    claim_code: str
    expires_at: str
    holder_url: str
    replaced_previous: bool


class PurposeCopy(BaseModel):
    version: int
    purpose: str
    expires_at: str
    created_at: str
    token_sha256: str


@router.post(
    "/api/v1/certificates/{number}/claim-code",
    status_code=201,
    response_model=ClaimCodeIssued,
    responses={**AUTH, **problems(404)},
    summary="Make the teacher's claim code for the holder pages (shown once)",
    description=(
        "Returns a new claim code for the person holding this certificate; it opens all "
        "and only that person's certificates on the holder pages (`/holder`). Only a "
        "keyed hash is stored; a new code replaces the previous one. Audited."
    ),
)
def make_claim_code(
    number: Annotated[str, PathParam(pattern=r"^[0-9]{17}$")],
    session: DbSession,
    who: Clerk,
    settings: Settings,
    now: Now,
) -> Response:
    made = holder.issue_claim_code(
        session, number=number, settings=settings, actor=who.actor, now=now
    )
    body = ClaimCodeIssued(
        certificate_number=made.certificate_number,
        claim_code=made.claim_code,
        expires_at=made.expires_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        holder_url=f"{settings.public_url}/holder",
        replaced_previous=made.replaced,
    )
    return Response(
        body.model_dump_json(),
        status_code=201,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/api/v1/certificates/{number}/copies",
    response_model=list[PurposeCopy],
    responses={**AUTH, **problems(404)},
    summary="The purpose-bound copies the teacher made of a certificate",
)
def list_copies(
    number: Annotated[str, PathParam(pattern=r"^[0-9]{17}$")],
    session: DbSession,
    who: Clerk,
) -> list[PurposeCopy]:
    certificate_row(session, number=number)  # 404 for an unknown number
    return [PurposeCopy(**c) for c in holder.copies_of(session, number)]


# --- holder pages ------------------------------------------------------------------------


@router.get("/holder/holder.css", include_in_schema=False)
def holder_css() -> Response:
    return Response(
        (TEMPLATES / "holder.css").read_bytes(),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/holder", include_in_schema=False)
def holder_home(request: Request, session: DbSession, settings: Settings, now: Now) -> Response:
    lang = _lang(request)
    if _who(request, session, settings, now) is not None:
        return RedirectResponse("/holder/certificates" + _q(lang), status_code=303)
    return _login_page(request, lang)


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
    lang = _lang(request, lang)
    t = STRINGS[lang]
    if not _same_origin(settings, request):
        return _message(request, lang, 403, t["forbidden"])
    shown = number[:40]
    parsed = _number(number[:_FORM_MAX])
    if parsed is None:
        return _login_page(request, lang, 422, t["bad_number"], shown)
    if not code.strip() or len(code) > _FORM_MAX:
        return _login_page(request, lang, 422, t["bad_code"], parsed)
    try:
        who = holder.login(
            session, number=parsed, code=code, client=_client(request), settings=settings, now=now
        )
    except holder.HolderLocked as exc:
        minutes = max(1, (exc.retry_after + 59) // 60)
        return _login_page(
            request, lang, 429, t["locked"].format(minutes=minutes), parsed, exc.headers
        )
    except holder.HolderLoginFailed as exc:
        text = f"{exc.title}. {exc.detail}" if lang == "en" else f"{exc.title_zh}。{exc.detail_zh}"
        return _login_page(request, lang, 401, text, parsed)
    response = RedirectResponse("/holder/certificates" + _q(lang), status_code=303)
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
    lang = _lang(request)
    who = _who(request, session, settings, now)
    if not _same_origin(settings, request) or (
        who is not None and csrf != holder.csrf_token(settings, who)
    ):
        return _message(request, lang, 403, STRINGS[lang]["forbidden"])
    response = RedirectResponse("/holder" + _q(lang), status_code=303)
    response.delete_cookie(COOKIE, path="/holder", httponly=True, samesite="strict")
    return response


@router.get("/holder/certificates", include_in_schema=False)
def holder_certificates(
    request: Request, session: DbSession, settings: Settings, now: Now
) -> Response:
    lang = _lang(request)
    who = _who(request, session, settings, now)
    if who is None:
        return RedirectResponse("/holder" + _q(lang), status_code=303)
    return _list_page(request, lang, session, settings, who)


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
    lang = _lang(request)
    t = STRINGS[lang]
    suffix = next((s for s in _DOWNLOADS if filename.endswith(s)), None)
    number = _number(filename[: -len(suffix)]) if suffix else None
    if suffix is None or number is None or filename != number + suffix:
        return _message(request, lang, 404, t["not_found"], back="/holder/certificates")
    who = _who(request, session, settings, now)
    if who is None:
        return _message(request, lang, 401, t["login_again"])
    try:
        row = holder.certificate_of(session, who, number)
        if suffix == ".pdf":
            body = printing.certificate_pdf(row, settings=settings, document_key=document_key())
        elif suffix == ".json":
            body = holder.dumps(holder.credential_document(row, settings=settings))
        else:
            body = holder.credential_document(row, settings=settings)["jws"].encode("ascii")
    except IssuerError as exc:
        return _issuer_error(request, lang, exc, "/holder/certificates")
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
    lang = _lang(request)
    t = STRINGS[lang]
    parsed = _number(number)
    if parsed is None:
        return _message(request, lang, 404, t["not_found"], back="/holder/certificates")
    who = _who(request, session, settings, now)
    if who is None:
        return _message(request, lang, 401, t["login_again"])
    if not _same_origin(settings, request) or csrf != holder.csrf_token(settings, who):
        return _message(request, lang, 403, t["forbidden"], back="/holder/certificates")
    try:
        row = holder.certificate_of(session, who, parsed)
        text, n = holder.validate_copy_request(purpose[: _FORM_MAX * 5], days[:_FORM_MAX])
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
        return _issuer_error(request, lang, exc, "/holder/certificates")
    else:
        return _attachment(made.pdf, "application/pdf", f"{parsed}-copy.pdf")
    return _list_page(
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
    )
