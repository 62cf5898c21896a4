"""The office console's pages (``/office``): their bilingual text, the signed-in officer
as a route dependency, the form checks and the rendering. The routes are in
``issuer.web.routes.office``; the people and sessions in ``issuer.console``.

zh-CN by default, English with ``?lang=en`` or Accept-Language (``issuer.web.pages``,
shared with the holder's pages). Every page is sent with a strict Content-Security-Policy
(scripts from this site only: ``/office/static/office.js``) and never cached.

Forms: once signed in, every POST carries the session's form token (``csrf``) and must
come from this site (Origin, else Referer); before sign-in (sign-in, enrolment) the token
is a random value in the ``jz_office_pre`` cookie, sent back in the form (double submit).
A refusal is a 403 page that names the form token.

How to add a page: see ``issuer.console``.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from issuer import console
from issuer.console import ConsoleIdentity
from issuer.fields import FieldError, ValidationFailed
from issuer.settings import IssuerSettings
from issuer.web.deps import DbSession, Now, Settings
from issuer.web.pages import (
    TEMPLATE_ROOT,
    environment,
    lang_query,
    page_headers,
    page_lang,
    same_origin,
)

__all__ = [
    "COOKIE",
    "FORM_MAX",
    "NAV",
    "PRE_COOKIE",
    "STATIC",
    "STRINGS",
    "OfficeAdmin",
    "OfficeSupervisor",
    "OfficeUser",
    "PageRefusal",
    "check_form",
    "check_pre_form",
    "field_errors",
    "install",
    "message",
    "page",
    "pre_token",
    "problem_page",
    "set_session_cookie",
]

COOKIE = "jz_office"
PRE_COOKIE = "jz_office_pre"
STATIC = TEMPLATE_ROOT / "office" / "static"
FORM_MAX = 200  # characters kept of a form field (more is refused before use)

_ENV = environment("office")
_HEADERS = page_headers(script=True)

_SUPERVISORS = frozenset({"supervisor", "admin"})
_ADMINS = frozenset({"admin"})

# (key in STRINGS, path, the roles that see the link: None for every officer)
NAV: tuple[tuple[str, str, frozenset[str] | None], ...] = (
    ("nav_home", "/office", None),
    ("nav_certificates", "/office/certificates", None),
    ("nav_batches", "/office/batches", None),
    ("nav_inbox", "/office/inbox", _SUPERVISORS),
    ("nav_restrictions", "/office/restrictions", _SUPERVISORS),
    ("nav_audit", "/office/audit", _ADMINS),
    ("nav_officers", "/office/officers", _ADMINS),
)

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "html_lang": "zh-CN",
        "title": "教师资格认定 · 工作台",
        "switch": "English",
        "switch_lang": "en",
        "skip": "跳到正文",
        "nav_home": "首页",
        "nav_certificates": "证书查询",
        "nav_batches": "批量签发",
        "nav_inbox": "待审批",
        "nav_restrictions": "限制库",
        "nav_audit": "审计日志",
        "nav_officers": "工作人员",
        "signed_in_as": "当前用户",
        "signout": "退出登录",
        "role_clerk": "经办人员",
        "role_supervisor": "审核人员",
        "role_admin": "管理员",
        "signin_heading": "工作人员登录",
        "username": "用户名",
        "password": "密码",
        "password_hint": "至少 {min} 个字符",
        "password2": "再次输入密码",
        "code": "动态验证码或恢复码",
        "code_hint": "身份验证器上的 6 位数字，或一个恢复码",
        "signin_button": "登录",
        "signin_note": "连续失败 {max} 次，账户将被锁定 {minutes} 分钟。",
        "enrol_link": "首次登录或重置后，用管理员给您的设置码设置密码",
        "enrol_heading": "设置密码和动态验证码",
        "enrol_code": "设置码",
        "enrol_code_hint": "管理员给您的 16 位设置码，可不输入短横线",
        "enrol_button": "下一步",
        "totp_heading": "绑定身份验证器",
        "totp_lead": "用身份验证器应用扫描下面的二维码（只显示这一次），"
        "然后输入它显示的 6 位数字。",
        "totp_uri": "无法扫描时，手动输入此密钥",
        "recovery_heading": "恢复码（只显示这一次）",
        "recovery_lead": "请抄写或打印后妥善保管。手机丢失时，每个恢复码可代替动态验证码登录一次。",
        "totp_code": "6 位动态验证码",
        "totp_button": "完成设置",
        "enrolled": "设置完成，请登录。",
        "home_heading": "欢迎",
        "home_lead": "您已登录工作台。",
        "session_until": "本次登录最迟到",
        "officers_heading": "工作人员",
        "display_name": "姓名",
        "role": "角色",
        "state": "状态",
        "active": "在用",
        "inactive": "已停用",
        "actions": "操作",
        "create_heading": "新建工作人员",
        "create_note": "新建审核人员或管理员、变更角色，须由另一位管理员批准后生效。",
        "create_button": "新建",
        "change_role": "变更角色",
        "deactivate": "停用",
        "deactivate_confirm": "确定停用该工作人员吗？其登录和 API 密钥将立即失效。",
        "new_code": "发放设置码（重置登录）",
        "code_for": "{name} 的设置码（只显示这一次，{hours} 小时内有效）：",
        "pending": "已提交，等待另一位管理员批准。",
        "done": "已完成。",
        "forbidden": "请求被拒绝：表单令牌缺失或不正确，"
        "或请求不是从本网站页面提交的。请返回页面重试。",
        "admins_only": "只有管理员可以打开此页面。",
        "supervisors_only": "只有本机构的审核人员和管理员可以打开此页面。",
        "not_found": "未找到该页面。",
        "locked": "尝试次数过多，请 {minutes} 分钟后再试。",
        "mismatch": "两次输入的密码不一致。",
        "required": "此项必填。",
        "error": "无法完成请求",
        "back": "返回",
    },
    "en": {
        "html_lang": "en",
        "title": "Teacher qualification · Office console",
        "switch": "中文",
        "switch_lang": "zh",
        "skip": "Skip to content",
        "nav_home": "Home",
        "nav_certificates": "Certificates",
        "nav_batches": "Batches",
        "nav_inbox": "Approvals",
        "nav_restrictions": "Restrictions",
        "nav_audit": "Audit",
        "nav_officers": "Officers",
        "signed_in_as": "Signed in as",
        "signout": "Sign out",
        "role_clerk": "Clerk",
        "role_supervisor": "Supervisor",
        "role_admin": "Admin",
        "signin_heading": "Officer sign-in",
        "username": "Username",
        "password": "Password",
        "password_hint": "At least {min} characters",
        "password2": "Password again",
        "code": "Authenticator code or recovery code",
        "code_hint": "The 6 digits your authenticator app shows, or one recovery code",
        "signin_button": "Sign in",
        "signin_note": "After {max} failed attempts the account is locked for {minutes} minutes.",
        "enrol_link": "First time, or after a reset: set your password with the enrolment code",
        "enrol_heading": "Set your password and authenticator",
        "enrol_code": "Enrolment code",
        "enrol_code_hint": "The 16-character code an admin gave you; the dashes are optional",
        "enrol_button": "Next",
        "totp_heading": "Add the authenticator",
        "totp_lead": "Scan this QR code with your authenticator app (it is shown only this "
        "once), then enter the 6 digits it shows.",
        "totp_uri": "If you cannot scan it, enter this key by hand",
        "recovery_heading": "Recovery codes (shown only this once)",
        "recovery_lead": "Write them down or print them and keep them safe. If you lose your "
        "phone, each one signs you in once instead of an authenticator code.",
        "totp_code": "6-digit authenticator code",
        "totp_button": "Finish",
        "enrolled": "All set: please sign in.",
        "home_heading": "Welcome",
        "home_lead": "You are signed in to the office console.",
        "session_until": "This session ends at the latest at",
        "officers_heading": "Officers",
        "display_name": "Name",
        "role": "Role",
        "state": "State",
        "active": "Active",
        "inactive": "Deactivated",
        "actions": "Actions",
        "create_heading": "New officer",
        "create_note": "A new supervisor or admin, and a change of role, take effect once "
        "another admin approves.",
        "create_button": "Create",
        "change_role": "Change role",
        "deactivate": "Deactivate",
        "deactivate_confirm": "Deactivate this officer? Their sign-in and API keys stop "
        "working at once.",
        "new_code": "Issue an enrolment code (reset sign-in)",
        "code_for": "Enrolment code for {name} (shown only this once, good for {hours} hours):",
        "pending": "Requested: waiting for another admin's approval.",
        "done": "Done.",
        "forbidden": "Refused: the form token (CSRF) is missing or wrong, or the request did "
        "not come from this site's pages. Go back and try again.",
        "admins_only": "Only admins may open this page.",
        "supervisors_only": "Only this office's supervisors and admins may open this page.",
        "not_found": "No such page.",
        "locked": "Too many attempts: try again in {minutes} minutes.",
        "mismatch": "The two passwords differ.",
        "required": "Required.",
        "error": "The request could not be completed",
        "back": "Back",
    },
}


class SignInRequired(Exception):
    """No (live) console session: the answer is the sign-in page."""

    def __init__(self, lang: str) -> None:
        super().__init__("sign-in required")
        self.lang = lang


class PageRefusal(Exception):
    """A console request refused with a page: ``status`` and the message under ``key``."""

    def __init__(self, status: int, key: str, lang: str) -> None:
        super().__init__(key)
        self.status, self.key, self.lang = status, key, lang


def _officer(request: Request, session: DbSession, settings: Settings, now: Now) -> ConsoleIdentity:
    token = request.cookies.get(COOKIE)
    who = console.open_session(session, token, settings=settings, now=now)
    if who is None:
        raise SignInRequired(page_lang(request))
    return who


OfficeUser = Annotated[ConsoleIdentity, Depends(_officer)]
"""The signed-in officer; without a live session the answer is the sign-in page."""


def _admin(request: Request, who: OfficeUser) -> ConsoleIdentity:
    if who.role != "admin":
        raise PageRefusal(403, "admins_only", page_lang(request))
    return who


OfficeAdmin = Annotated[ConsoleIdentity, Depends(_admin)]
"""The signed-in officer if an admin; anyone else gets a 403 page."""


def _supervisor(request: Request, who: OfficeUser, settings: Settings) -> ConsoleIdentity:
    # as the API's Supervisor: a supervisor or admin of the office this issuer serves
    if who.role not in _SUPERVISORS or who.office_id != settings.office_id:
        raise PageRefusal(403, "supervisors_only", page_lang(request))
    return who


OfficeSupervisor = Annotated[ConsoleIdentity, Depends(_supervisor)]
"""The signed-in officer if a supervisor or admin of this office; else a 403 page."""


def install(app: FastAPI) -> None:
    """Register on ``app`` the answers to ``SignInRequired`` (303 to the sign-in page)
    and ``PageRefusal`` (an HTML page with its status)."""

    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, exc: SignInRequired) -> Response:
        response = RedirectResponse("/office/signin" + lang_query(exc.lang), status_code=303)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(PageRefusal)
    async def _refused(request: Request, exc: PageRefusal) -> Response:
        return message(request, None, exc.lang, exc.status, STRINGS[exc.lang][exc.key])

    app.state.problem_page = problem_page


def problem_page(
    request: Request,
    status: int,
    title: tuple[str, str],
    detail: tuple[str, str] | None,
    errors: list[FieldError],
    headers: Mapping[str, str],
) -> Response:
    """Return a problem (``issuer.web.problems``) as a console page: its title, its detail
    and each refused field with the reason, in the page's language; ``headers`` kept
    (``Retry-After``, ``Allow``). Registered by :func:`install` for console paths."""
    lang = page_lang(request)
    en = lang == "en"
    parts = [title[0] if en else title[1]]
    if detail is not None and (detail[0] or detail[1]):
        parts.append(detail[0] if en else detail[1])
    parts += [f"{e.field}: {e.message if en else e.message_zh}" for e in errors]
    response = message(request, None, lang, status, ("; " if en else "；").join(parts))
    for name, value in headers.items():
        if name.lower() not in ("content-type", "content-length", "content-language"):
            response.headers[name] = value
    return response


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode())


def check_form(
    request: Request, settings: IssuerSettings, who: ConsoleIdentity, csrf: str, lang: str
) -> None:
    """Raise PageRefusal (403) unless a signed-in officer's POST came from this site with
    their session's form token."""
    if not same_origin(settings, request) or not console.csrf_matches(who, csrf):
        raise PageRefusal(403, "forbidden", lang)


