"""The issuer's transactions. Keyword-only functions over a database session; no web
framework here, so the HTTP app, the CLI and batch jobs share them.

Issuing one certificate is one transaction: idempotency record (when keyed), serial
(``UPDATE ... RETURNING`` on the counter row), a random status index, both signed tokens,
the certificate row and its audit record commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credential import (
    STATUS_LIST_TYP,
    CertificateNumber,
    IdType,
    IndexAllocator,
    QualificationType,
    Sex,
    Signer,
    StatusList,
    StatusListError,
    StatusReference,
    elicence_id,
    encode_jws,
    mask_id,
    person_key,
    person_reference,
    qr_url,
    sign_certificate,
    status_list_claims,
)
from credential import Certificate as CertificateFacts
from issuer.audit import chain as audit
from issuer.audit import events
from issuer.db.engine import begin_write
from issuer.db.models import (
    Certificate,
    IdempotencyRecord,
    Restriction,
    SerialCounter,
    StatusListRow,
)
from issuer.errors import IdempotencyMismatch, IdempotencyPending, NotFound
from issuer.fields import FieldError, ValidApplication, ValidationFailed, validate_application
from issuer.issuance.schemas import (
    CertificateCreate,
    CertificateLinks,
    CertificatePublic,
    StatusRef,
)
from issuer.issuance.sealing import open_credential, open_text, seal_credential, seal_text
from issuer.settings import IssuerSettings

__all__ = [
    "StoredResponse",
    "get_certificate",
    "issue_certificate",
    "issue_certificate_idempotent",
    "publish_status_list",
    "request_hash",
    "status_list_token",
]

STATUS_BITS = 2
_RANDOM_DRAWS = 64  # rejection-sampling tries before reading the whole list's used indices
_INDEX_RETRIES = 8  # re-draws after losing a race on the (list, index) unique constraint


# China Standard Time (no daylight saving): the calendar an office's dates are written in.
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")


def office_date(now: dt.datetime) -> dt.date:
    """Return today's date in China for ``now`` (a certification dated today is valid
    from 00:00 Beijing time, which is still yesterday in UTC)."""
    return now.astimezone(CHINA_TZ).date()


def _iso(ts: dt.datetime) -> str:
    ts = ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def id_hash(settings: IssuerSettings, id_type: IdType, number: str) -> str:
    """Return the keyed hash (HMAC-SHA256, hex) stored instead of an identity number."""
    key = settings.id_hmac_key.get_secret_value().encode("utf-8")
    return hmac.new(key, person_key(id_type, number), hashlib.sha256).hexdigest()


def id_number_hash(settings: IssuerSettings, app: Applicant) -> str:
    """Return ``id_hash`` of an application's identity document."""
    return id_hash(settings, app.id_type, app.id_number)


# --- allocation --------------------------------------------------------------------------


def allocate_serial(session: Session, *, office_id: str, year: int, count: int = 1) -> int:
    """Return the next serial of ``office_id`` in ``year``, locking its counter row.

    The increment is one ``UPDATE ... RETURNING`` in the caller's transaction: concurrent
    issuers queue on the row lock and each gets its own value; a rollback returns it.
    With ``count`` > 1 (a batch chunk) the same statement reserves ``count`` consecutive
    serials and the first is returned.
    """
    t = SerialCounter.__table__  # type: ignore[attr-defined]
    bump = (
        sa.update(t)
        .where(t.c.office_id == office_id, t.c.year == year)
        .values(last_serial=t.c.last_serial + count)
        .returning(t.c.last_serial)
    )
    got = session.execute(bump).scalar_one_or_none()
    if got is None:
        # Both dialects spell "insert unless present" the same way.
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            create: sa.Executable = pg_insert(t).on_conflict_do_nothing()
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            create = sqlite_insert(t).on_conflict_do_nothing()
        session.execute(create, {"office_id": office_id, "year": year, "last_serial": 0})
        got = session.execute(bump).scalar_one()
    return int(got) - count + 1


