"""The restricted list in the office console (issue 13 point 6): ``/office/restrictions``
(supervisors, admins).

- this office's entries (``?state=active|removed|all``, ``?category=lost|revoked``, pages
  by ``?before=<id>``), each with where it stands nationally: waiting, at the registry, or
  refused by it with the registry's reason (highlighted: an officer must act);
- other offices' entries as pulled from the registry (pages by ``?nbefore=<ref>``);
- ``POST /office/restrictions/lookup``: one person by document type and number (never in
  a URL), on both lists, and whether issuing would refuse them today (audited);
- ``POST /office/restrictions``: record an entry (goes pending: a second supervisor
  approves in the inbox);
- ``POST /office/restrictions/<id>/removal``: request an entry's removal after review.

The same services as ``/api/v1/restrictions`` and ``/api/v1/national-restrictions``
(``issuer.lifecycle``: ``validate_restriction``, ``request_restriction``,
``validate_removal``, ``request_removal``; ``restriction_list``) with the signed-in
officer's ``Principal``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from credential import beijing_date
from issuer import lifecycle
from issuer.console import ConsoleIdentity
from issuer.errors import IssuerError
from issuer.fields import ValidationFailed
from issuer.fields.restrictions import CATEGORIES, validate_person
from issuer.lifecycle import restriction_list
from issuer.settings import IssuerSettings
from issuer.web.deps import DbSession, Now, Settings, SignerDep
from issuer.web.office_pages import OfficeSupervisor, check_form, field_errors, message, page
from issuer.web.pages import page_lang
from issuer.web.routes._office_common import ID_TYPE_NAMES, beijing, error_text, positive_int
from issuer.web.routes.office_restrictions_text import RESTRICTIONS_STRINGS

__all__ = ["router"]

router = APIRouter()

Text = Annotated[str, Form()]
PAGE = 25
REF_MAX = 320  # a national reference, <office>#<id>, as the API bounds it
_RECORD_FIELDS = ("name", "id_type", "id_number", "category", "decision_date", "legal_basis")


class _BadParam(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _filters(request: Request) -> dict[str, Any]:
    """Return the list's filters from the query string; raises _BadParam naming one."""
    params = request.query_params
    state = params.get("state") or "active"
    if state not in restriction_list.STATES:
        raise _BadParam("state")
    category = params.get("category") or None
    if category is not None and category not in CATEGORIES:
        raise _BadParam("category")
    try:
        before = positive_int(params.get("before"))
    except ValueError:
        raise _BadParam("before") from None
    nbefore = params.get("nbefore") or None
    if nbefore is not None and (len(nbefore) > REF_MAX or not nbefore.isprintable()):
        raise _BadParam("nbefore")
    return {"state": state, "category": category, "before": before, "nbefore": nbefore}


