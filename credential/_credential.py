"""The e-licence (full credential, contract section 3) and its QR token (section 4).

Both are compact JWS signed by the same office key. The QR token carries short claims
and ``h``, the SHA-256 (base64url) of the full credential's JWS text, which binds a
printed QR to the credential embedded in the PDF.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._b64 import b64url_encode
from ._canonical import MAX_SAFE_INTEGER, canonical_json
from ._errors import MalformedError
from ._iddocs import IdType, mask_id
from ._jws import add_signature, encode_jws, encode_jws_canonical
from ._keys import DualSigner, Signer
from ._kinds import QualificationType, Sex
from ._time import rfc3339

__all__ = [
    "CREDENTIAL_TYP",
    "PHOTO_MEDIA_TYPE",
    "QR_TYP",
    "VC_CONTEXT",
    "VC_TYPE",
    "Certificate",
    "IssuedTokens",
    "QrClaims",
    "StatusReference",
    "credential_claims",
    "credential_digest",
    "photo_claim",
    "photo_digest",
    "photo_digest_of",
    "qr_claims",
    "sign_certificate",
    "sign_purpose_copy",
]

CREDENTIAL_TYP = "vc+jwt"
QR_TYP = "jiaozi-qr+jwt"
VC_CONTEXT = (
    "https://www.w3.org/ns/credentials/v2",
    "https://jiaozi.example.org/ns/teacher-qualification/v1",
)
VC_TYPE = ("VerifiableCredential", "TeacherQualificationCredential")
PHOTO_MEDIA_TYPE = "image/jpeg"
_PHOTO_DIGEST = re.compile(r"sha256-[A-Za-z0-9+/]{43}=")


@dataclass(frozen=True, slots=True)
class StatusReference:
    """Where a token's status lives: entry ``idx`` of the status list at ``uri``."""

    idx: int
    uri: str

    def to_claim(self) -> dict[str, Any]:
        """Return the contract's ``status`` claim value."""
        return {"status_list": {"idx": self.idx, "uri": self.uri}}

    @classmethod
    def from_claim(cls, value: Any) -> StatusReference:
        """Return the reference in a ``status`` claim; raises MalformedError if misshapen."""
        sl = value.get("status_list") if isinstance(value, Mapping) else None
        if not isinstance(sl, Mapping) or set(sl) != {"idx", "uri"} or len(value) != 1:
            raise MalformedError("status claim is not {status_list: {idx, uri}}")
        idx, uri = sl["idx"], sl["uri"]
        if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0:
            raise MalformedError("status idx is not a non-negative integer")
        if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
            raise MalformedError("status uri is not an http(s) URL")
        return cls(idx, uri)


@dataclass(frozen=True, slots=True)
class Certificate:
    """The facts an office certifies (contract section 3 ``credentialSubject``)."""

    certificate_number: str
    name: str
    sex: Sex
    birth_date: dt.date
    id_type: IdType
    id_number: str
    qualification_type: QualificationType
    subject: str
    certified_on: dt.date
    office_name: str
    office_code: str
    elicence_id: str
    version: int = 1
    ethnicity: str | None = None
    # the holder's photo (a JPEG, stored by the office, attached to the signed PDF) bound
    # by its digest: ``sha256-`` and the standard base64 of its SHA-256 (VC 2.0 digestSRI)
    photo_digest: str | None = None

    @property
    def id_number_masked(self) -> str:
        return mask_id(self.id_number)


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """The two signed forms of one certificate version."""

    credential: str
    qr_token: str
    # SHA-256 of the credential's JWS text (what the QR's ``h`` encodes), for callers
    # that record it; not part of the tokens' identity.
    credential_sha256: bytes = field(default=b"", repr=False, compare=False)
    #: with a DualSigner, the credential as a JWS JSON serialization with its SM2
    #: signature too (``add_signature``); ``credential`` stays the compact first signature
    dual: str | None = field(default=None, repr=False)

    @property
    def stored(self) -> str:
        """Return the form the issuer keeps and hands out: the dual one when there is one."""
        return self.dual if self.dual is not None else self.credential


@functools.lru_cache(maxsize=64)
def _iso_utc(ts: int) -> str:
    # (a batch issues thousands of credentials with the same few timestamps)
    return rfc3339(dt.datetime.fromtimestamp(ts, dt.UTC))


# What the claims say of each qualification type (enum properties cost per call).
_QUALIFICATION = {q: (q.slug, int(q), q.name_zh) for q in QualificationType}