def check_pre_form(request: Request, settings: IssuerSettings, csrf: str, lang: str) -> None:
    """Raise PageRefusal (403) unless a POST made before sign-in came from this site and
    sends back the token of its ``jz_office_pre`` cookie."""
    cookie = request.cookies.get(PRE_COOKIE, "")
    if not same_origin(settings, request) or len(cookie) < 20 or not _equal(csrf, cookie):
        raise PageRefusal(403, "forbidden", lang)


def pre_token(request: Request) -> str:
    """Return the double-submit token of the pages before sign-in (the cookie's, or new)."""
    cookie = request.cookies.get(PRE_COOKIE, "")
    return cookie if 20 <= len(cookie) <= 64 and cookie.isascii() else secrets.token_urlsafe(24)


def _secure(settings: IssuerSettings) -> bool:
    return settings.env != "development" or settings.public_url.startswith("https://")


def set_session_cookie(response: Response, token: str, settings: IssuerSettings) -> None:
    """Set the console session cookie: opaque, HttpOnly, SameSite=Strict, Secure unless
    development on plain HTTP, for /office only."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.console_session_hours * 3600,
        path="/office",
        secure=_secure(settings),
        httponly=True,
        samesite="strict",
    )


def field_errors(exc: ValidationFailed, lang: str) -> dict[str, str]:
    """Return a refused form's messages by field (the first for each), in ``lang``."""
    out: dict[str, str] = {}
    for e in exc.errors:
        out.setdefault(e.field, e.message if lang == "en" else e.message_zh)
    return out