def _new_status_list(
    session: Session, *, settings: IssuerSettings, ordinal: int, now: dt.datetime
) -> StatusListRow | None:
    """Insert list ``ordinal`` of the office; return None if a concurrent writer did."""
    size = settings.status_list_size
    row = StatusListRow(
        office_id=settings.office_id,
        ordinal=ordinal,
        uri="",
        bits=STATUS_BITS,
        size=size,
        data=StatusList(size, bits=STATUS_BITS).to_bytes(),
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
            row.uri = f"{settings.public_url}/statuslists/{row.id}"
            session.flush()
    except IntegrityError:
        return None
    return row


def current_status_list(
    session: Session, *, settings: IssuerSettings, now: dt.datetime
) -> StatusListRow:
    """Return the office's newest status list, creating the first one if needed."""
    for _ in range(3):
        row = session.execute(
            sa.select(StatusListRow)
            .where(StatusListRow.office_id == settings.office_id)  # type: ignore[arg-type]
            .order_by(StatusListRow.ordinal.desc())  # type: ignore[attr-defined]
            .limit(1)
        ).scalar_one_or_none()
        if row is not None:
            return row
        created = _new_status_list(session, settings=settings, ordinal=1, now=now)
        if created is not None:
            return created
    raise RuntimeError("could not create or find a status list")  # pragma: no cover


_CERT: sa.Table = Certificate.__table__  # type: ignore[attr-defined]
_LIST: sa.Table = StatusListRow.__table__  # type: ignore[attr-defined]


def _index_used(session: Session, list_id: int, idx: int) -> bool:
    c = _CERT.c
    stmt = sa.select(c.id).where(c.status_list_id == list_id, c.status_idx == idx)
    return session.execute(stmt).first() is not None


def draw_status_index(
    session: Session, *, settings: IssuerSettings, now: dt.datetime
) -> tuple[StatusListRow, int]:
    """Return (list, index): an unused entry drawn uniformly at random (herd privacy).

    Rejection sampling against the database; if that keeps hitting used entries the list
    is nearly full, so the used indices are read once into an IndexAllocator, and a full
    list makes way for the next one.
    """
    lst = current_status_list(session, settings=settings, now=now)
    while True:
        assert lst.id is not None
        for _ in range(_RANDOM_DRAWS):
            idx = secrets.randbelow(lst.size)
            if not _index_used(session, lst.id, idx):
                return lst, idx
        used = session.execute(
            sa.select(_CERT.c.status_idx).where(_CERT.c.status_list_id == lst.id)
        ).scalars()
        try:
            return lst, IndexAllocator(lst.size, used).allocate()
        except StatusListError:
            nxt = _new_status_list(session, settings=settings, ordinal=lst.ordinal + 1, now=now)
            lst = nxt or current_status_list(session, settings=settings, now=now)


# --- issuing -----------------------------------------------------------------------------


def _public(row: Certificate, *, settings: IssuerSettings, status_uri: str) -> CertificatePublic:
    qt = QualificationType(row.qualification_type)
    verify_url = qr_url(settings.verifier_url, row.qr_token)
    return CertificatePublic(
        certificate_number=row.certificate_number,
        version=row.version,
        elicence_id=row.elicence_id,
        status=row.status,
        name=row.name,
        sex=row.sex,
        birth_date=row.birth_date.isoformat(),
        ethnicity=row.ethnicity,
        id_type=row.id_type,
        id_number_masked=row.id_number_masked,
        qualification_type=qt.slug,
        qualification_name=qt.name_zh,
        subject=row.subject,
        certified_on=row.certified_on.isoformat(),
        office_name=settings.office_name,
        issued_at=_iso(row.created_at),
        credential=open_credential(
            settings, row.credential_jws, certificate_number=row.certificate_number
        ),
        qr_token=row.qr_token,
        qr_url=verify_url,
        status_list=StatusRef(uri=status_uri, idx=row.status_idx),
        links=CertificateLinks(
            self=f"{settings.public_url}/api/v1/certificates/{row.certificate_number}",
            status_list=status_uri,
            verify=verify_url,
        ),
    )


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


def person_ref(settings: IssuerSettings, id_type: IdType, number: str) -> str:
    """Return the restricted list's person reference (HMAC shared with verifiers)."""
    key = settings.restriction_hmac_key.get_secret_value().encode("utf-8")
    return person_reference(key, id_type, number)


@dataclass(frozen=True)
class Barred:
    """Why the restricted list bars a person (plain values, safe after the session ends)."""

    category: str
    bar_until: dt.date | None


def barred_refs(session: Session, refs: Iterable[str], *, on: dt.date) -> dict[str, Barred]:
    """Return the active restriction barring each of ``refs`` from certification on ``on``:
    ``lost`` bars for ever, ``revoked`` until its bar date (contract section 7)."""
    wanted = sorted(set(refs))
    found: dict[str, Barred] = {}
    r = Restriction.__table__.c  # type: ignore[attr-defined]
    for i in range(0, len(wanted), 500):
        stmt = sa.select(r.person_ref, r.category, r.bar_until).where(
            r.person_ref.in_(wanted[i : i + 500]),
            r.removed_at.is_(None),
            sa.or_(r.category == "lost", r.bar_until.is_(None), r.bar_until > on),
        )
        for ref, category, bar_until in session.execute(stmt):
            found.setdefault(ref, Barred(category, bar_until))
    return found


def barred_error(entry: Barred) -> FieldError:
    """Return the field error for an applicant on the restricted list."""
    if entry.category == "lost":
        return FieldError(
            "id_number",
            "restricted",
            "this person has lost the teacher qualification (restricted list): "
            "no new certificate may be issued",
            "该人员已丧失教师资格（教师资格限制库），不得再认定",
        )
    until = entry.bar_until.isoformat() if entry.bar_until else "-"
    return FieldError(
        "id_number",
        "restricted",
        f"this person's qualification was revoked; re-certification is barred until {until}",
        f"该人员教师资格已被撤销，{until}前不得重新认定",
    )


def check_not_barred(session: Session, app: Applicant, *, settings: IssuerSettings) -> None:
    """Raise ValidationFailed (on ``id_number``) if the restricted list bars ``app``'s person."""
    ref = person_ref(settings, app.id_type, app.id_number)
    entry = barred_refs(session, [ref], on=app.certified_on).get(ref)
    if entry is not None:
        raise ValidationFailed([barred_error(entry)])


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


def _issue(
    session: Session,
    app: ValidApplication,
    *,
    signer: Signer,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
) -> CertificatePublic:
    """Issue ``app`` inside the caller's (write) transaction; the caller commits."""
    check_scope(app, settings=settings)  # every path (one, keyed, batch) passes here
    # Inside the write transaction, so a restriction recorded concurrently is either seen
    # here or recorded after this certificate exists (and then revokes it).
    check_not_barred(session, app, settings=settings)
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    year = app.certified_on.year
    serial = allocate_serial(session, office_id=settings.office_id, year=year)
    facts = certificate_facts(app, settings=settings, serial=serial)
    number, eid = facts.certificate_number, facts.elicence_id
    id_hash = id_number_hash(settings, app)
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
            id_number_hash=id_hash,
            id_number_masked=mask_id(app.id_number),
            subject=app.subject,
            certified_on=app.certified_on,
            elicence_id=eid,
            status_list_id=lst.id,  # type: ignore[arg-type]
            status_idx=idx,
            credential_jws=seal_credential(settings, tokens.credential, certificate_number=number),
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
            # Only a concurrent writer taking the same (list, index) is worth a new draw.
            if "status_idx" not in str(exc.orig) or attempt == _INDEX_RETRIES - 1:
                raise
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
    return _public(row, settings=settings, status_uri=lst.uri)


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
    """
    app = validate_application(request.model_dump(), today=office_date(now), settings=settings)
    begin_write(session)
    try:
        public = _issue(session, app, signer=signer, settings=settings, actor=actor, now=now)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return public


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """An answer exactly as first sent: replays return the same bytes and status."""

    status_code: int
    body: bytes
    replayed: bool


def request_hash(request: CertificateCreate) -> str:
    """Return the SHA-256 identifying a request body (field order and spacing ignored)."""
    text = json.dumps(request.model_dump(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _idempotency_context(principal: str, key: str) -> str:
    """What a saved answer is sealed to (it holds the credential, hence the id number)."""
    return f"idempotency:{len(principal)}:{principal}:{key}"


def _replay(
    session: Session, *, principal: str, key: str, digest: str, settings: IssuerSettings
) -> StoredResponse:
    t: sa.Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
    found = session.execute(
        sa.select(t.c.request_hash, t.c.status_code, t.c.response_json).where(
            t.c.principal == principal, t.c.key == key
        )
    ).first()
    session.rollback()
    if found is None or found.status_code is None or found.response_json is None:
        raise IdempotencyPending(
            "A request with this Idempotency-Key is still in progress",
            "使用该幂等键的请求仍在处理中",
        )
    if not hmac.compare_digest(found.request_hash, digest):
        raise IdempotencyMismatch(
            "Idempotency-Key reused with a different request body",
            "幂等键已用于另一个不同的请求",
            "Send a new Idempotency-Key for a different certificate.",
            "签发另一份证书请使用新的幂等键。",
        )
    body = open_text(settings, found.response_json, context=_idempotency_context(principal, key))
    return StoredResponse(found.status_code, body.encode("utf-8"), replayed=True)


def issue_certificate_idempotent(
    session: Session,
    *,
    key: str,
    principal: str,
    request: CertificateCreate,
    signer: Signer,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
) -> StoredResponse:
    """Issue under an Idempotency-Key: the first request issues, repeats replay its answer.

    The key's record is the transaction's first insert; its unique constraint makes a
    concurrent duplicate wait for the first to commit and then replay it (or proceed, if
    the first rolled back). The same key with another body raises IdempotencyMismatch.
    Invalid input raises ValidationFailed and records nothing.
    """
    app = validate_application(request.model_dump(), today=office_date(now), settings=settings)
    digest = request_hash(request)
    begin_write(session)
    rec = IdempotencyRecord(principal=principal, key=key, request_hash=digest, created_at=now)
    try:
        session.add(rec)
        session.flush()
    except IntegrityError:
        session.rollback()
        return _replay(session, principal=principal, key=key, digest=digest, settings=settings)
    try:
        public = _issue(session, app, signer=signer, settings=settings, actor=actor, now=now)
        body = public.model_dump_json()
        sealed = seal_text(settings, body, context=_idempotency_context(principal, key))
        rec.status_code, rec.response_json = 201, sealed
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return StoredResponse(201, body.encode("utf-8"), replayed=False)


# --- reading -----------------------------------------------------------------------------


def _not_found(number: str) -> NotFound:
    return NotFound(
        "No such certificate",
        "证书不存在",
        f"No certificate numbered {number}.",
        "没有该号码的证书。",
    )


def certificate_row(session: Session, *, number: str) -> Certificate:
    """Return the row of certificate ``number`` (its latest version); raises NotFound."""
    query = sa.select(Certificate).where(_CERT.c.certificate_number == number)
    row = session.scalars(query).first()
    if row is None:
        raise _not_found(number)
    return row


def get_certificate(
    session: Session, *, number: str, settings: IssuerSettings
) -> CertificatePublic:
    """Return the latest version of certificate ``number``; raises NotFound."""
    row = session.execute(
        sa.select(Certificate, _LIST.c.uri)
        .join(_LIST, _LIST.c.id == _CERT.c.status_list_id)
        .where(_CERT.c.certificate_number == number)
    ).first()
    if row is None:
        raise _not_found(number)
    return _public(row[0], settings=settings, status_uri=row[1])


def _sign_status_list(
    row: StatusListRow, *, signer: Signer, settings: IssuerSettings, now: dt.datetime
) -> str:
    iat = int(now.timestamp())
    claims = status_list_claims(
        StatusList.from_bytes(row.data, row.bits),
        uri=row.uri,
        iat=iat,
        exp=iat + settings.status_exp_seconds,
        ttl=settings.status_ttl_seconds,
    )
    return encode_jws({"typ": STATUS_LIST_TYP}, claims, signer)


def _cache_fresh(row: StatusListRow, *, settings: IssuerSettings, now: dt.datetime) -> bool:
    """Return True if ``row``'s cached token is of its current revision and younger than
    half the ttl (so a verifier caching it for ``ttl`` never holds it past 1.5 ttl)."""
    if row.signed_token is None or row.signed_revision != row.revision or row.signed_at is None:
        return False
    at = row.signed_at
    at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at
    age = (now - at).total_seconds()
    return 0 <= age < settings.status_ttl_seconds / 2


def publish_status_list(
    session: Session, *, list_id: int, signer: Signer, settings: IssuerSettings, now: dt.datetime
) -> str:
    """Sign status list ``list_id`` as it is now and cache the token; return the token.

    Call outside any write transaction (it ends the session's current one). The cache is
    only an optimisation: the token is stored only if the list's ``revision`` is still the
    one signed, so a change committed meanwhile is never hidden behind an older token.
    Raises NotFound.
    """
    session.rollback()
    row = session.get(StatusListRow, list_id, populate_existing=True)
    if row is None or row.office_id != settings.office_id:
        session.rollback()
        raise NotFound("No such status list", "状态列表不存在")
    revision = row.revision
    token = _sign_status_list(row, signer=signer, settings=settings, now=now)
    session.rollback()
    try:
        begin_write(session)
        session.execute(
            sa.update(_LIST)
            .where(_LIST.c.id == list_id, _LIST.c.revision == revision)
            .values(signed_token=token, signed_revision=revision, signed_at=now)
        )
        session.commit()
    except sa.exc.OperationalError:  # a busy database: serve the fresh token uncached
        session.rollback()
    return token


def status_list_token(
    session: Session, *, list_id: int, signer: Signer, settings: IssuerSettings, now: dt.datetime
) -> str:
    """Return status list ``list_id`` as a signed Token Status List JWT; raises NotFound.

    Serves the cached token while it is of the list's current revision and younger than
    half the ttl; otherwise signs anew and caches (see :func:`publish_status_list`).
    """
    row = session.get(StatusListRow, list_id)
    if row is None or row.office_id != settings.office_id:
        raise NotFound("No such status list", "状态列表不存在")
    if _cache_fresh(row, settings=settings, now=now):
        assert row.signed_token is not None
        return row.signed_token
    return publish_status_list(session, list_id=list_id, signer=signer, settings=settings, now=now)
