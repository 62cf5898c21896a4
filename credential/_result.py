"""The verification result (contract section 8): one bottom line, and the checks behind it."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ._time import rfc3339

__all__ = [
    "CHECK_NAMES",
    "CertificateView",
    "Check",
    "Reason",
    "Verdict",
    "VerificationResult",
    "photo_data_url",
]

CHECK_NAMES = (
    "format",
    "signature",
    "issuer_trusted",
    "scope",
    "validity_period",
    "status",
    "restriction",
    "binding",
)


class Verdict(StrEnum):
    VALID = "valid"
    NOT_VALID = "not_valid"
    CANNOT_DETERMINE = "cannot_determine"

    @property
    def zh(self) -> str:
        return {"valid": "有效", "not_valid": "无效", "cannot_determine": "无法确定"}[self.value]


class Reason(StrEnum):
    """Why a verdict is not ``valid``; each maps to exactly one verdict."""

    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_ISSUER = "unknown_issuer"
    KEY_NOT_VALID = "key_not_valid"
    OUT_OF_SCOPE = "out_of_scope"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    LOST = "lost"
    SUSPENDED = "suspended"
    STATUS_UNAVAILABLE = "status_unavailable"
    STATUS_STALE = "status_stale"
    #: an uploaded PDF changed after its signature, or signed by no office's certificate
    FILE_ALTERED = "file_altered"
    #: the deployment requires an SM2 signature (JIAOZI_REQUIRE_SM2) and the e-licence
    #: carries none (an SM2 signature present but wrong is ``bad_signature``)
    SM2_REQUIRED = "sm2_required"
    #: an uploaded PDF's photo is missing, not the one its e-licence binds, or bound by none
    PHOTO_MISMATCH = "photo_mismatch"

    @property
    def verdict(self) -> Verdict:
        if self in (Reason.STATUS_UNAVAILABLE, Reason.STATUS_STALE):
            return Verdict.CANNOT_DETERMINE
        return Verdict.NOT_VALID

    @property
    def zh(self) -> str:
        return _REASON_ZH[self]

    @property
    def en(self) -> str:
        return _REASON_EN[self]


_REASON_ZH = {
    Reason.MALFORMED: "二维码或文件内容不是有效的教师资格电子证照",
    Reason.BAD_SIGNATURE: "签名不正确：内容被篡改或并非由认定机构签发",
    Reason.UNKNOWN_ISSUER: "签发机构不在国家信任列表中",
    Reason.KEY_NOT_VALID: "签发时使用的密钥不在有效期内或已被注销",
    Reason.OUT_OF_SCOPE: "签发机构无权认定该类教师资格",
    Reason.NOT_YET_VALID: "证照尚未生效",
    Reason.EXPIRED: "证照（或加注件）已过有效期",
    Reason.REVOKED: "教师资格已被撤销或证书已作废",
    Reason.LOST: "持证人已丧失教师资格",
    Reason.SUSPENDED: "证书正在调查中，暂停使用",
    Reason.STATUS_UNAVAILABLE: "暂时无法获取证书状态",
    Reason.STATUS_STALE: "证书状态数据已过期，无法确认当前状态",
    Reason.FILE_ALTERED: "PDF文件在认定机构签名后被修改，或其签名并非来自认定机构",
    Reason.SM2_REQUIRED: "本核验服务要求电子证照带有SM2国密签名，该证照没有",
    Reason.PHOTO_MISMATCH: "PDF文件中的持证人照片与电子证照不符（被替换、删除或添加）",
}
_REASON_EN = {
    Reason.MALFORMED: "The QR code or file is not a teacher-qualification e-licence",
    Reason.BAD_SIGNATURE: "The signature does not match: altered, or not issued by an office",
    Reason.UNKNOWN_ISSUER: "The issuing office is not on the national trust list",
    Reason.KEY_NOT_VALID: "The signing key was outside its validity window or compromised",
    Reason.OUT_OF_SCOPE: "The office may not certify this qualification type",
    Reason.NOT_YET_VALID: "The e-licence is not valid yet",
    Reason.EXPIRED: "The e-licence (or purpose-bound copy) has expired",
    Reason.REVOKED: "The qualification was revoked or the certificate cancelled",
    Reason.LOST: "The holder has lost the teacher qualification",
    Reason.SUSPENDED: "The certificate is suspended pending investigation",
    Reason.STATUS_UNAVAILABLE: "The certificate's status cannot be obtained now",
    Reason.STATUS_STALE: "The status data is too old to say what the status is now",
    Reason.FILE_ALTERED: "The PDF was changed after it was signed, or not signed by an office",
    Reason.SM2_REQUIRED: "This verifier requires an SM2 signature on the e-licence; it has none",
    Reason.PHOTO_MISMATCH: "The PDF's photo is not the one the e-licence binds (swapped, removed"
    " or added)",
}


@dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome: ``ok`` True (passed), False (failed) or None (not run)."""

    name: str
    ok: bool | None
    detail: str
    detail_zh: str
    reason: Reason | None = None
    # (English, Chinese) JSON text of ``to_json``, made on first use: most checks are
    # module constants of the pipeline, so most are encoded once per process.
    _encoded: tuple[str, str] | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )

    def to_json(self, lang: str = "en") -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail_zh if lang.startswith("zh") else self.detail,
        }

    def json_text(self, zh: bool) -> str:
        """Return ``to_json`` as the JSON text ``json_bytes`` puts in a result."""
        encoded = self._encoded
        if encoded is None:
            encoded = (_dumps(self.to_json("en")), _dumps(self.to_json("zh")))
            object.__setattr__(self, "_encoded", encoded)
        return encoded[1] if zh else encoded[0]


