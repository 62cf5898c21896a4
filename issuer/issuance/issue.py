"""Issuing one certificate: what the office certifies, who may not be certified, and the
one transaction that numbers, signs, stores and records it.

Issuing is one transaction: the serial (``UPDATE ... RETURNING`` on the counter row), a
random status index, both signed tokens, the certificate row, its audit record and its
event commit together or not at all. Every way in (one request, a keyed request, a batch
row) passes the same scope check, restricted-list check and one-certificate-per-person
check (a valid or suspended certificate of the type and subject refuses a second one,
``already_certified``; the partial unique index of revision 0004 holds it under races).

Identity numbers are never stored in clear: a row keeps their keyed hash (``id_hash``,
the office's own key) and the restricted list a person reference (``person_ref``, a key
shared with verifiers).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credential import Certificate as CertificateFacts
from credential import (
    CertificateNumber,
    IdType,
    QualificationType,
    Sex,
    Signer,
    StatusReference,
    as_utc,
    beijing_date,
    elicence_id,
    mask_id,
    person_key,
    person_reference,
    sign_certificate,
)
from issuer.audit import chain as audit
from issuer.audit import events
from issuer.db import tables, write
from issuer.db.models import HOLDING_STATUSES, PERSON_QUALIFICATION_INDEX, Certificate
from issuer.fields import FieldError, ValidApplication, ValidationFailed, validate_application
from issuer.issuance.numbers import allocate_serial
from issuer.issuance.photos import decode_photo_field, photo_required_error, store_photo
from issuer.issuance.reads import certificate_public
from issuer.issuance.schemas import CertificateCreate, CertificatePublic
from issuer.issuance.sealing import seal_credential
from issuer.issuance.statuslists import draw_status_index, publish_changed_lists
from issuer.photos import Photo
from issuer.settings import IssuerSettings

__all__ = [
    "Applicant",
    "Barred",
    "Qualification",
    "already_certified_error",
    "barred_error",
    "barred_refs",
    "certificate_facts",
    "check_not_barred",
    "check_not_certified",
    "check_scope",
    "held_certificates",
    "id_hash",
    "id_number_hash",
    "is_person_conflict",
    "issue_certificate",
    "issue_in_transaction",
    "person_ref",
    "validate_request",
]

_INDEX_RETRIES = 8  # re-draws after losing a race on the (list, index) unique constraint


class Applicant(Protocol):
    """What issuing needs of an application: a ValidApplication or a batch file's
    ApplicantRow (both validated in full before they get here)."""

    @property
    def name(self) -> str: ...
    @property
    def sex(self) -> Sex: ...
    @property
    def birth_date(self) -> dt.date: ...
    @property
    def id_type(self) -> IdType: ...
    @property
    def id_number(self) -> str: ...
    @property
    def qualification_type(self) -> QualificationType: ...
    @property
    def subject(self) -> str: ...
    @property
    def certified_on(self) -> dt.date: ...
    @property
    def ethnicity(self) -> str | None: ...


# --- who the applicant is ------------------------------------------------------------------


def id_hash(settings: IssuerSettings, id_type: IdType, number: str) -> str:
    """Return the keyed hash (HMAC-SHA256, hex) stored instead of an identity number."""
    key = settings.id_hmac_key.get_secret_value().encode("utf-8")
    return hmac.new(key, person_key(id_type, number), hashlib.sha256).hexdigest()


def id_number_hash(settings: IssuerSettings, app: Applicant) -> str:
    """Return ``id_hash`` of an application's identity document."""
    return id_hash(settings, app.id_type, app.id_number)


def person_ref(settings: IssuerSettings, id_type: IdType, number: str) -> str:
    """Return the restricted list's person reference (HMAC shared with verifiers)."""
    key = settings.restriction_hmac_key.get_secret_value().encode("utf-8")
    return person_reference(key, id_type, number)


# --- who may be certified ------------------------------------------------------------------


