"""A certificate superseded by its next version: replacement (补发) and correction (换发).

Contract section 2: a replacement keeps the number and bumps the version. The certificate
row becomes version + 1 with a new e-licence identifier, new tokens signed by the active
key and a NEW status entry (valid); the old version's tokens move to
``certificate_version`` (reason ``superseded``) with their own status entry, which is set
INVALID (1). So the old paper's QR and the old e-licence verify ``not_valid`` (reason
``revoked``: the list says no more) while the new version verifies ``valid``; the old
entry is never drawn again (``issuer.issuance.statuslists``).

- **Replacement** (``replace``): the same facts, for a lost or damaged certificate.
- **Correction** (``correct``): changed facts (:data:`CORRECTABLE`), validated by the same
  field rules as issuing (``issuer.fields``), the one-certificate-per-person rule and the
  restricted list checked for the corrected person. Sex, qualification type and
  certification date are part of the number or of the decision (:data:`FIXED`): they are
  not corrected; the office revokes and certifies anew.

Only a valid certificate is superseded (a suspended one is reinstated first, a revoked one
stays revoked: Conflict). Requests (``issuer.lifecycle.replacement``) go through
maker-checker like a revocation; :func:`take_effect` is what an approval (or an office
without maker-checker) runs, inside its write transaction. Lock order as in
``issuer.lifecycle.transitions``: certificate row, status list rows, audit head, event head.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credential import Certificate as CertificateFacts
from credential import (
    Signer,
    StatusList,
    StatusReference,
    StatusValue,
    beijing_date,
    certificate_from_claims,
    elicence_id,
    mask_id,
    parse_jws,
    sign_certificate,
)
from issuer import issuance
from issuer.audit import chain as audit
from issuer.audit import events
from issuer.db import tables
from issuer.db.models import Certificate, CertificateVersion, StatusListRow
from issuer.errors import Conflict
from issuer.fields import FieldError, ValidApplication, ValidationFailed, validate_application
from issuer.lifecycle.transitions import certificate_state, lock_certificate, lock_status_lists
from issuer.photos import Photo
from issuer.settings import IssuerSettings

__all__ = [
    "CORRECTABLE",
    "FIXED",
    "KINDS",
    "REPLACEMENT_REASONS",
    "SUPERSEDED",
    "check_corrected_person",
    "check_supersedable",
    "corrected_application",
    "open_correction",
    "seal_correction",
    "supersede",
    "take_effect",
    "validate_replacement_reason",
]

SUPERSEDED = "superseded"
#: Pending-action kinds, and the audit action and event type of each.
KINDS: dict[str, str] = {"replace": "replaced", "correct": "corrected"}
REPLACEMENT_REASONS: dict[str, tuple[str, str]] = {
    "lost_document": ("the certificate was lost or stolen", "证书遗失"),
    "damaged": ("the certificate was damaged", "证书损毁"),
}
#: What a correction may change (the contract's credentialSubject facts of the person).
CORRECTABLE = ("name", "birth_date", "ethnicity", "id_type", "id_number", "subject")
#: What it may not: part of the number (sex, type, year) or of the decision itself.
FIXED = ("sex", "qualification_type", "certified_on")

_INDEX_RETRIES = 8
_LIST = tables.STATUS_LIST


# --- what may be asked ---------------------------------------------------------------------


def validate_replacement_reason(value: object) -> str:
    """Return the replacement's reason code; raises ValidationFailed on ``reason_code``."""
    if isinstance(value, str) and value in REPLACEMENT_REASONS:
        return value
    codes = ", ".join(REPLACEMENT_REASONS)
    raise ValidationFailed(
        [
            FieldError(
                "reason_code",
                "invalid" if value not in (None, "") else "required",
                f"reason_code must be one of {codes}",
                f"补发原因须为以下之一：{codes}（遗失、损毁）",
            )
        ]
    )


def check_supersedable(cert: Certificate, *, what: str, version: int | None = None) -> None:
    """Raise Conflict unless ``cert`` is valid (and still at ``version``, when given).

    ``what`` is ``replace`` or ``correct`` (for the message).
    """
    en, zh = ("replaced", "补发") if what == "replace" else ("corrected", "换发")
    if cert.status != "valid":
        raise Conflict(
            f"Only a valid certificate can be {en}",
            f"只有有效的证书才能{zh}",
            f"Certificate {cert.certificate_number} is {cert.status}"
            + (" (reinstate it first)." if cert.status == "suspended" else "."),
            f"证书{cert.certificate_number}当前状态为{cert.status}。",
        )
    if version is not None and cert.version != version:
        raise Conflict(
            "The certificate changed since the request",
            "申请提出后证书已变更",
            f"Certificate {cert.certificate_number} is now version {cert.version}, the "
            f"request was for version {version}: reject it and ask again.",
            f"证书{cert.certificate_number}现为第{cert.version}版，申请针对第{version}版，"
            "请驳回后重新申请。",
        )


