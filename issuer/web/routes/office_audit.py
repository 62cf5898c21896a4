"""The audit trail in the office console (issue 13 point 7): ``/office/audit`` (admins of
this office).

At the top, the chain's check (``issuer.audit.check.verify_audit``, as ``GET
/api/v1/audit/verify`` does): whole, or the first bad record and why, and the latest
checkpoint (on the unfiltered first page, or asked for with ``?check=1``: it reads the
whole chain). Below, records newest first filtered by officer (``actor``), action (exact, or
a family ending in ``.*``), subject and from/to dates in Beijing time (a date, or a date
and time; "to" a date includes that whole day), pages by ``?before=<seq>``, and
``/office/audit/records.csv`` with the same filters (``issuer.audit.browse``, as
``/api/v1/audit/records.csv``), authorised by the console session.

A bad filter is named beside its field (422), never a 5xx.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from credential import BEIJING
from issuer import accounts
from issuer.audit import browse
from issuer.audit.check import verify_audit
from issuer.console import ConsoleIdentity
from issuer.web.deps import DbSession, Now, Settings
from issuer.web.office_pages import OfficeAdmin, PageRefusal, page
from issuer.web.pages import page_lang
from issuer.web.routes._office_common import beijing, positive_int, shown_date, typed_moment

__all__ = ["AUDIT_STRINGS", "router"]

router = APIRouter()

PAGE = 50
TEXT_MAX = 200
DETAIL_SHOWN = 400  # characters of a record's detail shown in the table (CSV: all)
FAMILIES = (
    "certificate.*",
    "restriction.*",
    "pending_action.*",
    "officer.*",
    "console.*",
    "batch.*",
)
_FIELDS = ("actor", "action", "subject", "since", "until")

AUDIT_STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "audit_heading": "审计日志",
        "chain_ok": "审计链完整：已核对 {n} 条记录，未发现篡改。",
        "chain_broken": "审计链已被破坏",
        "check_now": "检查审计链（读取全部记录，可能需要一些时间）",
        "first_bad": "第一条有问题的记录：第 {seq} 条",
        "latest_checkpoint": "最近的签名检查点：第 {seq} 条",
        "no_checkpoint": "尚无签名检查点。",
        "filters": "筛选",
        "actor": "操作人",
        "actor_hint": "例如 officer:zhangsan",
        "action": "操作",
        "action_hint": "完整名称，或以 .* 结尾表示一类，例如 certificate.*",
        "subject": "对象",
        "subject_hint": "证书编号、officer:用户名、批次号等",
        "since": "起始（北京时间）",
        "until": "截止（北京时间）",
        "date_hint": "日期，如 2026年6月5日、2026-06-05 或 2026/6/5；可在日期后加时间，"
        "如 2026年6月5日 09:30",
        "syntax": "各项条件同时满足才列出。操作人按完整名称匹配；操作可写完整名称，或以 .* "
        "结尾表示一类；对象按完整值匹配；起始和截止按北京时间，截止只写日期时包含当天。",
        "filter_button": "筛选",
        "export": "导出 CSV（相同筛选条件，全部页）",
        "seq": "序号",
        "at": "时间（北京时间）",
        "detail": "详情",
        "none": "没有符合条件的记录。",
        "next_page": "下一页（更早的记录）",
        "first_page": "回到第一页",
        "bad_text": "过长或含有控制字符。",
        "bad_time": "日期或时间格式不正确。",
        "bad_order": "截止时间须晚于起始时间。",
        "bad_before": "参数 before 无效。",
        "other_office": "只有本机构的管理员可以查看审计日志。",
    },
    "en": {
        "audit_heading": "Audit trail",
        "chain_ok": "The audit chain holds: {n} records checked, nothing altered.",
        "chain_broken": "The audit chain is broken",
        "check_now": "Check the audit chain (reads every record: may take a while)",
        "first_bad": "First bad record: #{seq}",
        "latest_checkpoint": "Latest signed checkpoint: #{seq}",
        "no_checkpoint": "No signed checkpoint yet.",
        "filters": "Filters",
        "actor": "Officer",
        "actor_hint": "e.g. officer:zhangsan",
        "action": "Action",
        "action_hint": "Exact, or a family ending in .* such as certificate.*",
        "subject": "Subject",
        "subject_hint": "A certificate number, officer:username, a batch id...",
        "since": "From (Beijing time)",
        "until": "To (Beijing time)",
        "date_hint": "A date such as 2026-06-05 or 2026/6/5 (or written in Chinese), "
        "optionally followed by a time, such as 2026-06-05 09:30",
        "syntax": "A record is listed when it meets every filter. Officer: the exact name; "
        "action: the exact name, or a family ending in .*; subject: the exact value; from and "
        "to in Beijing time, a 'to' date without a time including that whole day.",
        "filter_button": "Filter",
        "export": "Export CSV (same filters, all pages)",
        "seq": "No.",
        "at": "Time (Beijing)",
        "detail": "Detail",
        "none": "No record matches.",
        "next_page": "Next page (older records)",
        "first_page": "Back to the first page",
        "bad_text": "Too long, or has control characters.",
        "bad_time": "Not a date or date and time.",
        "bad_order": "'To' must be after 'From'.",
        "bad_before": "Bad parameter before.",
        "other_office": "Only this office's admins may read its audit trail.",
    },
}


def _moment(text: str, *, end: bool) -> dt.datetime:
    """Return the Beijing-time ``text`` (a date in any of the console's forms, optionally
    with a time HH:MM; ``typed_moment``) as an aware datetime; a bare date as the end of a
    range means the start of the next day (the day included); an ISO 8601 time with
    seconds or an offset is taken too. Raises ValueError."""
    try:
        day, clock = typed_moment(text)
    except ValueError:
        if len(text) > 32 or not text.isascii():
            raise
        when = dt.datetime.fromisoformat(text)
        return when.replace(tzinfo=BEIJING) if when.tzinfo is None else when
    if clock is None:
        start = dt.datetime.combine(day, dt.time(), tzinfo=BEIJING)
        return start + dt.timedelta(days=1) if end else start
    return dt.datetime.combine(day, dt.time(*clock), tzinfo=BEIJING)


def _filter(
    request: Request, lang: str
) -> tuple[dict[str, str], browse.AuditFilter, dict[str, str]]:
    """Return (the form's values, the filter, errors by field) from the query string."""
    t = AUDIT_STRINGS[lang]
    params = request.query_params
    form = {k: params.get(k, "") for k in _FIELDS}
    errors: dict[str, str] = {}
    for k in ("actor", "action", "subject"):
        if len(form[k]) > TEXT_MAX or not form[k].isprintable():
            errors[k] = t["bad_text"]
    times: dict[str, dt.datetime | None] = {"since": None, "until": None}
    for k in ("since", "until"):
        if form[k]:
            try:
                times[k] = _moment(form[k], end=k == "until")
            except ValueError:
                errors[k] = t["bad_time"]
    since, until = times["since"], times["until"]
    if since is not None and until is not None and until <= since:
        errors["until"] = t["bad_order"]
    shown = {k: (v[:TEXT_MAX] if v.isprintable() else "") for k, v in form.items()}
    for k in ("since", "until"):  # shown back as the page writes a date
        if k not in errors:
            shown[k] = shown_date(shown[k], lang)
    flt = browse.AuditFilter(
        form["actor"].strip() or None,
        form["action"].strip() or None,
        form["subject"].strip() or None,
        since,
        until,
    )
    return shown, flt, errors


def _own_office(request: Request, who: ConsoleIdentity, office_id: str) -> None:
    if who.office_id != office_id:
        raise PageRefusal(403, "admins_only", page_lang(request))


def _query(lang: str, form: dict[str, str], **more: Any) -> str:
    kept = {k: v for k, v in {**form, **more}.items() if v not in (None, "")}
    if lang == "en":
        kept["lang"] = "en"
    return "?" + urlencode(kept) if kept else ""


def _detail(detail: dict[str, Any]) -> str:
    text = json.dumps(detail, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= DETAIL_SHOWN else text[:DETAIL_SHOWN] + "…"


@router.get("/office/audit", include_in_schema=False)
def office_audit(
    request: Request, session: DbSession, settings: Settings, who: OfficeAdmin
) -> Response:
    lang = page_lang(request)
    _own_office(request, who, settings.office_id)
    form, flt, errors = _filter(request, lang)
    try:
        before = positive_int(request.query_params.get("before"), limit=2**62)
    except ValueError:
        before = None
        errors["before"] = AUDIT_STRINGS[lang]["bad_before"]
    # The check reads the whole chain (about 3 s per 100,000 records on SQLite): it runs
    # on the unfiltered first page, or when asked (?check=1), not on every filter or page.
    report = None
    if request.query_params.get("check") == "1" or (not before and not any(form.values())):
        keys = request.app.state.public_keys_provider()
        report = verify_audit(session, public_keys=keys, office_id=settings.office_id)
        session.rollback()
    records: list[browse.AuditRow] = []
    nxt = None
    if not errors:
        found = browse.find_records(session, flt=flt, before=before, limit=PAGE)
        session.rollback()
        records, nxt = found.records, found.before
    actors = [
        f"officer:{o.username}" for o in accounts.list_officers(session, office_id=who.office_id)
    ]
    session.rollback()
    return page(
        request,
        who,
        lang,
        "audit.html",
        422 if errors else 200,
        strings=AUDIT_STRINGS,
        report=report,
        form=form,
        errors=errors,
        records=records,
        when=beijing,
        detail=_detail,
        next_query=_query(lang, form, before=nxt) if nxt else "",
        first_query=_query(lang, form) if before else "",
        csv_query=_query(lang, form),
        check_query=_query(lang, form, before=before, check=1),
        actors=actors,
        families=FAMILIES,
    )


@router.get("/office/audit/records.csv", include_in_schema=False)
def office_audit_csv(
    request: Request, session: DbSession, settings: Settings, now: Now, who: OfficeAdmin
) -> Response:
    lang = page_lang(request)
    _own_office(request, who, settings.office_id)
    form, flt, errors = _filter(request, lang)
    if errors:
        return page(
            request,
            who,
            lang,
            "audit.html",
            422,
            strings=AUDIT_STRINGS,
            report=None,
            form=form,
            errors=errors,
            records=[],
            when=beijing,
            detail=_detail,
            next_query="",
            first_query="",
            csv_query=_query(lang, form),
            check_query="",
            actors=[],
            families=FAMILIES,
        )
    name = f"audit-{now.astimezone(BEIJING).strftime('%Y%m%d-%H%M%S')}.csv"
    return StreamingResponse(
        browse.records_csv(session, flt=flt),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