def check_scope(app: ValidApplication, *, settings: IssuerSettings) -> None:
    """Raise ValidationFailed (on ``qualification_type``) if the office may not certify
    ``app``'s qualification type (``JIAOZI_QUALIFICATION_TYPES``, its trust-list scope)."""
    qt = app.qualification_type
    if qt in settings.qualification_scope:
        return
    allowed = sorted(settings.qualification_scope)
    raise ValidationFailed(
        [
            FieldError(
                "qualification_type",
                "out_of_scope",
                f"this office may not certify {qt.slug}; its scope is "
                + ", ".join(t.slug for t in allowed),
                f"本机构无权认定{qt.name_zh}；可认定的资格种类为："
                + "、".join(t.short_zh for t in allowed),
            )
        ]
    )


@dataclass(frozen=True)
class Barred:
    """Why the restricted list bars a person (plain values, safe after the session ends):
    ``office`` is the recording office of a national entry (None for this office's own
    list), ``ref`` the national entry's reference."""

    category: str
    bar_until: dt.date | None
    office: str | None = None
    ref: str | None = None


def barred_refs(session: Session, refs: Iterable[str], *, on: dt.date) -> dict[str, Barred]:
    """Return the active restriction barring each of ``refs`` from certification on ``on``:
    ``lost`` bars for ever, ``revoked`` until its bar date (contract section 7). This
    office's own list is read first, then the national list pulled from the registry
    (``issuer.lifecycle.national``), where another office's entry bars as much."""
    wanted = sorted(set(refs))
    found: dict[str, Barred] = {}
    r = tables.RESTRICTION.c
    n = tables.NATIONAL_RESTRICTION.c
    for i in range(0, len(wanted), 500):
        part = wanted[i : i + 500]
        stmt = sa.select(r.person_ref, r.category, r.bar_until).where(
            r.person_ref.in_(part),
            r.removed_at.is_(None),
            sa.or_(r.category == "lost", r.bar_until.is_(None), r.bar_until > on),
        )
        for ref, category, bar_until in session.execute(stmt):
            found.setdefault(ref, Barred(category, bar_until))
        national = (
            sa.select(n.person_ref, n.category, n.bar_until, n.office, n.ref)
            .where(
                n.person_ref.in_(part),
                n.removed_at.is_(None),
                sa.or_(n.category == "lost", n.bar_until.is_(None), n.bar_until > on),
            )
            .order_by(n.ref)
        )
        for ref, category, bar_until, office, entry_ref in session.execute(national):
            found.setdefault(ref, Barred(category, bar_until, office, entry_ref))
    return found


def barred_error(entry: Barred) -> FieldError:
    """Return the field error for an applicant on the restricted list; a national entry's
    names its recording office and the end of the bar."""
    by = f" (recorded by {entry.office})" if entry.office else ""
    by_zh = f"（记录机构：{entry.office}）" if entry.office else ""
    if entry.category == "lost":
        return FieldError(
            "id_number",
            "restricted",
            "this person has lost the teacher qualification (restricted list): "
            f"no new certificate may be issued{by}",
            f"该人员已丧失教师资格（教师资格限制库），不得再认定{by_zh}",
        )
    until = entry.bar_until.isoformat() if entry.bar_until else "-"
    return FieldError(
        "id_number",
        "restricted",
        f"this person's qualification was revoked; re-certification is barred until {until}{by}",
        f"该人员教师资格已被撤销，{until}前不得重新认定{by_zh}",
    )


def check_not_barred(session: Session, app: Applicant, *, settings: IssuerSettings) -> None:
    """Raise ValidationFailed (on ``id_number``) if the restricted list bars ``app``'s person."""
    ref = person_ref(settings, app.id_type, app.id_number)
    entry = barred_refs(session, [ref], on=app.certified_on).get(ref)
    if entry is not None:
        raise ValidationFailed([barred_error(entry)])


# --- who holds the qualification already -------------------------------------------------

#: A person (keyed identity hash) and a qualification (type code, subject as stored).
Qualification = tuple[str, int, str]