def _old_facts(cert: Certificate, settings: IssuerSettings) -> tuple[CertificateFacts, str]:
    jws = issuance.open_credential(
        settings, cert.credential_jws, certificate_number=cert.certificate_number
    )
    return certificate_from_claims(parse_jws(jws).payload), jws


def _as_text(facts: CertificateFacts) -> dict[str, object]:
    """Return ``facts`` as an application body (the text issuing validates)."""
    return {
        "name": facts.name,
        "sex": facts.sex.value,
        "birth_date": facts.birth_date.isoformat(),
        "id_type": facts.id_type.value,
        "id_number": facts.id_number,
        "qualification_type": facts.qualification_type.slug,
        "subject": facts.subject,
        "certified_on": facts.certified_on.isoformat(),
        "ethnicity": facts.ethnicity,
    }


def corrected_application(
    cert: Certificate,
    changes: Mapping[str, object],
    *,
    settings: IssuerSettings,
    today: dt.date,
) -> tuple[ValidApplication, list[str]]:
    """Return the corrected application (old facts with ``changes``) and the names of the
    fields that really change.

    Raises ValidationFailed naming every refused field: a FIXED field given
    (``not_correctable``), a value the issuing rules refuse, or nothing changed (field
    ``changes``, ``no_change``).
    """
    fixed = [k for k in FIXED if changes.get(k) is not None]
    if fixed:
        raise ValidationFailed(
            [
                FieldError(
                    k,
                    "not_correctable",
                    f"{k} cannot be corrected (it is part of the certificate number or of "
                    "the decision): revoke the certificate and certify anew",
                    "该项不能换发更正（属于证书号码或认定决定的内容），应撤销后重新认定",
                )
                for k in fixed
            ]
        )
    old, _ = _old_facts(cert, settings)
    before = _as_text(old)
    given = {k: changes[k] for k in CORRECTABLE if k in changes and changes[k] is not None}
    if "ethnicity" in changes and changes["ethnicity"] == "":
        given["ethnicity"] = None  # an empty ethnicity removes it
    app = validate_application({**before, **given}, today=today, settings=settings)
    after = {
        "name": app.name,
        "birth_date": app.birth_date,
        "ethnicity": app.ethnicity,
        "id_type": app.id_type,
        "id_number": app.id_number,
        "subject": app.subject,
    }
    changed = [k for k in CORRECTABLE if after[k] != getattr(old, k)]
    if not changed:
        raise ValidationFailed(
            [
                FieldError(
                    "changes",
                    "no_change",
                    "the correction changes nothing: give at least one new value of "
                    + ", ".join(CORRECTABLE),
                    "换发申请未更正任何内容",
                )
            ]
        )
    return app, changed


def check_corrected_person(
    session: Session, cert: Certificate, app: ValidApplication, *, settings: IssuerSettings
) -> None:
    """Raise ValidationFailed if the corrected person holds another valid or suspended
    certificate of the type and subject (``already_certified``, naming it) or is barred
    by the restricted list (``restricted``)."""
    hashed = issuance.id_number_hash(settings, app)
    key = (hashed, int(app.qualification_type), app.subject)
    held = issuance.held_certificates(session, [key]).get(key)
    if held is not None and held != cert.certificate_number:
        raise ValidationFailed([issuance.already_certified_error(held)])
    issuance.check_not_barred(session, app, settings=settings)


# --- the sealed correction (a pending action's payload holds no identity number) ----------


def _context(number: str, version: int) -> str:
    return f"correction:{number}:{version}"


def seal_correction(
    settings: IssuerSettings, app: ValidApplication, *, number: str, version: int
) -> str:
    """Return the corrected facts sealed for the pending action of ``number``."""
    body = {
        "name": app.name,
        "sex": app.sex.value,
        "birth_date": app.birth_date.isoformat(),
        "id_type": app.id_type.value,
        "id_number": app.id_number,
        "qualification_type": app.qualification_type.slug,
        "subject": app.subject,
        "certified_on": app.certified_on.isoformat(),
        "ethnicity": app.ethnicity,
    }
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    return issuance.seal_text(settings, text, context=_context(number, version))


