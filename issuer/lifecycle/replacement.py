"""Requests for a replacement (补发) or a correction (换发) of a certificate.

Each names the certificate (by number, of the caller's office) and goes through the same
approval rules as a revocation: with the office's maker-checker on, a pending action
(kind ``replace`` or ``correct``) that a second supervisor approves
(``issuer.lifecycle.approvals.approve``); with it off, the new version at once. What
taking effect does is ``issuer.lifecycle.supersede``.

Requests are keyed like issuing: an Idempotency-Key of the principal, recorded first in
the request's transaction, so a retry replays the first answer (status and body) and
the same key with another body is refused. A refused request (bad field, Conflict)
records nothing, the key included.

A correction is validated in full when requested (every refused field named, nothing
written) and again when approved. Its pending action keeps the new identity number only
sealed (``sealed_facts``, never shown); the answer shows the changed fields, with the
identity number masked.

Sits above ``approvals`` (it records pending actions); ``approvals`` imports
``supersede``, never this module.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credential import Signer, as_utc, beijing_date, mask_id
from issuer import issuance
from issuer.accounts import Principal
from issuer.db import write
from issuer.db.models import IdempotencyRecord
from issuer.fields import ValidApplication
from issuer.lifecycle.approvals import create_pending, maker_checker_on, pending_json
from issuer.lifecycle.supersede import (
    check_corrected_person,
    check_supersedable,
    corrected_application,
    seal_correction,
    take_effect,
    validate_replacement_reason,
)
from issuer.lifecycle.transitions import lock_certificate, publish
from issuer.photos import Photo
from issuer.settings import IssuerSettings

__all__ = ["Keyed", "request_correction", "request_replacement"]


@dataclass(frozen=True, slots=True)
class Keyed:
    """Who asks and under which Idempotency-Key (the key is scoped to the principal)."""

    principal: str
    key: str


def _digest(kind: str, number: str, body: Mapping[str, Any]) -> str:
    """Return the SHA-256 identifying a request (the same key with another body is refused)."""
    text = json.dumps(
        {"kind": kind, "number": number, "body": dict(body)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        default=str,
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _keyed(
    session: Session,
    *,
    keyed: Keyed,
    digest: str,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
    work: Callable[[], tuple[int, dict[str, Any], list[int]]],
) -> issuance.StoredResponse:
    """Run ``work`` (status, answer, status lists to publish) in one write transaction
    that first claims the key; a taken key replays its first answer."""
    rec = IdempotencyRecord(
        principal=keyed.principal, key=keyed.key, request_hash=digest, created_at=now
    )
    claimed = False
    try:
        with write(session):
            session.add(rec)
            session.flush()
            claimed = True
            status, answer, list_ids = work()
            body = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
            rec.status_code = status
            rec.response_json = issuance.seal_answer(
                settings, body, principal=keyed.principal, key=keyed.key
            )
    except IntegrityError:
        if claimed:
            raise
        return issuance.replay_answer(
            session, principal=keyed.principal, key=keyed.key, digest=digest, settings=settings
        )
    publish(session, list_ids, signer=signer, settings=settings, now=now)
    session.rollback()
    return issuance.StoredResponse(status, body.encode("utf-8"), replayed=False)


def _done(
    session: Session, number: str, who: Principal, settings: IssuerSettings
) -> dict[str, Any]:
    """Return the new version's public form (read inside the transaction)."""
    public = issuance.get_certificate(
        session, number=number, office_id=who.office_id, settings=settings
    )
    return public.model_dump(mode="json")