def credential_claims(
    cert: Certificate,
    *,
    issuer: str,
    issued_at: int,
    status: StatusReference,
    valid_until: int | None = None,
) -> dict[str, Any]:
    """Return the full credential's JWT payload: the VC plus iss, iat, jti and status."""
    slug, code, name_zh = _QUALIFICATION[cert.qualification_type]
    subject: dict[str, Any] = {
        "name": cert.name,
        "sex": cert.sex.value,
        "birthDate": cert.birth_date.isoformat(),
        "identityDocument": {"type": cert.id_type.value, "number": cert.id_number},
        "qualification": {"type": slug, "code": code, "name": name_zh, "subject": cert.subject},
        "certifiedOn": cert.certified_on.isoformat(),
        "office": {"name": cert.office_name, "code": cert.office_code},
        "certificateNumber": cert.certificate_number,
        "elicenceId": cert.elicence_id,
        "version": cert.version,
    }
    if cert.ethnicity:
        subject["ethnicity"] = cert.ethnicity
    if cert.photo_digest is not None:
        subject["photo"] = photo_claim(cert.photo_digest)
    claims: dict[str, Any] = {
        "@context": list(VC_CONTEXT),
        "id": f"urn:jiaozi:elicence:{cert.elicence_id}",
        "type": list(VC_TYPE),
        "issuer": {"id": issuer, "name": cert.office_name},
        "validFrom": _iso_utc(issued_at),
        "credentialSubject": subject,
        "iss": issuer,
        "iat": issued_at,
        "jti": f"{cert.certificate_number}.{cert.version:03d}",
        "status": status.to_claim(),
    }
    if valid_until is not None:
        claims["validUntil"] = _iso_utc(valid_until)
        claims["exp"] = valid_until
    return claims


def certificate_from_claims(p: Mapping[str, Any]) -> Certificate:
    """Return the certified facts of a full credential payload (the inverse of
    ``credential_claims``); raises MalformedError if it is misshapen."""
    QrClaims.from_credential_payload(p)  # type, issuer and the shared claims first
    subj = p["credentialSubject"]
    doc = subj["identityDocument"]
    qual = subj["qualification"]
    office = subj.get("office")
    if not isinstance(office, Mapping):
        raise MalformedError("office missing")
    ethnicity = subj.get("ethnicity")
    if ethnicity is not None and not isinstance(ethnicity, str):
        raise MalformedError("claim ethnicity not a string")
    photo = photo_digest_of(subj)
    try:
        return Certificate(
            certificate_number=_digits17(_s(subj, "certificateNumber")),
            name=_s(subj, "name"),
            sex=Sex(_s(subj, "sex")),
            birth_date=dt.date.fromisoformat(_date(_s(subj, "birthDate"))),
            id_type=IdType(_s(doc, "type")),
            id_number=_s(doc, "number"),
            qualification_type=_qt(qual.get("code")),
            subject=_s(qual, "subject"),
            certified_on=dt.date.fromisoformat(_date(_s(subj, "certifiedOn"))),
            office_name=_s(office, "name"),
            office_code=_s(office, "code"),
            elicence_id=_s(subj, "elicenceId"),
            version=_i(subj, "version"),
            ethnicity=ethnicity or None,
            photo_digest=photo,
        )
    except ValueError as exc:  # an unknown sex or identity document type
        raise MalformedError(str(exc)) from exc


def photo_claim(digest: str) -> dict[str, str]:
    """Return ``credentialSubject.photo``: the photo's media type and ``digestSRI``.

    Raises MalformedError for a digest that is not ``sha256-`` and 44 base64 characters."""
    if not _PHOTO_DIGEST.fullmatch(digest):
        raise MalformedError("photo digest is not sha256-<base64 of 32 bytes>")
    return {"digestSRI": digest, "mediaType": PHOTO_MEDIA_TYPE}


def photo_digest_of(subject: Mapping[str, Any]) -> str | None:
    """Return the ``digestSRI`` a credential subject binds its photo by, or None when it
    has no ``photo``; raises MalformedError for a misshapen one."""
    photo = subject.get("photo")
    if photo is None:
        return None
    if (
        not isinstance(photo, Mapping)
        or set(photo) != {"digestSRI", "mediaType"}
        or photo["mediaType"] != PHOTO_MEDIA_TYPE
        or not isinstance(photo["digestSRI"], str)
        or not _PHOTO_DIGEST.fullmatch(photo["digestSRI"])
    ):
        raise MalformedError("claim photo is not {digestSRI: sha256-..., mediaType: image/jpeg}")
    return str(photo["digestSRI"])


