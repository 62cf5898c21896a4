"""A certificate's status changes from its console page (supervisors and admins, as the
API's routes): suspend and reinstate take effect at once; a revocation, a replacement
(补发) and a correction (换发) go to the inbox as pending actions for a second supervisor
unless the office has switched maker-checker off. The same services as the API
(``issuer.lifecycle``) with the signed-in officer's ``Principal``; a refused form is the
certificate's page again with the errors beside that form's fields."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from credential import beijing_date
from issuer import lifecycle
from issuer.errors import IssuerError
from issuer.fields import ValidationFailed
from issuer.web.deps import DbSession, Now, Settings, SignerDep
from issuer.web.office_pages import FORM_MAX, OfficeUser, check_form, field_errors
from issuer.web.pages import page_lang
from issuer.web.routes._office_common import shown_date, typed_date
from issuer.web.routes.office_certificates import NUMBER, record_page
from issuer.web.routes.office_certificates_text import CERT_STRINGS, error_text

__all__ = ["router"]

router = APIRouter()
Text = Annotated[str, Form(max_length=FORM_MAX)]
_SUPERVISORS = frozenset({"supervisor", "admin"})
_DECISIONS = ("suspend", "reinstate", "revoke")
_SUPERSEDE = ("replacement", "correction")
_DECISION_FIELDS = ("reason_code", "decision_date", "legal_basis")
_DATES = ("decision_date", "birth_date")  # typed in any of the console's date forms
# the fields each action's form shows (an error on another is shown above the forms)
_FIELDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(_DECISIONS, _DECISION_FIELDS),
    "replacement": ("reason_code",),
    "correction": lifecycle.CORRECTABLE,
}


def _refusal(who: Any, settings: Settings, lang: str) -> str:
    """Return why ``who`` may not change certificates here ("" if they may)."""
    t = CERT_STRINGS[lang]
    if who.role not in _SUPERVISORS:
        return t["supervisors_only"]
    if who.office_id != settings.office_id:
        return t["other_office"]
    return ""


def _decide(
    action: str, number: str, form: dict[str, str], session: DbSession, who: Any, **kw: Any
) -> dict[str, Any]:
    decision = lifecycle.validate_decision(
        {k: form[k] or None for k in _DECISION_FIELDS},
        today=beijing_date(kw["now"]),
    )
    do = {
        "suspend": lifecycle.suspend,
        "reinstate": lifecycle.reinstate,
        "revoke": lifecycle.request_revocation,
    }[action]
    return do(session, number=number, decision=decision, who=who.principal, **kw)


def _supersede(
    action: str, number: str, form: dict[str, str], session: DbSession, who: Any, **kw: Any
) -> dict[str, Any]:
    keyed = lifecycle.Keyed(who.principal.actor, form["key"])
    if action == "replacement":
        stored = lifecycle.request_replacement(
            session,
            number=number,
            reason_code=form["reason_code"] or None,
            keyed=keyed,
            who=who.principal,
            **kw,
        )
    else:
        changes = {k: form[k] for k in lifecycle.CORRECTABLE if form.get(k)}
        stored = lifecycle.request_correction(
            session, number=number, changes=changes, keyed=keyed, who=who.principal, **kw
        )
    out: dict[str, Any] = json.loads(stored.body)
    return out


@router.post("/office/certificates/{number}/{action}", include_in_schema=False)
def office_certificate_action(
    number: str,
    action: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    signer: SignerDep,
    now: Now,
    who: OfficeUser,
    reason_code: Text = "",
    decision_date: Text = "",
    legal_basis: Text = "",
    key: Text = "",
    name: Text = "",
    birth_date: Text = "",
    ethnicity: Text = "",
    id_type: Text = "",
    id_number: Text = "",
    subject: Text = "",
    csrf: Text = "",
) -> Response:
    lang = page_lang(request)
    t = CERT_STRINGS[lang]
    check_form(request, settings, who, csrf, lang)
    if action not in _DECISIONS + _SUPERSEDE or not NUMBER.fullmatch(number):
        return record_page(request, session, who, lang, "-")  # the 404 page
    refused = _refusal(who, settings, lang)
    if refused:
        return record_page(request, session, who, lang, number, 403, error=refused)
    form = {
        "action": action,
        "reason_code": reason_code,
        "decision_date": decision_date,
        "legal_basis": legal_basis,
        "key": key,
        "name": name,
        "birth_date": birth_date,
        "ethnicity": ethnicity,
        "id_type": id_type,
        "id_number": id_number,
        "subject": subject,
    }
    # a date typed 2026年6月5日 or 2026/6/5 is the day 2026-06-05 (the fields' rules take ISO)
    given = {**form, **{k: typed_date(form[k]) for k in _DATES}}
    kw = {"signer": signer, "settings": settings, "now": now}
    try:
        if action in _DECISIONS:
            out = _decide(action, number, given, session, who, **kw)
        else:
            if len(key) < 16:
                return record_page(request, session, who, lang, number, 422)
            out = _supersede(action, number, given, session, who, **kw)
    except ValidationFailed as exc:
        session.rollback()
        errs = field_errors(exc, lang)
        loose = [v for k, v in errs.items() if k not in _FIELDS[action]]  # e.g. no change
        shown = {k: v for k, v in form.items() if k != "id_number"}
        shown.update({k: shown_date(form[k], lang) for k in _DATES})
        return record_page(
            request,
            session,
            who,
            lang,
            number,
            422,
            errors={action: errs},
            form=shown,
            error=" ".join(loose),
        )
    except IssuerError as exc:
        session.rollback()
        return record_page(
            request, session, who, lang, number, exc.status, error=error_text(exc, lang)
        )
    if action in ("suspend", "reinstate"):
        notice = t[f"done_{action}"]
    else:
        notice = t["done_pending"] if out.get("state") == "pending" else t["done_now"]
    return record_page(request, session, who, lang, number, notice=notice)