def _act_or_ask(
    session: Session,
    *,
    kind: str,
    number: str,
    payload: dict[str, Any],
    audit_action: str,
    audit_detail: dict[str, Any],
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> tuple[int, dict[str, Any], list[int]]:
    """Inside the keyed transaction: supersede ``number`` at once when the office's
    maker-checker is off (200), else record the pending request (202); return (HTTP status,
    answer, status list ids to publish)."""
    if not maker_checker_on(session, who.office_id):
        list_ids, _ = take_effect(
            session,
            kind=kind,
            number=number,
            office_id=who.office_id,
            payload=payload,
            actor=who.actor,
            approval={"maker_checker": False},
            signer=signer,
            settings=settings,
            now=now,
        )
        done = {"state": "done", "pending_action": None}
        return 200, {**done, "certificate": _done(session, number, who, settings)}, list_ids
    action = create_pending(
        session,
        kind=kind,
        target=number,
        payload=payload,
        who=who,
        now=now,
        audit_action=audit_action,
        audit_subject=number,
        audit_detail=audit_detail,
    )
    return 202, {"state": "pending", "pending_action": pending_json(session, action)}, []


def _new_photo(value: str | None, settings: IssuerSettings) -> Photo | None:
    """Return a replacement's new photo (the request's ``photo``), or None to keep the
    certificate's; raises ValidationFailed naming ``photo``. (An office requiring photos
    keeps the old one when none is given: the certificate has it already.)"""
    if value is None or value == "":
        return None
    kept = settings.model_copy(update={"photo_required": False})
    return issuance.decode_photo_field(value, settings=kept)


def request_replacement(
    session: Session,
    *,
    number: str,
    reason_code: object,
    keyed: Keyed,
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
    photo: str | None = None,
) -> issuance.StoredResponse:
    """Ask for a replacement (补发) of valid certificate ``number``: same facts, next
    version. ``photo`` (base64 of a JPEG or PNG, as on issuing): a new holder's photo for
    the new version, normalised now and kept with the request (never in the audit trail:
    its SHA-256); None keeps the certificate's photo. Returns the stored answer: 202
    ``{"state": "pending", "pending_action", ...}``
    with maker-checker on, 200 ``{"state": "done", "certificate": <the new version>}``
    with it off.

    Raises ValidationFailed (``reason_code``), NotFound (also another office's), Conflict
    (not valid; the same request already pending), Forbidden (static key, maker-checker
    on), IdempotencyMismatch, IdempotencyPending.
    """
    now = as_utc(now).replace(microsecond=0)
    reason = validate_replacement_reason(reason_code)
    new_photo = _new_photo(photo, settings)
    shown: dict[str, Any] = {"reason_code": reason}
    if new_photo is not None:
        shown["photo_sha256"] = new_photo.sha256_hex
    digest = _digest("replace", number, shown)

    def work() -> tuple[int, dict[str, Any], list[int]]:
        cert = lock_certificate(session, number, who.office_id)
        check_supersedable(cert, what="replace")
        payload: dict[str, Any] = {"version": cert.version, **shown}
        audit_detail = {"certificate_number": number, **payload}
        if new_photo is not None:  # kept with the request, hidden from its readers
            payload["photo"] = base64.b64encode(new_photo.jpeg).decode("ascii")
        return _act_or_ask(
            session,
            kind="replace",
            number=number,
            payload=payload,
            audit_action="certificate.replacement_requested",
            audit_detail=audit_detail,
            who=who,
            signer=signer,
            settings=settings,
            now=now,
        )

    return _keyed(
        session, keyed=keyed, digest=digest, signer=signer, settings=settings, now=now, work=work
    )


def _shown(app: ValidApplication, changed: list[str]) -> dict[str, Any]:
    """Return the changed fields as a checker sees them (identity number masked)."""
    out: dict[str, Any] = {}
    for k in changed:
        if k == "id_number":
            out["id_number_masked"] = mask_id(app.id_number)
        elif k == "birth_date":
            out[k] = app.birth_date.isoformat()
        elif k == "id_type":
            out[k] = app.id_type.value
        else:
            out[k] = getattr(app, k)
    return out


def request_correction(
    session: Session,
    *,
    number: str,
    changes: Mapping[str, object],
    keyed: Keyed,
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> issuance.StoredResponse:
    """Ask for a correction (换发) of valid certificate ``number``: ``changes`` (some of
    ``CORRECTABLE``) applied, next version. Answers as :func:`request_replacement`.

    Raises ValidationFailed (every refused field; nothing written), NotFound, Conflict,
    Forbidden, IdempotencyMismatch, IdempotencyPending.
    """
    now = as_utc(now).replace(microsecond=0)
    digest = _digest("correct", number, changes)

    def work() -> tuple[int, dict[str, Any], list[int]]:
        cert = lock_certificate(session, number, who.office_id)
        check_supersedable(cert, what="correct")
        app, changed = corrected_application(
            cert, changes, settings=settings, today=beijing_date(now)
        )
        check_corrected_person(session, cert, app, settings=settings)
        sealed = seal_correction(settings, app, number=number, version=cert.version)
        shown = _shown(app, changed)
        payload = {
            "version": cert.version,
            "changed": changed,
            "changes": shown,
            "sealed_facts": sealed,
        }
        return _act_or_ask(
            session,
            kind="correct",
            number=number,
            payload=payload,
            audit_action="certificate.correction_requested",
            audit_detail={
                "certificate_number": number,
                "version": cert.version,
                "changed": changed,
            },
            who=who,
            signer=signer,
            settings=settings,
            now=now,
        )

    return _keyed(
        session, keyed=keyed, digest=digest, signer=signer, settings=settings, now=now, work=work
    )