def page(
    request: Request,
    who: ConsoleIdentity | None,
    lang: str,
    template: str,
    status: int = 200,
    strings: Mapping[str, Mapping[str, str]] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` (under templates/office/) in ``lang`` for ``who`` (None before
    sign-in: the page then carries the double-submit token, ``pre``) with the console's
    security headers. ``strings`` (``{"zh": {...}, "en": {...}}``) adds an area's own
    text to the shared ``STRINGS`` (each area keeps its text beside its routes)."""
    settings: IssuerSettings = request.app.state.settings
    t = {**STRINGS[lang], **(strings or {}).get(lang, {})}
    switch = "zh" if lang == "en" else "en"
    path = request.url.path if request.method == "GET" else "/office"
    nav = [
        (t[key], href + lang_query(lang), request.url.path == href)
        for key, href, roles in NAV
        if who is not None and (roles is None or who.role in roles)
    ]
    pre = pre_token(request) if who is None else ""
    html = _ENV.get_template(template).render(
        t=t,
        lang=lang,
        q=lang_query(lang),
        switch_href=f"{path}?lang={switch}",
        who=who,
        role_text=t.get(f"role_{who.role}", who.role) if who else "",
        nav=nav,
        csrf=who.csrf if who else pre,
        password_min=settings.console_password_min_length,
        **context,
    )
    response = HTMLResponse(
        html, status_code=status, headers={**_HEADERS, "Content-Language": t["html_lang"]}
    )
    if who is None:
        response.set_cookie(
            PRE_COOKIE,
            pre,
            path="/office",
            secure=_secure(settings),
            httponly=True,
            samesite="strict",
        )
    return response


def message(
    request: Request,
    who: ConsoleIdentity | None,
    lang: str,
    status: int,
    text: str,
    *,
    back: str = "/office",
) -> HTMLResponse:
    """Return a page that says ``text`` (an error heading unless 2xx) with a link back."""
    heading = STRINGS[lang]["error"] if status >= 400 else ""
    return page(
        request,
        who,
        lang,
        "message.html",
        status,
        heading=heading,
        message=text,
        back=back + lang_query(lang),
    )