def held_certificates(
    session: Session, wanted: Iterable[Qualification]
) -> dict[Qualification, str]:
    """Return the number of the valid or suspended certificate each of ``wanted`` holds
    (one SELECT per 500 persons; a revoked certificate holds nothing)."""
    keys = set(wanted)
    hashes = sorted({k[0] for k in keys})
    found: dict[Qualification, str] = {}
    c = tables.CERTIFICATE.c
    for i in range(0, len(hashes), 500):
        stmt = sa.select(
            c.id_number_hash, c.qualification_type, c.subject, c.certificate_number
        ).where(c.id_number_hash.in_(hashes[i : i + 500]), c.status.in_(HOLDING_STATUSES))
        for hashed, qt, subject, number in session.execute(stmt):
            key = (hashed, int(qt), subject)
            if key in keys:
                found.setdefault(key, number)
    return found


def already_certified_error(number: str) -> FieldError:
    """Return the field error for an applicant who holds ``number`` of the same
    qualification type and subject (valid or suspended)."""
    return FieldError(
        "id_number",
        "already_certified",
        f"this person already holds certificate {number} of this qualification type and "
        "subject (valid or suspended): a second one may not be issued",
        f"该人员已持有同一资格种类和任教学科的证书{number}（有效或暂停），不得重复认定",
    )


def is_person_conflict(exc: IntegrityError) -> bool:
    """Whether ``exc`` is the one-certificate-per-person index refusing an insert."""
    text = str(exc.orig)
    return PERSON_QUALIFICATION_INDEX in text or "certificate.id_number_hash" in text


def check_not_certified(session: Session, hashed_id: str, app: Applicant) -> None:
    """Raise ValidationFailed (on ``id_number``, naming the certificate) if the person
    already holds a valid or suspended certificate of ``app``'s type and subject."""
    key = (hashed_id, int(app.qualification_type), app.subject)
    number = held_certificates(session, [key]).get(key)
    if number is not None:
        raise ValidationFailed([already_certified_error(number)])


# --- what is certified ---------------------------------------------------------------------


def certificate_facts(
    app: Applicant, *, settings: IssuerSettings, serial: int, version: int = 1
) -> CertificateFacts:
    """Return what the office certifies for ``app`` under ``serial`` (number, e-licence id)."""
    year = app.certified_on.year
    number = CertificateNumber.build_text(
        year=year,
        province=settings.province,
        office=settings.office_code,
        qualification_type=app.qualification_type,
        sex=app.sex,
        serial=serial,
    )
    eid = elicence_id(
        type_code=settings.elicence_type_code,
        issuer_uscc=settings.issuer_uscc,
        serial=number,
        version=version,
    )
    return CertificateFacts(
        certificate_number=number,
        name=app.name,
        sex=app.sex,
        birth_date=app.birth_date,
        id_type=app.id_type,
        id_number=app.id_number,
        qualification_type=app.qualification_type,
        subject=app.subject,
        certified_on=app.certified_on,
        office_name=settings.office_name,
        office_code=settings.office_number_code,
        elicence_id=eid,
        version=version,
        ethnicity=app.ethnicity,
    )


# --- the transaction -----------------------------------------------------------------------


def validate_request(
    request: CertificateCreate, *, settings: IssuerSettings, now: dt.datetime
) -> tuple[ValidApplication, Photo | None]:
    """Return the validated application and normalised photo of ``request``, or raise
    ValidationFailed naming every bad field (the photo's among them)."""
    errors = []
    app = photo = None
    try:
        app = validate_application(
            request.model_dump(exclude={"photo"}), today=beijing_date(now), settings=settings
        )
    except ValidationFailed as exc:
        errors += exc.errors
    try:
        photo = decode_photo_field(request.photo, settings=settings)
    except ValidationFailed as exc:
        errors += exc.errors
    if errors or app is None:
        raise ValidationFailed(errors)
    return app, photo


