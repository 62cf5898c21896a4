"""The supervisors' inbox in the office console (issue 13 point 5): ``/office/inbox``.

Tab ``pending``: the office's requests awaiting a second officer, each with the facts it is
judged by (the certificate's holder, masked identity number, qualification, office and
status; the person to restrict and how many certificates approval would revoke; the entry
to lift; an account change's payload), who asked and when; approve (``POST
/office/inbox/<id>/approve``) or reject with a reason (``POST /office/inbox/<id>/reject``).
Tab ``mine``: the officer's own requests with their outcome and the reason given.

Everything goes through ``issuer.lifecycle`` (``list_pending``, ``approve``, ``reject``)
with the signed-in officer's ``Principal``, as ``/api/v1/pending-actions`` does: the
two-person rules (not one's own request; account changes by a second admin) are the
same, and their refusal is shown on the page with its status, never a 5xx.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from issuer import lifecycle
from issuer.accounts import ACCOUNT_KINDS
from issuer.console import ConsoleIdentity
from issuer.errors import IssuerError
from issuer.fields import ValidationFailed
from issuer.fields.decisions import rejection_reason
from issuer.web.deps import DbSession, Now, Settings, SignerDep
from issuer.web.office_pages import OfficeSupervisor, check_form, field_errors, message, page
from issuer.web.pages import page_lang
from issuer.web.routes._office_common import ID_TYPE_NAMES, beijing, error_text, positive_int

__all__ = ["INBOX_STRINGS", "router"]

router = APIRouter()

Text = Annotated[str, Form()]
TABS = ("pending", "mine")
REASON_MAX = lifecycle.LEGAL_BASIS_MAX

INBOX_STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "inbox_heading": "待审批",
        "tab_pending": "待我审批",
        "tab_mine": "我的申请",
        "tabs": "申请列表",
        "none_pending": "目前没有待审批的申请。",
        "none_mine": "您还没有提出过申请。",
        "kind_revoke": "撤销证书",
        "kind_restrict": "列入限制库",
        "kind_unrestrict": "移出限制库",
        "kind_replace": "补发证书",
        "kind_correct": "换发证书",
        "kind_create_officer": "新建工作人员",
        "kind_change_role": "变更角色",
        "kind_maker_checker_off": "关闭双人复核",
        "request_no": "申请编号",
        "requested_by": "申请人",
        "requested_at": "申请时间",
        "certificate_number": "证书编号",
        "holder": "持证人",
        "person": "人员",
        "id_number_masked": "证件号码（部分隐藏）",
        "id_type": "证件类型",
        "qualification": "资格种类",
        "subject": "任教学科",
        "office": "认定机构",
        "cert_status": "证书状态",
        "status_valid": "有效",
        "status_suspended": "暂停",
        "status_revoked": "已撤销",
        "category": "类别",
        "category_lost": "丧失教师资格",
        "category_revoked": "撤销教师资格",
        "decision_date": "决定日期",
        "bar_until": "限制至",
        "legal_basis": "依据",
        "reason_code": "原因",
        "certificates_here": "批准后将撤销本机构证书",
        "certificates_count": "{n} 本",
        "restriction_id": "限制记录编号",
        "deciding_office": "决定机构",
        "removal_reason": "移出理由",
        "details": "申请内容",
        "outcome": "处理结果",
        "outcome_pending": "等待审批",
        "outcome_approved": "已批准",
        "outcome_rejected": "已驳回",
        "decided_by": "处理人",
        "decided_at": "处理时间",
        "decision_reason": "驳回理由",
        "approve": "批准",
        "approve_confirm": "确定批准此申请吗？批准后立即生效。",
        "reject": "驳回",
        "withdraw": "撤回",
        "reject_reason": "驳回理由",
        "reject_hint": "申请人会看到此理由，最多 {max} 个字符",
        "own_request": "这是您本人的申请，须由另一位人员批准；您可以撤回。",
        "admins_approve": "账户变更须由另一位管理员批准。",
        "approved_notice": "已批准，申请已生效。",
        "rejected_notice": "已驳回。",
        "bad_tab": "参数 tab 无效：应为 pending 或 mine。",
        "bad_action": "待批准事项编号无效。",
    },
    "en": {
        "inbox_heading": "Approvals",
        "tab_pending": "Awaiting my decision",
        "tab_mine": "My requests",
        "tabs": "Requests",
        "none_pending": "No request is awaiting approval.",
        "none_mine": "You have made no request yet.",
        "kind_revoke": "Revoke a certificate",
        "kind_restrict": "Add to the restricted list",
        "kind_unrestrict": "Remove from the restricted list",
        "kind_replace": "Replacement",
        "kind_correct": "Correction",
        "kind_create_officer": "New officer",
        "kind_change_role": "Change of role",
        "kind_maker_checker_off": "Switch maker-checker off",
        "request_no": "Request",
        "requested_by": "Requested by",
        "requested_at": "Requested at",
        "certificate_number": "Certificate number",
        "holder": "Holder",
        "person": "Person",
        "id_number_masked": "ID number (masked)",
        "id_type": "ID type",
        "qualification": "Qualification",
        "subject": "Subject",
        "office": "Office",
        "cert_status": "Certificate status",
        "status_valid": "Valid",
        "status_suspended": "Suspended",
        "status_revoked": "Revoked",
        "category": "Category",
        "category_lost": "Qualification lost",
        "category_revoked": "Qualification revoked",
        "decision_date": "Decision date",
        "bar_until": "Barred until",
        "legal_basis": "Legal basis",
        "reason_code": "Reason",
        "certificates_here": "This office's certificates approval revokes",
        "certificates_count": "{n}",
        "restriction_id": "Entry",
        "deciding_office": "Deciding office",
        "removal_reason": "Reason for removal",
        "details": "Request",
        "outcome": "Outcome",
        "outcome_pending": "Awaiting approval",
        "outcome_approved": "Approved",
        "outcome_rejected": "Rejected",
        "decided_by": "Decided by",
        "decided_at": "Decided at",
        "decision_reason": "Reason given",
        "approve": "Approve",
        "approve_confirm": "Approve this request? It takes effect at once.",
        "reject": "Reject",
        "withdraw": "Withdraw",
        "reject_reason": "Reason for rejecting",
        "reject_hint": "The requester reads it; at most {max} characters",
        "own_request": "This is your own request: another officer approves it; you may "
        "withdraw it.",
        "admins_approve": "An account change is approved by a second admin.",
        "approved_notice": "Approved: the request has taken effect.",
        "rejected_notice": "Rejected.",
        "bad_tab": "Bad parameter tab: pending or mine.",
        "bad_action": "No such request number.",
    },
}


def _inbox(
    request: Request,
    session: DbSession,
    who: ConsoleIdentity,
    lang: str,
    status: int = 200,
    *,
    tab: str = "pending",
    notice: str = "",
    error: str = "",
    errors: dict[int, str] | None = None,
    reasons: dict[int, str] | None = None,
) -> Response:
    principal = who.principal
    if tab == "mine":
        items = lifecycle.list_pending(session, who=principal, state="all", mine=True)
        items.reverse()  # newest first
    else:
        items = lifecycle.list_pending(session, who=principal, state="pending")
    return page(
        request,
        who,
        lang,
        "inbox.html",
        status,
        strings=INBOX_STRINGS,
        tab=tab,
        items=items,
        account_kinds=ACCOUNT_KINDS,
        id_types=ID_TYPE_NAMES[lang],
        reason_codes=lifecycle.REASON_CODES,
        when=beijing,
        notice=notice,
        error=error,
        errors=errors or {},
        reasons=reasons or {},
        reason_max=REASON_MAX,
    )


@router.get("/office/inbox", include_in_schema=False)
def office_inbox(request: Request, session: DbSession, who: OfficeSupervisor) -> Response:
    lang = page_lang(request)
    tab = request.query_params.get("tab", "pending")
    if tab not in TABS:
        text = INBOX_STRINGS[lang]["bad_tab"]
        return message(request, who, lang, 422, text, back="/office/inbox")
    return _inbox(request, session, who, lang, tab=tab)


def _action_id(request: Request, who: ConsoleIdentity, lang: str, raw: str) -> int | Response:
    try:
        found = positive_int(raw)
    except ValueError:
        found = None
    if found is None:
        text = INBOX_STRINGS[lang]["bad_action"]
        return message(request, who, lang, 404, text, back="/office/inbox")
    return found


@router.post("/office/inbox/{action_id}/approve", include_in_schema=False)
def office_approve(
    action_id: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    signer: SignerDep,
    now: Now,
    who: OfficeSupervisor,
    csrf: Text = "",
) -> Response:
    lang = page_lang(request)
    check_form(request, settings, who, csrf, lang)
    found = _action_id(request, who, lang, action_id)
    if isinstance(found, Response):
        return found
    try:
        lifecycle.approve(
            session, action_id=found, who=who.principal, signer=signer, settings=settings, now=now
        )
    except IssuerError as exc:
        session.rollback()
        return _inbox(request, session, who, lang, exc.status, error=error_text(exc, lang))
    notice = INBOX_STRINGS[lang]["approved_notice"]
    return _inbox(request, session, who, lang, notice=notice)


@router.post("/office/inbox/{action_id}/reject", include_in_schema=False)
def office_reject(
    action_id: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeSupervisor,
    reason: Text = "",
    csrf: Text = "",
) -> Response:
    lang = page_lang(request)
    check_form(request, settings, who, csrf, lang)
    found = _action_id(request, who, lang, action_id)
    if isinstance(found, Response):
        return found
    try:
        text = rejection_reason(reason)
    except ValidationFailed as exc:
        bad = field_errors(exc, lang).get("reason", "")
        kept = {found: reason[: REASON_MAX * 2]}
        return _inbox(request, session, who, lang, 422, errors={found: bad}, reasons=kept)
    try:
        lifecycle.reject(session, action_id=found, who=who.principal, now=now, reason=text)
    except IssuerError as exc:
        session.rollback()
        return _inbox(request, session, who, lang, exc.status, error=error_text(exc, lang))
    notice = INBOX_STRINGS[lang]["rejected_notice"]
    return _inbox(request, session, who, lang, notice=notice)
