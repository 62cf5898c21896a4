"""What every server-rendered page of the issuer shares (the holder's pages and the
office console): the page language, the same-origin check of a POST, the client's
address, the Jinja2 environment and the security headers.

zh-CN by default; English with ``?lang=en`` (or a form's ``lang``), else by
Accept-Language. A POST is accepted only from this site's own pages (Origin, else
Referer), on top of each area's form token and its SameSite=Strict cookie.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from fastapi import Request

from credential import IdType, QualificationType, beijing_text, date_text
from issuer.fields import REASON_CODES, REASON_CODES_EN
from issuer.settings import IssuerSettings
from issuer.web.problems import language

__all__ = [
    "TEMPLATE_ROOT",
    "beijing",
    "client_address",
    "day",
    "environment",
    "lang_query",
    "page_headers",
    "page_lang",
    "same_origin",
    "words",
]

TEMPLATE_ROOT = Path(__file__).resolve().parents[2] / "templates"


def environment(area: str) -> jinja2.Environment:
    """Return the Jinja2 environment of ``templates/<area>/``: autoescaped, an undefined
    name an error rather than an empty string, and the filters ``beijing`` (a stored UTC
    time shown in Beijing time in the page's language, as every page shows times), ``day``
    (a date, as ``credential.date_text`` writes it) and ``words`` (a code as words)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_ROOT / area),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["beijing"] = beijing
    env.filters["day"] = day
    env.filters["words"] = words
    return env


def page_headers(*, script: bool) -> dict[str, str]:
    """Return the headers of a page: a strict Content-Security-Policy (scripts from this
    site only with ``script``, none otherwise), no sniffing, no caching."""
    scripts = "script-src 'self'; " if script else ""
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; {scripts}style-src 'self'; img-src 'self' data:; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def page_lang(request: Request, given: str | None = None) -> str:
    """Return the page language: ``given`` or ``?lang=`` if zh or en, else Accept-Language."""
    choice = given or request.query_params.get("lang")
    if choice in ("en", "zh"):
        return choice
    return language(request.headers.get("accept-language"))


def lang_query(lang: str) -> str:
    """Return the query string that keeps ``lang`` on a link (Chinese needs none)."""
    return "?lang=en" if lang == "en" else ""


def _origins(settings: IssuerSettings, request: Request) -> set[str]:
    own = urlsplit(settings.public_url)
    allowed = {f"{own.scheme}://{own.netloc}"}
    host = request.headers.get("host")
    if host:
        allowed.add(f"{request.scope['scheme']}://{host}")  # request.url parses Host
    return allowed


def same_origin(settings: IssuerSettings, request: Request) -> bool:
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


def client_address(request: Request) -> str:
    """Return the address the request came from (what attempts are counted and audited by)."""
    return request.client.host if request.client is not None else "unknown"


@jinja2.pass_context
def beijing(context: jinja2.runtime.Context, value: str | dt.datetime | None) -> str:
    """Return ``value`` (RFC 3339 text or a datetime, naive: UTC) in Beijing time as
    ``credential.beijing_text`` writes it in the page's language (the template's ``lang``,
    Chinese when it has none): ``2026年6月5日 09:02 北京时间``. Returns "" for None, the
    text itself if it is not a time."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    else:
        when = value
    return beijing_text(when, "en" if context.get("lang") == "en" else "zh")


def _lang(context: jinja2.runtime.Context) -> str:
    return "en" if context.get("lang") == "en" else "zh"


@jinja2.pass_context
def day(context: jinja2.runtime.Context, value: str | dt.date | None) -> str:
    """Return the date ``value`` (``YYYY-MM-DD`` text or a date) as every page and the PDF
    write it in the page's language: ``2026年6月5日`` / ``5 June 2026``. Returns "" for
    None, the text itself if it is not a date."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            when = dt.date.fromisoformat(value)
        except ValueError:
            return value
    else:
        when = value
    return date_text(when, _lang(context))


@jinja2.pass_context
def words(context: jinja2.runtime.Context, code: str | None, kind: str) -> str:
    """Return the code ``code`` of ``kind`` (``qualification``, ``id_type`` or ``reason``,
    a decision's reason code) as words in the page's language, never the code itself: an
    unknown code reads as "其他"/"Other". Returns "" for None or ""."""
    if not code:
        return ""
    lang = _lang(context)
    try:
        if kind == "qualification":
            return QualificationType.parse(code).name_in(lang)
        if kind == "id_type":
            return IdType.parse(code).name_in(lang)
    except ValueError:
        pass
    table = REASON_CODES if lang == "zh" else REASON_CODES_EN
    return table.get(code, table["other"])