def issue_in_transaction(
    session: Session,
    app: ValidApplication,
    *,
    signer: Signer,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
    photo: Photo | None = None,
) -> CertificatePublic:
    """Issue ``app`` (with the holder's normalised ``photo``, bound into the credential and
    stored beside the certificate) inside the caller's write transaction; the caller
    commits."""
    if photo is None and settings.photo_required:
        raise ValidationFailed([photo_required_error()])
    check_scope(app, settings=settings)  # every path (one, keyed, batch) passes here
    # Inside the write transaction, so a restriction recorded concurrently is either seen
    # here or recorded after this certificate exists (and then revokes it).
    check_not_barred(session, app, settings=settings)
    now = as_utc(now).replace(microsecond=0)
    year = app.certified_on.year
    serial = allocate_serial(session, office_id=settings.office_id, year=year)
    hashed_id = id_number_hash(settings, app)
    # After the serial: on PostgreSQL a concurrent issuer of this office holds the counter
    # row until it commits, so this read sees its certificate; another office's racing
    # insert is stopped by the unique index (below).
    check_not_certified(session, hashed_id, app)
    facts = certificate_facts(app, settings=settings, serial=serial)
    if photo is not None:
        facts = dataclasses.replace(facts, photo_digest=photo.digest_sri)
    number, eid = facts.certificate_number, facts.elicence_id
    for attempt in range(_INDEX_RETRIES):
        lst, idx = draw_status_index(session, settings=settings, now=now)
        tokens = sign_certificate(
            facts,
            signer=signer,
            issuer=settings.office_id,
            issued_at=int(now.timestamp()),
            status=StatusReference(idx, lst.uri),
        )
        row = Certificate(
            certificate_number=number,
            version=1,
            office_id=settings.office_id,
            year=year,
            serial=serial,
            qualification_type=int(app.qualification_type),
            name=app.name,
            sex=app.sex.value,
            birth_date=app.birth_date,
            ethnicity=app.ethnicity,
            id_type=app.id_type.value,
            id_number_hash=hashed_id,
            id_number_masked=mask_id(app.id_number),
            person_ref=person_ref(settings, app.id_type, app.id_number),
            subject=app.subject,
            certified_on=app.certified_on,
            elicence_id=eid,
            status_list_id=lst.id,  # type: ignore[arg-type]
            status_idx=idx,
            credential_jws=seal_credential(settings, tokens.stored, certificate_number=number),
            kid=signer.kid,
            qr_token=tokens.qr_token,
            status="valid",
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
            break
        except IntegrityError as exc:
            if is_person_conflict(exc):
                # A concurrent writer certified this person first: the same refusal as
                # when it had committed before (the caller's transaction rolls back).
                check_not_certified(session, hashed_id, app)
                if attempt < _INDEX_RETRIES - 1:
                    continue  # (it rolled back meanwhile: try again)
                raise
            # Only a concurrent writer taking the same (list, index) is worth a new draw.
            if "status_idx" not in str(exc.orig) or attempt == _INDEX_RETRIES - 1:
                raise
    if photo is not None:
        assert row.id is not None  # flushed
        store_photo(session, row.id, photo, now=now)
    audit.append(
        session,
        actor=actor,
        action="certificate.issued",
        subject=number,
        detail={
            "certificate_number": number,
            "version": 1,
            "elicence_id": eid,
            "status_list": lst.uri,
            "status_idx": idx,
            "kid": signer.kid,
            "credential_sha256": hashlib.sha256(tokens.credential.encode("ascii")).hexdigest(),
            "qr_sha256": hashlib.sha256(tokens.qr_token.encode("ascii")).hexdigest(),
            **({"photo_sha256": photo.sha256_hex} if photo is not None else {}),
        },
        at=now,
    )
    events.append_event(  # after the audit record: lock order audit_head, then event_head
        session,
        type="issued",
        office_id=settings.office_id,
        certificate_number=number,
        version=1,
        data={},
        now=now,
    )
    return certificate_public(row, settings=settings, status_uri=lst.uri)


def issue_certificate(
    session: Session,
    *,
    request: CertificateCreate,
    signer: Signer,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
) -> CertificatePublic:
    """Validate, number, sign, store and audit one certificate in one transaction.

    Raises ValidationFailed (every bad field, nothing written) before touching the database.
    A status list this made (the office's first or next) is published after the commit.
    """
    app, photo = validate_request(request, settings=settings, now=now)
    with write(session):
        public = issue_in_transaction(
            session, app, signer=signer, settings=settings, actor=actor, now=now, photo=photo
        )
    publish_changed_lists(session, signer=signer, settings=settings, now=now)
    return public