def open_correction(
    settings: IssuerSettings, sealed: str, *, number: str, version: int, today: dt.date
) -> ValidApplication:
    """Return the corrected facts sealed by :func:`seal_correction`, validated again (the
    rules as they are at approval). Raises ValidationFailed, Conflict (the sealed facts
    no longer open)."""
    try:
        text = issuance.open_text(settings, sealed, context=_context(number, version))
    except issuance.SealedDataError:
        # the data key changed (or the row was tampered with) since the request: the
        # request cannot be carried out as made, and saying so beats a 500
        raise Conflict(
            "The corrected facts of this request can no longer be read",
            "该更正申请中的信息已无法读取",
            "The office's data key changed since the request was made: reject this "
            "request and make the correction again.",
            "申请提交后机构数据密钥已更换：请驳回该申请并重新提交更正。",
        ) from None
    return validate_application(json.loads(text), today=today, settings=settings)


# --- the act -------------------------------------------------------------------------------


def _corrected_facts(
    old: CertificateFacts, app: ValidApplication | None, *, version: int, eid: str
) -> CertificateFacts:
    facts = dataclasses.replace(old, elicence_id=eid, version=version)
    if app is None:
        return facts
    return dataclasses.replace(
        facts,
        name=app.name,
        birth_date=app.birth_date,
        ethnicity=app.ethnicity,
        id_type=app.id_type,
        id_number=app.id_number,
        subject=app.subject,
    )


def _revoke_entry(session: Session, list_id: int, idx: int) -> None:
    """Set entry ``idx`` of list ``list_id`` INVALID and bump the list's revision."""
    lst = session.execute(
        sa.select(StatusListRow)
        .where(_LIST.c.id == list_id)
        .execution_options(populate_existing=True)
    ).scalar_one()
    entries = StatusList.from_bytes(lst.data, lst.bits)
    entries.set(idx, int(StatusValue.INVALID))
    session.execute(
        sa.update(_LIST)
        .where(_LIST.c.id == list_id)
        .values(data=entries.to_bytes(), revision=_LIST.c.revision + 1)
    )