def photo_digest(jpeg: bytes) -> str:
    """Return the ``digestSRI`` of a photo's bytes: ``sha256-`` and standard base64."""
    return "sha256-" + base64.b64encode(hashlib.sha256(jpeg).digest()).decode("ascii")


def credential_digest(credential_jws: str) -> str:
    """Return base64url(SHA-256(the full credential's JWS text)), the QR's ``h`` claim."""
    return b64url_encode(hashlib.sha256(credential_jws.encode("ascii")).digest())


def qr_claims(
    cert: Certificate,
    *,
    issuer: str,
    issued_at: int,
    status: StatusReference,
    credential_jws: str,
    purpose: str | None = None,
    expires_at: int | None = None,
    credential_sha256: bytes | None = None,
) -> dict[str, Any]:
    """Return the QR token's short claims (contract section 4).

    ``purpose``/``expires_at`` make a purpose-bound copy (加注件): the purpose is printed and
    signed, and the token is not valid after ``expires_at``. ``credential_sha256``: the
    SHA-256 of ``credential_jws`` when the caller has it already.
    """
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": cert.certificate_number,
        "iat": issued_at,
        "n": cert.name,
        "m": cert.id_number_masked,
        "q": int(cert.qualification_type),
        "s": cert.subject,
        "d": cert.certified_on.isoformat(),
        "v": cert.version,
        "status": status.to_claim(),
        "h": credential_digest(credential_jws)
        if credential_sha256 is None
        else b64url_encode(credential_sha256),
    }
    if purpose is not None:
        claims["p"] = purpose
    if expires_at is not None:
        claims["exp"] = expires_at
    return claims


_q = json.encoder.encode_basestring  # what canonical_json does to a str (ensure_ascii off)
_CONTEXT_JSON = canonical_json(list(VC_CONTEXT)).decode("utf-8")
_TYPE_JSON = canonical_json(list(VC_TYPE)).decode("utf-8")
_SEX_TEXT = {m: m.value for m in Sex}
_ID_TYPE_TEXT = {m: m.value for m in IdType}


def _safe_int(v: object) -> bool:
    return type(v) is int and -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER


def _strs(*values: object) -> bool:
    for v in values:
        if type(v) is not str:
            return False
    return True


def _credential_json(
    cert: Certificate, *, issuer: str, issued_at: int, status: StatusReference
) -> bytes | None:
    """Return ``canonical_json(credential_claims(...))`` (no ``valid_until``) put together
    from a template in the canonical key order, or None when a value is not of the exact
    type the template is for (the caller then takes the general path). Tests hold the two
    equal; encoding a lone surrogate raises as canonical_json does."""
    slug, code, name_zh = _QUALIFICATION[cert.qualification_type]
    ethnicity = cert.ethnicity
    photo = cert.photo_digest
    number, eid, version, office_name = (
        cert.certificate_number,
        cert.elicence_id,
        cert.version,
        cert.office_name,
    )
    if not (
        _strs(
            cert.name,
            cert.id_number,
            cert.subject,
            office_name,
            cert.office_code,
            number,
            eid,
            issuer,
            status.uri,
            slug,
            name_zh,
        )
        and (not ethnicity or type(ethnicity) is str)
        and (photo is None or (type(photo) is str and _PHOTO_DIGEST.fullmatch(photo)))
        and _safe_int(code)
        and _safe_int(version)
        and _safe_int(issued_at)
        and _safe_int(status.idx)
        and type(cert.sex) is Sex
        and type(cert.id_type) is IdType
    ):
        return None
    office_q = _q(office_name)
    issuer_q = _q(issuer)
    text = (
        f'{{"@context":{_CONTEXT_JSON},"credentialSubject":{{'
        f'"birthDate":"{cert.birth_date.isoformat()}",'
        f'"certificateNumber":{_q(number)},'
        f'"certifiedOn":"{cert.certified_on.isoformat()}",'
        f'"elicenceId":{_q(eid)},'
        + (f'"ethnicity":{_q(ethnicity)},' if ethnicity else "")
        + f'"identityDocument":{{"number":{_q(cert.id_number)},'
        f'"type":{_q(_ID_TYPE_TEXT[cert.id_type])}}},'
        f'"name":{_q(cert.name)},'
        f'"office":{{"code":{_q(cert.office_code)},"name":{office_q}}},'
        + (
            f'"photo":{{"digestSRI":"{photo}","mediaType":"{PHOTO_MEDIA_TYPE}"}},'
            if photo is not None
            else ""
        )
        + f'"qualification":{{"code":{code},"name":{_q(name_zh)},'
        f'"subject":{_q(cert.subject)},"type":{_q(slug)}}},'
        f'"sex":{_q(_SEX_TEXT[cert.sex])},"version":{version}}},'
        f'"iat":{issued_at},"id":{_q(f"urn:jiaozi:elicence:{eid}")},'
        f'"iss":{issuer_q},"issuer":{{"id":{issuer_q},"name":{office_q}}},'
        f'"jti":{_q(f"{number}.{version:03d}")},'
        f'"status":{{"status_list":{{"idx":{status.idx},"uri":{_q(status.uri)}}}}},'
        f'"type":{_TYPE_JSON},"validFrom":"{_iso_utc(issued_at)}"}}'
    )
    return _utf8(text)