@dataclass(frozen=True, slots=True)
class CertificateView:
    """What a verifier may show of a certificate whose signature is good."""

    certificate_number: str
    name: str
    id_number_masked: str
    qualification_type: str
    qualification_name: str
    subject: str
    issuer: str
    certified_on: str
    version: int
    purpose: str | None = None
    expires_at: str | None = None
    # the digestSRI the e-licence binds the holder's photo by (not in the JSON: the photo
    # check uses it, ``VerificationResult.photo`` shows the photo once it matched)
    photo_digest: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "certificate_number": self.certificate_number,
            "name": self.name,
            "id_number_masked": self.id_number_masked,
            "qualification_type": self.qualification_type,
            "qualification_name": self.qualification_name,
            "subject": self.subject,
            "issuer": self.issuer,
            "certified_on": self.certified_on,
            "version": self.version,
        }
        if self.purpose is not None:
            out["purpose"] = self.purpose
        if self.expires_at is not None:
            out["expires_at"] = self.expires_at
        return out


def photo_data_url(jpeg: bytes) -> str:
    """Return the photo as an inline ``data:`` URL (shown, never stored or fetched)."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


# What Starlette's JSONResponse (and so the verifier before json_bytes) sends. json.dumps
# with these options builds an encoder, and the encoder a C encoder, on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
try:
    _encode_c: Any = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
except (AttributeError, TypeError):  # no C accelerator, or another signature
    _encode_c = None


def _dumps(value: Any) -> str:
    if _encode_c is not None and type(value) is dict:
        return "".join(_encode_c(value, 0))
    return _ENCODER.encode(value)


# Quoted RFC 3339 texts by whole POSIX second: a verifier answers many requests in one
# second, all with the same status_as_of and mostly the same checked_at.
_STAMPS: dict[int, str] = {}


def _stamp_json(t: dt.datetime) -> str:
    if t.tzinfo is None:  # rfc3339 reads it as UTC, timestamp() as local time: no cache
        return _dumps(rfc3339(t))
    second = int(t.timestamp() // 1)
    text = _STAMPS.get(second)
    if text is None:
        if len(_STAMPS) >= 256:
            _STAMPS.clear()
        text = _STAMPS[second] = _dumps(rfc3339(t))
    return text


_HEADS: dict[tuple[str, str | None], str] = {}


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The bottom line (``verdict``, ``reason``) and every check behind it."""

    verdict: Verdict
    reason: Reason | None
    checks: tuple[Check, ...]
    certificate: CertificateView | None
    status_as_of: dt.datetime | None
    checked_at: dt.datetime
    # the holder's photo (JPEG) of an uploaded PDF, set only when it matched the digest the
    # e-licence binds (``with_photo``); shown inline, never stored
    photo: bytes | None = field(default=None, repr=False)

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID

    def check(self, name: str) -> Check:
        """Return the check called ``name``; raises KeyError if there is none."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def with_check(self, check: Check) -> VerificationResult:
        """Return this result with ``check`` (a check of the presented file) appended.

        A failed check with a reason decides the bottom line: a PDF changed after signing
        is ``not_valid`` however genuine its QR and credential are. A check that passed or
        was not run (``ok`` None: the file is not signed) leaves the verdict as it is.
        """
        verdict, reason = self.verdict, self.reason
        if check.ok is False and check.reason is not None:
            verdict, reason = check.reason.verdict, check.reason
        return replace(self, verdict=verdict, reason=reason, checks=(*self.checks, check))

    def with_photo(self, check: Check, photo: bytes | None) -> VerificationResult:
        """Return this result with the photo ``check`` appended (``with_check``) and, when
        the check passed, ``photo`` kept to be shown (``"photo"`` in the JSON)."""
        out = self.with_check(check)
        return replace(out, photo=photo) if check.ok is True and photo is not None else out

    def to_json(self, lang: str = "en") -> dict[str, Any]:
        """Return the contract section 8 JSON object."""
        out: dict[str, Any] = {
            "verdict": self.verdict.value,
            "reason": self.reason.value if self.reason else None,
            "checks": [c.to_json(lang) for c in self.checks],
        }
        # Present only when the signature is good (contract section 8).
        if self.certificate is not None:
            out["certificate"] = self.certificate.to_json()
        if self.photo is not None:
            out["photo"] = photo_data_url(self.photo)
        out["status_as_of"] = rfc3339(self.status_as_of) if self.status_as_of else None
        out["checked_at"] = rfc3339(self.checked_at)
        return out

    def json_bytes(self, lang: str = "en") -> bytes:
        """Return ``to_json(lang)`` as compact UTF-8 JSON, non-ASCII unescaped.

        Exactly the bytes of ``json.dumps(self.to_json(lang), ensure_ascii=False,
        separators=(",", ":"))``, put together from parts encoded once: the opening for
        each verdict and reason, each check, the time stamps of each second.
        """
        zh = lang.startswith("zh")
        reason = self.reason._value_ if self.reason is not None else None
        head_key = (self.verdict._value_, reason)
        head = _HEADS.get(head_key)
        if head is None:  # at most one per verdict and reason
            head = _dumps({"verdict": head_key[0], "reason": reason})[:-1] + ',"checks":['
            _HEADS[head_key] = head
        text = (
            head
            + ",".join([c.json_text(zh) for c in self.checks])
            + "]"
            + (
                ',"certificate":' + _dumps(self.certificate.to_json())
                if self.certificate is not None
                else ""
            )
            + (',"photo":"' + photo_data_url(self.photo) + '"' if self.photo is not None else "")
            + ',"status_as_of":'
            + (_stamp_json(self.status_as_of) if self.status_as_of else "null")
            + ',"checked_at":'
            + _stamp_json(self.checked_at)
            + "}"
        )
        return text.encode("utf-8")