def _query(lang: str, **params: Any) -> str:
    """Return a query string of the non-empty ``params`` (and ``lang=en``)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    if lang == "en":
        kept["lang"] = "en"
    return "?" + urlencode(kept) if kept else ""


def _page(
    request: Request,
    session: DbSession,
    settings: IssuerSettings,
    who: ConsoleIdentity,
    lang: str,
    status: int = 200,
    *,
    filters: dict[str, Any] | None = None,
    notice: str = "",
    error: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    removal: tuple[int, dict[str, str], dict[str, str]] | None = None,
    lookup: dict[str, Any] | None = None,
    lookup_form: dict[str, str] | None = None,
    lookup_errors: dict[str, str] | None = None,
) -> Response:
    flt = filters or {"state": "active", "category": None, "before": None, "nbefore": None}
    own = restriction_list.list_restrictions(
        session,
        state=flt["state"],
        category=flt["category"],
        before=flt["before"],
        limit=PAGE,
    )
    national, nbefore = restriction_list.list_national(
        session, own_office=settings.office_id, before=flt["nbefore"], limit=PAGE
    )
    base = {"state": flt["state"], "category": flt["category"]}
    return page(
        request,
        who,
        lang,
        "restrictions.html",
        status,
        strings=RESTRICTIONS_STRINGS,
        flt=flt,
        states=restriction_list.STATES,
        categories=CATEGORIES,
        id_types=ID_TYPE_NAMES[lang],
        own=own.items,
        own_next=_query(lang, **base, before=own.before) if own.before else "",
        national=national,
        national_next=_query(lang, **base, nbefore=nbefore) if nbefore else "",
        first=_query(lang, **base),
        paged=flt["before"] is not None or flt["nbefore"] is not None,
        when=beijing,
        notice=notice,
        error=error,
        form=form or dict.fromkeys(_RECORD_FIELDS, ""),
        errors=errors or {},
        removal=removal,
        lookup=lookup,
        lookup_form=lookup_form or {"id_type": "resident_id", "id_number": ""},
        lookup_errors=lookup_errors or {},
    )


@router.get("/office/restrictions", include_in_schema=False)
def office_restrictions(
    request: Request, session: DbSession, settings: Settings, who: OfficeSupervisor
) -> Response:
    lang = page_lang(request)
    try:
        flt = _filters(request)
    except _BadParam as exc:
        text = RESTRICTIONS_STRINGS[lang]["bad_param"].format(name=exc.name)
        return message(request, who, lang, 422, text, back="/office/restrictions")
    return _page(request, session, settings, who, lang, filters=flt)


def _outcome(out: dict[str, Any], lang: str) -> tuple[int, str]:
    t = RESTRICTIONS_STRINGS[lang]
    if out["state"] == "pending":
        return 202, t["pending_notice"]
    return 200, t["done_notice"]


@router.post("/office/restrictions", include_in_schema=False)
def office_record_restriction(
    request: Request,
    session: DbSession,
    settings: Settings,
    signer: SignerDep,
    now: Now,
    who: OfficeSupervisor,
    name: Text = "",
    id_type: Text = "",
    id_number: Text = "",
    category: Text = "",
    decision_date: Text = "",
    legal_basis: Text = "",
    csrf: Text = "",
) -> Response:
    lang = page_lang(request)
    check_form(request, settings, who, csrf, lang)
    form = {
        "name": name,
        "id_type": id_type,
        "id_number": id_number,
        "category": category,
        "decision_date": decision_date,
        "legal_basis": legal_basis,
    }
    body: dict[str, Any] = {k: (v if v != "" else None) for k, v in form.items()}
    # the identity number is never sent back in a page (typed again after an error)
    shown = {k: ("" if k == "id_number" else v[:1000]) for k, v in form.items()}
    try:
        payload = lifecycle.validate_restriction(
            body, who=who.principal, settings=settings, today=beijing_date(now)
        )
        out = lifecycle.request_restriction(
            session, payload=payload, who=who.principal, signer=signer, settings=settings, now=now
        )
    except ValidationFailed as exc:
        errors = field_errors(exc, lang)
        return _page(request, session, settings, who, lang, 422, form=shown, errors=errors)
    except IssuerError as exc:
        session.rollback()
        return _page(request, session, settings, who, lang, exc.status, error=error_text(exc, lang))
    status, notice = _outcome(out, lang)
    return _page(request, session, settings, who, lang, status, notice=notice)


@router.post("/office/restrictions/lookup", include_in_schema=False)
def office_lookup_person(
    request: Request,
    session: DbSession,
    settings: Settings,
    now: Now,
    who: OfficeSupervisor,
    id_type: Text = "",
    id_number: Text = "",
    csrf: Text = "",
) -> Response:
    lang = page_lang(request)
    check_form(request, settings, who, csrf, lang)
    asked = {"id_type": id_type[:40], "id_number": ""}  # the number is never sent back
    try:
        kind, number = validate_person(
            {"id_type": id_type or None, "id_number": id_number or None},
            today=beijing_date(now),
        )
    except ValidationFailed as exc:
        return _page(
            request,
            session,
            settings,
            who,
            lang,
            422,
            lookup_form=asked,
            lookup_errors=field_errors(exc, lang),
        )
    found = restriction_list.find_person(
        session,
        settings=settings,
        id_type=kind,
        id_number=number,
        actor=who.principal.actor,
        now=now,
    )
    return _page(request, session, settings, who, lang, lookup=found, lookup_form=asked)


@router.post("/office/restrictions/{restriction_id}/removal", include_in_schema=False)
def office_request_removal(
    restriction_id: str,
    request: Request,
    session: DbSession,
    settings: Settings,
    signer: SignerDep,
    now: Now,
    who: OfficeSupervisor,
    reason: Text = "",
    decision_date: Text = "",
    csrf: Text = "",
) -> Response:
    lang = page_lang(request)
    check_form(request, settings, who, csrf, lang)
    try:
        entry = positive_int(restriction_id)
    except ValueError:
        entry = None
    if entry is None:
        text = RESTRICTIONS_STRINGS[lang]["no_entry"]
        return message(request, who, lang, 404, text, back="/office/restrictions")
    asked = {"reason": reason[:1000], "decision_date": decision_date[:40]}
    try:
        payload = lifecycle.validate_removal(
            {"reason": reason or None, "decision_date": decision_date or None},
            today=beijing_date(now),
        )
        out = lifecycle.request_removal(
            session,
            restriction_id=entry,
            payload=payload,
            who=who.principal,
            signer=signer,
            settings=settings,
            now=now,
        )
    except ValidationFailed as exc:
        removal = (entry, asked, field_errors(exc, lang))
        return _page(request, session, settings, who, lang, 422, removal=removal)
    except IssuerError as exc:
        session.rollback()
        return _page(request, session, settings, who, lang, exc.status, error=error_text(exc, lang))
    status, notice = _outcome(out, lang)
    return _page(request, session, settings, who, lang, status, notice=notice)