def supersede(
    session: Session,
    cert: Certificate,
    *,
    kind: str,
    app: ValidApplication | None,
    actor: str,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
    detail: Mapping[str, Any],
    photo: bytes | None = None,
) -> list[int]:
    """Make the locked, valid ``cert`` its next version inside the caller's write
    transaction; return the status list ids to publish after commit.

    ``photo``: a new holder's photo (the normalised JPEG) for the new version, bound into
    its credential and stored in place of the old one; None keeps the old binding (and so
    the stored photo).

    ``kind`` is ``replace`` (``app`` None: the same facts) or ``correct`` (``app``: the
    corrected facts, already checked). Writes the old version to ``certificate_version``,
    revokes its status entry, signs the new version on a new entry, appends the audit
    record (``certificate.replaced`` / ``certificate.corrected``, with ``detail``) and the
    event. Raises ValidationFailed (``already_certified``: a concurrent writer certified
    the corrected person first).
    """
    now = now.replace(microsecond=0)
    number = cert.certificate_number
    old_facts, old_jws = _old_facts(cert, settings)
    payload = parse_jws(old_jws).payload
    old_kid = cert.kid or parse_jws(old_jws).kid
    old_version, new_version = cert.version, cert.version + 1
    old_list_id, old_idx = cert.status_list_id, cert.status_idx
    old_uri = session.execute(sa.select(_LIST.c.uri).where(_LIST.c.id == old_list_id)).scalar_one()
    eid = elicence_id(
        type_code=settings.elicence_type_code,
        issuer_uscc=settings.issuer_uscc,
        serial=number,
        version=new_version,
    )
    facts = _corrected_facts(old_facts, app, version=new_version, eid=eid)
    if photo is not None:
        facts = dataclasses.replace(facts, photo_digest=Photo.of(photo).digest_sri)
    exp = payload.get("exp")
    assert cert.id is not None
    session.add(
        CertificateVersion(
            certificate_id=cert.id,
            version=old_version,
            kid=old_kid,
            # as it was stored: a dual-signed version keeps its SM2 signature
            credential_jws=issuance.seal_credential(
                settings,
                issuance.open_stored_credential(
                    settings, cert.credential_jws, certificate_number=number
                ),
                certificate_number=number,
            ),
            qr_token=cert.qr_token,
            superseded_at=now,
            reason=SUPERSEDED,
            status_list_id=old_list_id,
            status_idx=old_idx,
        )
    )
    session.flush()  # the old entry is now named by the version row: never drawn again
    for attempt in range(_INDEX_RETRIES):
        lst, idx = issuance.draw_status_index(session, settings=settings, now=now)
        tokens = sign_certificate(
            facts,
            signer=signer,
            issuer=settings.office_id,
            issued_at=int(now.timestamp()),
            status=StatusReference(idx, lst.uri),
            valid_until=exp if isinstance(exp, int) else None,
        )
        try:
            with session.begin_nested():
                cert.version, cert.elicence_id, cert.kid = new_version, eid, signer.kid
                cert.status_list_id, cert.status_idx = lst.id, idx  # type: ignore[assignment]
                cert.credential_jws = issuance.seal_credential(
                    settings, tokens.stored, certificate_number=number
                )
                cert.qr_token = tokens.qr_token
                if app is not None:
                    cert.name, cert.birth_date, cert.ethnicity = (
                        app.name,
                        app.birth_date,
                        app.ethnicity,
                    )
                    cert.id_type = app.id_type.value
                    cert.id_number_hash = issuance.id_number_hash(settings, app)
                    cert.person_ref = issuance.person_ref(settings, app.id_type, app.id_number)
                    cert.id_number_masked = mask_id(app.id_number)
                    cert.subject = app.subject
                session.flush()
            break
        except IntegrityError as exc:
            # The savepoint rolled back and expired the row: read it again, locked.
            cert = lock_certificate(session, number, cert.office_id)
            if app is not None and issuance.is_person_conflict(exc):
                # A concurrent writer certified the corrected person first: the same
                # refusal as when it had committed before; if it rolled back, try again.
                check_corrected_person(session, cert, app, settings=settings)
                if attempt < _INDEX_RETRIES - 1:
                    continue
                raise
            if "status_idx" not in str(exc.orig) or attempt == _INDEX_RETRIES - 1:
                raise
    lock_status_lists(session, [old_list_id, lst.id])  # type: ignore[list-item]
    _revoke_entry(session, old_list_id, old_idx)
    if photo is not None:  # the new version's photo replaces the old one's
        assert cert.id is not None
        issuance.store_photo(session, cert.id, Photo.of(photo), now=now)
    action = KINDS[kind]
    audit.append(
        session,
        actor=actor,
        action=f"certificate.{action}",
        subject=number,
        detail={
            "certificate_number": number,
            "version": new_version,
            "previous_version": old_version,
            "previous_status": "revoked",
            "previous_reason": SUPERSEDED,
            "previous_status_list": old_uri,
            "previous_status_idx": old_idx,
            "elicence_id": eid,
            "status_list": lst.uri,
            "status_idx": idx,
            "kid": signer.kid,
            "previous_kid": old_kid,
            "credential_sha256": hashlib.sha256(tokens.credential.encode("ascii")).hexdigest(),
            "qr_sha256": hashlib.sha256(tokens.qr_token.encode("ascii")).hexdigest(),
            **detail,
        },
        at=now,
    )
    events.append_event(  # after the audit record: lock order audit_head, then event_head
        session,
        type=action,
        office_id=cert.office_id,
        certificate_number=number,
        version=new_version,
        data={
            "previous_version": old_version,
            "previous_status": "revoked",
            "reason_code": SUPERSEDED,
        },
        now=now,
    )
    assert lst.id is not None
    return sorted({old_list_id, lst.id})


def take_effect(
    session: Session,
    *,
    kind: str,
    number: str,
    office_id: str | None,
    payload: Mapping[str, Any],
    actor: str,
    approval: Mapping[str, Any],
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> tuple[list[int], dict[str, Any]]:
    """Carry out an approved (or unchecked) replacement or correction inside the caller's
    write transaction; return (status list ids to publish, result).

    ``payload`` is the pending action's: ``version`` requested, ``reason_code`` or the
    sealed correction. Raises NotFound, Conflict (no longer valid, or another version
    since), ValidationFailed (the correction no longer passes).
    """
    cert = lock_certificate(session, number, office_id)
    version = int(payload["version"])
    check_supersedable(cert, what=kind, version=version)
    app: ValidApplication | None = None
    if kind == "correct":
        app = open_correction(
            settings,
            payload["sealed_facts"],
            number=number,
            version=version,
            today=beijing_date(now),
        )
        check_corrected_person(session, cert, app, settings=settings)
    # Field names and codes only: the audit trail keeps no new name or identity number
    # (nor a new photo: its SHA-256 only).
    keys = ("version", "reason_code", "changed", "photo_sha256")
    visible = {k: payload[k] for k in keys if k in payload}
    photo = base64.b64decode(payload["photo"]) if payload.get("photo") else None
    list_ids = supersede(
        session,
        cert,
        kind=kind,
        app=app,
        actor=actor,
        signer=signer,
        settings=settings,
        now=now,
        detail={**visible, **approval},
        photo=photo,
    )
    return list_ids, {"certificate": certificate_state(session, number)}
