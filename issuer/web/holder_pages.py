"""The holder's pages as HTML: their bilingual text, templates and headers, and the checks
every page makes (the session cookie; language, same-origin POSTs and headers are the
shared ones of ``issuer.web.pages``, re-exported here for the holder's routes). The routes are in
``issuer.web.routes.holder`` (docs/holder.md).

Mobile first, no script, zh-CN by default, English with ``?lang=en`` or Accept-Language.
Every page is sent with a strict Content-Security-Policy and never cached.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from credential import QualificationType, date_text
from issuer import holder
from issuer.errors import IssuerError
from issuer.settings import IssuerSettings
from issuer.web.pages import (
    TEMPLATE_ROOT,
    client_address,
    environment,
    lang_query,
    page_headers,
    page_lang,
    same_origin,
)

__all__ = [
    "COOKIE",
    "FORM_MAX",
    "STRINGS",
    "TEMPLATES",
    "certificate_number",
    "client_address",
    "holder_of",
    "issuer_error_page",
    "lang_query",
    "list_page",
    "login_page",
    "message_page",
    "page",
    "page_date",
    "page_lang",
    "same_origin",
]

TEMPLATES = TEMPLATE_ROOT / "holder"
COOKIE = "jz_holder"
FORM_MAX = 200  # characters kept of any form field (more is refused before use)

_ENV = environment("holder")
_PAGE_HEADERS = page_headers(script=False)

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
        "dl_pdf_for": "可打印，或作为附件发给需要查看证书的单位；对方扫描证书上的二维码即可核验。",
        "dl_json_for": "供读取电子证照的信息系统使用，例如用人单位的人事系统或政务服务平台："
        "把文件上传或交给对方系统，系统会自动核对认定机构的签名。文件内容供机器读取，无需打开。",
        "dl_jws_for": "与上一项内容相同的签名数据，格式更紧凑，供只接受此格式的系统使用。"
        "对方没有要求时，发送 PDF 即可。",
        "copies_heading": "已生成的加注件",
        "copies_none": "尚未生成加注件。",
        "copy_purpose": "用途",
        "copy_expires": "有效期至",
        "copy_made": "生成日期",
        "copy_expired": "（已过期）",
        "copy_expires_text": "{date}（含当日）",
        "status_help_suspended": "此证书已被{office}暂停：暂停期间，任何人核验此证书都会看到"
        "“暂停”，不能作为有效证书使用，也不能生成加注件；已生成的加注件同样显示为暂停。"
        "暂停可以解除：如有疑问或需要了解原因，请联系{office}。",
        "status_help_revoked": "此证书已被{office}撤销：它不再有效，任何人核验都会看到"
        "“已撤销”，已生成的加注件也一并失效。撤销不会自动恢复。"
        "如认为撤销有误，或需要了解原因和申请复议的途径，请联系{office}。",
        "copy_heading": "生成加注件",
        "copy_lead": "加注件注明用途和有效期，证件号码部分隐藏；过期后核验显示为已过期。",
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
        "dl_pdf_for": "Print it, or send it to whoever needs to see your certificate: they "
        "scan the QR code on it to check it.",
        "dl_json_for": "For computer systems that read signed e-licences, such as an "
        "employer's HR system or a government service platform: upload or hand the file to "
        "that system and it checks the office's signature itself. It is meant for machines; "
        "you do not need to open it.",
        "dl_jws_for": "The same signed data as the previous file in a more compact form, for "
        "systems that accept only this form. If nobody asked you for it, send the PDF.",
        "copies_heading": "Purpose-bound copies made",
        "copies_none": "No copies made yet.",
        "copy_purpose": "Purpose",
        "copy_expires": "Valid until",
        "copy_made": "Made on",
        "copy_expired": "(expired)",
        "copy_expires_text": "{date} (inclusive)",
        "status_help_suspended": "{office} has suspended this certificate: while it is "
        "suspended, anyone who checks it is told so, it cannot be used as a valid "
        "certificate and no copies can be made of it; copies already made show as suspended "
        "too. A suspension can be lifted: to ask why, or what to do, contact {office}.",
        "status_help_revoked": "{office} has revoked this certificate: it is no longer valid, "
        "anyone who checks it is told it was revoked, and copies already made are no longer "
        "valid either. A revocation is not lifted by itself: if you think it is a mistake, "
        "or to ask why and how to appeal, contact {office}.",
        "copy_heading": "Make a purpose-bound copy",
        "copy_lead": "A copy states its purpose and expiry and masks your identity number; "
        "after the expiry, checking it says expired.",
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


def page(
    request: Request,
    lang: str,
    template: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` in ``lang`` with the pages' security headers."""
    t = STRINGS[lang]
    path = request.url.path if request.method == "GET" else "/holder"
    switch = "zh" if lang == "en" else "en"
    html = _ENV.get_template(template).render(
        t=t, lang=lang, q=lang_query(lang), switch_href=f"{path}?lang={switch}", **context
    )
    hdrs = {**_PAGE_HEADERS, "Content-Language": t["html_lang"], **(headers or {})}
    return HTMLResponse(html, status_code=status, headers=hdrs)