def _utf8(text: str) -> bytes:
    """Return ``text`` as UTF-8; a lone surrogate is malformed, as canonical_json says."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedError("string is not valid Unicode") from exc


def _qr_json(
    cert: Certificate,
    *,
    issuer: str,
    issued_at: int,
    status: StatusReference,
    credential_sha256: bytes,
) -> bytes | None:
    """Return ``canonical_json(qr_claims(...))`` (no purpose, no expiry) from a template
    in the canonical key order, or None (see ``_credential_json``)."""
    number, version, idx = cert.certificate_number, cert.version, status.idx
    if not (
        _strs(number, cert.name, cert.id_number, cert.subject, issuer, status.uri)
        and _safe_int(version)
        and _safe_int(issued_at)
        and _safe_int(idx)
        and type(cert.qualification_type) is QualificationType
    ):
        return None
    text = (
        f'{{"d":"{cert.certified_on.isoformat()}",'
        f'"h":"{b64url_encode(credential_sha256)}",'
        f'"iat":{issued_at},"iss":{_q(issuer)},'
        f'"m":{_q(cert.id_number_masked)},"n":{_q(cert.name)},'
        f'"q":{int(cert.qualification_type)},"s":{_q(cert.subject)},'
        f'"status":{{"status_list":{{"idx":{idx},"uri":{_q(status.uri)}}}}},'
        f'"sub":{_q(number)},"v":{version}}}'
    )
    return _utf8(text)


def sign_certificate(
    cert: Certificate,
    *,
    signer: Signer,
    issuer: str,
    issued_at: int,
    status: StatusReference,
    valid_until: int | None = None,
) -> IssuedTokens:
    """Return the signed full credential and QR token for ``cert``.

    Raises MalformedError if a field has no canonical JSON form.
    """
    # The usual credential and QR token are put together from templates (the same bytes
    # as canonical_json of their claims: tests hold them equal), else the general path.
    fast = (
        _credential_json(cert, issuer=issuer, issued_at=issued_at, status=status)
        if valid_until is None
        else None
    )
    if fast is not None:
        credential = encode_jws_canonical(CREDENTIAL_TYP, fast, signer)
    else:
        credential = encode_jws(
            {"typ": CREDENTIAL_TYP},
            credential_claims(
                cert, issuer=issuer, issued_at=issued_at, status=status, valid_until=valid_until
            ),
            signer,
        )
    digest = hashlib.sha256(credential.encode("ascii")).digest()
    fast = _qr_json(
        cert, issuer=issuer, issued_at=issued_at, status=status, credential_sha256=digest
    )
    if fast is not None:
        qr = encode_jws_canonical(QR_TYP, fast, signer)
    else:
        qr = encode_jws(
            {"typ": QR_TYP},
            qr_claims(
                cert,
                issuer=issuer,
                issued_at=issued_at,
                status=status,
                credential_jws=credential,
                credential_sha256=digest,
            ),
            signer,
        )
    dual = add_signature(credential, signer.sm2) if isinstance(signer, DualSigner) else None
    return IssuedTokens(credential, qr, digest, dual)


def sign_purpose_copy(
    cert: Certificate,
    *,
    signer: Signer,
    issuer: str,
    issued_at: int,
    status: StatusReference,
    credential_jws: str,
    purpose: str,
    expires_at: int,
) -> str:
    """Return the QR token of a purpose-bound copy (加注件) of ``cert``.

    The same header and short claims as the certificate's own QR token (bound to
    ``credential_jws`` by ``h``, pointing at the same status entry), plus ``p`` (the
    purpose) and ``exp``: verifiers show the purpose and answer ``expired`` after
    ``expires_at``. Raises MalformedError for an empty purpose or an expiry not after
    ``issued_at``.
    """
    if not purpose.strip():
        raise MalformedError("a purpose-bound copy needs a purpose")
    if expires_at <= issued_at:
        raise MalformedError("a purpose-bound copy must expire after it is made")
    return encode_jws(
        {"typ": QR_TYP},
        qr_claims(
            cert,
            issuer=issuer,
            issued_at=issued_at,
            status=status,
            credential_jws=credential_jws,
            purpose=purpose,
            expires_at=expires_at,
        ),
        signer,
    )


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QrClaims:
    """The claims both token kinds share, as the verification pipeline uses them."""

    issuer: str
    certificate_number: str
    issued_at: int
    name: str
    id_number_masked: str
    qualification_type: QualificationType
    subject: str
    certified_on: str
    version: int
    status: StatusReference
    digest: str | None = None
    purpose: str | None = None
    expires_at: int | None = None
    photo_digest: str | None = None  # a full credential's bound photo (never in a QR)

    @classmethod
    def from_qr_payload(cls, p: Mapping[str, Any]) -> QrClaims:
        """Return the claims of a QR token payload; raises MalformedError if misshapen."""
        exp = p.get("exp")
        return cls(
            issuer=_s(p, "iss"),
            certificate_number=_digits17(_s(p, "sub")),
            issued_at=_i(p, "iat"),
            name=_s(p, "n"),
            id_number_masked=_s(p, "m"),
            qualification_type=_qt(p.get("q")),
            subject=_s(p, "s"),
            certified_on=_date(_s(p, "d")),
            version=_i(p, "v"),
            status=StatusReference.from_claim(p.get("status")),
            digest=_s(p, "h"),
            purpose=_s(p, "p") if "p" in p else None,
            expires_at=_i(p, "exp") if exp is not None else None,
        )

    @classmethod
    def from_credential_payload(cls, p: Mapping[str, Any]) -> QrClaims:
        """Return the shared claims of a full credential payload; raises MalformedError."""
        if list(p.get("type") or []) != list(VC_TYPE):
            raise MalformedError("type is not a TeacherQualificationCredential")
        subj = p.get("credentialSubject")
        if not isinstance(subj, Mapping):
            raise MalformedError("credentialSubject missing")
        doc = subj.get("identityDocument")
        qual = subj.get("qualification")
        if not isinstance(doc, Mapping) or not isinstance(qual, Mapping):
            raise MalformedError("identityDocument or qualification missing")
        issuer = p.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        iss = _s(p, "iss")
        if issuer_id != iss:
            raise MalformedError("issuer and iss differ")
        exp = p.get("exp")
        return cls(
            issuer=iss,
            certificate_number=_digits17(_s(subj, "certificateNumber")),
            issued_at=_i(p, "iat"),
            name=_s(subj, "name"),
            id_number_masked=mask_id(_s(doc, "number")),
            qualification_type=_qt(qual.get("code")),
            subject=_s(qual, "subject"),
            certified_on=_date(_s(subj, "certifiedOn")),
            version=_i(subj, "version"),
            status=StatusReference.from_claim(p.get("status")),
            expires_at=_i(p, "exp") if exp is not None else None,
            photo_digest=photo_digest_of(subj),
        )


def _s(p: Mapping[str, Any], name: str) -> str:
    v = p.get(name)
    if not isinstance(v, str) or not v:
        raise MalformedError(f"claim {name} missing or not a string")
    return v


def _i(p: Mapping[str, Any], name: str) -> int:
    v = p.get(name)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise MalformedError(f"claim {name} missing or not a non-negative integer")
    return v


def _digits17(v: str) -> str:
    if len(v) != 17 or not v.isascii() or not v.isdigit():
        raise MalformedError("certificate number is not 17 digits")
    return v


def _date(v: str) -> str:
    try:
        dt.date.fromisoformat(v)
    except ValueError as exc:
        raise MalformedError("date is not YYYY-MM-DD") from exc
    if len(v) != 10:
        raise MalformedError("date is not YYYY-MM-DD")
    return v


def _qt(v: Any) -> QualificationType:
    if not isinstance(v, int) or isinstance(v, bool):
        raise MalformedError("qualification type code is not an integer")
    try:
        return QualificationType(v)
    except ValueError as exc:
        raise MalformedError("qualification type code outside 1-7") from exc