def message_page(
    request: Request,
    lang: str,
    status: int,
    message: str,
    *,
    heading: str | None = None,
    back: str = "/holder",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Return a page that says ``message`` (an error by default) with a link back."""
    return page(
        request,
        lang,
        "message.html",
        status,
        headers,
        heading=heading or STRINGS[lang]["error"],
        message=message,
        back=back + lang_query(lang),
    )


def login_page(
    request: Request,
    lang: str,
    status: int = 200,
    message: str = "",
    number: str = "",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Return the login page, with ``message`` and the number typed if it was refused."""
    settings: IssuerSettings = request.app.state.settings
    note = STRINGS[lang]["login_note"].format(
        max=settings.holder_max_failures, minutes=settings.holder_lockout_minutes
    )
    return page(
        request, lang, "login.html", status, headers, message=message, number=number, note=note
    )


def issuer_error_page(request: Request, lang: str, exc: IssuerError, back: str) -> HTMLResponse:
    """Return the page of an issuer error: its status, title and detail in ``lang``."""
    text = (exc.detail or exc.title) if lang == "en" else (exc.detail_zh or exc.title_zh)
    title = exc.title if lang == "en" else exc.title_zh
    return message_page(
        request,
        lang,
        exc.status,
        text,
        heading=title,
        back=back,
        headers=getattr(exc, "headers", None),
    )


def holder_of(
    request: Request, session: Any, settings: IssuerSettings, now: dt.datetime
) -> holder.HolderIdentity | None:
    """Return the holder the session cookie names, or None (no, expired or bad cookie)."""
    who = holder.open_session(session, request.cookies.get(COOKIE), settings=settings, now=now)
    session.rollback()  # end the read: a write transaction may follow
    return who


def page_date(d: dt.date, lang: str) -> str:
    """Return ``d`` as the pages and the PDF print it: ``2026年6月5日`` (``5 June 2026`` in
    English), by ``credential.date_text``."""
    return date_text(d, "zh" if lang == "zh" else "en")


def _copy_view(copy: holder.HolderCopyView, lang: str) -> dict[str, Any]:
    t = STRINGS[lang]
    return {
        "purpose": copy.purpose,
        "expires": t["copy_expires_text"].format(date=page_date(copy.last_day, lang)),
        "made_on": page_date(copy.made_on, lang),
        "expired": copy.expired,
    }


def _row_view(
    row: Any, lang: str, copies: list[holder.HolderCopyView], office: str
) -> dict[str, Any]:
    qt = QualificationType(row.qualification_type)
    t = STRINGS[lang]
    help_key = f"status_help_{row.status}"
    return {
        "number": row.certificate_number,
        "qualification": qt.name_in(lang),
        "name": row.name,
        "masked": row.id_number_masked,
        "subject": row.subject,
        "certified_on": page_date(row.certified_on, lang),
        "status": row.status,
        # an unknown status shows as the plain "not valid" word rather than its code
        "status_text": t.get(f"status_{row.status}", t["status_revoked"]),
        "status_help": t[help_key].format(office=office) if help_key in t else "",
        "copies": [_copy_view(c, lang) for c in copies],
        "errors": [],
        "purpose": "",
        "days": holder.COPY_DAYS_DEFAULT,
    }


def list_page(
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
    now: dt.datetime,
) -> HTMLResponse:
    """Return the holder's certificates, each with the copies made of it (an expired one
    marked so as of ``now``), with the copy form's errors under ``errors_for``."""
    found = holder.certificates_of(session, who)
    copies = holder.holder_copies(session, [r.certificate_number for r in found], now=now)
    office = _office_name(settings, lang)
    rows = [_row_view(r, lang, copies[r.certificate_number], office) for r in found]
    for view in rows:
        if view["number"] == errors_for:
            view["errors"], view["purpose"] = errors or [], purpose[: holder.PURPOSE_MAX]
            view["days"] = days[:3] or holder.COPY_DAYS_DEFAULT
    return page(
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


def _office_name(settings: IssuerSettings, lang: str) -> str:
    """The office a teacher is told to contact, named as its certificates name it."""
    if lang == "zh":
        return settings.office_name
    return f"the certification office ({settings.office_name})"


def certificate_number(text: str) -> str | None:
    """Return ``text`` as a certificate number (17 digits, spaces dropped), or None."""
    digits = "".join(text.split())
    return digits if len(digits) == 17 and digits.isascii() and digits.isdigit() else None
