"""The verification pipeline (contract section 8): a pure function of its inputs.

``verify(qr=..., credential=..., trust=..., status=..., restrictions=..., now=...)`` runs
small checks in a fixed order and returns a frozen ``VerificationResult``. It never
raises for anything a token, URL or file can contain: every failure becomes a check with
``ok=False`` and a reason. Checks fail closed: a check that cannot decide says so, and an
unexpected error inside one counts as a failure, never as a pass.

Order, and what gates what::

    format ─▶ signature ─▶ issuer_trusted ─▶ scope, validity_period, status,
                                             restriction, binding

Nothing after ``signature`` runs on an unverified token, and ``certificate`` is shown only
when the signature is good. The verdict is the first ``not_valid`` reason in check order;
failing that the first ``cannot_determine`` one; failing that ``valid``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ._credential import CREDENTIAL_TYP, QR_TYP, QrClaims, credential_digest
from ._errors import CredentialError, InputTooLargeError, InvalidFieldError, MalformedError
from ._iddocs import IdType, person_key
from ._jws import MAX_TOKEN_LENGTH, ParsedJWS, parse_jws, parse_jws_json
from ._keys import Algorithm, PublicKey
from ._kinds import QualificationType
from ._qr import extract_token
from ._result import CHECK_NAMES, CertificateView, Check, Reason, Verdict, VerificationResult
from ._statuslist import StatusValue
from ._statustoken import StatusSnapshot
from ._time import rfc3339
from ._trust import Office, TrustList

__all__ = [
    "RestrictionLookup",
    "VerifyPolicy",
    "person_reference",
    "verify",
]


class RestrictionLookup(Protocol):
    """The restricted-qualification list as the pipeline asks it (contract section 7)."""

    def category_for(self, *, certificate_number: str, person_ref: str | None) -> str | None:
        """Return ``"lost"`` or ``"revoked"`` if restricted now, else None."""
        ...


def person_reference(key: bytes, id_type: IdType, number: str) -> str:
    """Return the hex HMAC-SHA256 person reference of a document type and number."""
    return hmac.new(key, person_key(id_type, number), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    """Knobs a deployment sets; the defaults are the contract's."""

    verifier_origin: str | None = None
    max_token_length: int = MAX_TOKEN_LENGTH
    clock_skew: int = 300
    status_grace: int = 0
    person_ref_key: bytes | None = field(default=None, repr=False)
    #: a full e-licence must carry a valid SM2 signature (JIAOZI_REQUIRE_SM2); a QR token
    #: alone carries one signature and is judged by it (docs/formats.md, "SM2")
    require_sm2: bool = False


# --- the context checks share ------------------------------------------------------------


@dataclass(slots=True)
class _Ctx:
    qr_text: str | None
    credential_text: str | None
    trust: TrustList
    status: Callable[[str], StatusSnapshot | None]
    restrictions: RestrictionLookup | None
    now: int
    policy: VerifyPolicy
    qr: ParsedJWS | None = None
    cred: ParsedJWS | None = None
    #: the credential's further signatures (the SM2 one of a dual-signed e-licence)
    cred_more: tuple[ParsedJWS, ...] = ()
    more_keys: list[PublicKey] = field(default_factory=list)
    qr_claims: QrClaims | None = None
    cred_claims: QrClaims | None = None
    office: Office | None = None
    keys: list[PublicKey] = field(default_factory=list)
    snapshot: StatusSnapshot | None = None
    status_value: int | None = None
    restriction: str | None = None

    @property
    def claims(self) -> QrClaims:
        c = self.qr_claims or self.cred_claims
        assert c is not None
        return c


def _ok(name: str, en: str, zh: str) -> Check:
    return Check(name, True, en, zh)


# Checks are frozen, so the common outcomes are built once rather than per verification.
_FORMAT_OK = _ok("format", "well-formed", "格式正确")
_SIGNATURE_OK = _ok("signature", "signature verifies", "签名正确")
_SIGNATURE_SM2_OK = _ok(
    "signature", "both signatures verify, SM2 included", "两个签名均正确（含SM2国密签名）"
)
_VALIDITY_OK = _ok("validity_period", "within its validity period", "在有效期内")
_STATUS_OK = _ok("status", "not revoked or suspended", "未被撤销或暂停")
_RESTRICTION_OK = _ok("restriction", "not on the restricted list", "不在教师资格限制库中")
# What a public verifier checks (no person key: issue 12 point 4): this certificate's number
# only; the holder's other certificates are caught through their status.
_RESTRICTION_NUMBER_OK = _ok(
    "restriction",
    "this certificate number is not on its office's restricted list (persons: ask the"
    " national registry)",
    "本证书编号不在发证机关的教师资格限制库中（人员准入查询请至全国登记中心）",
)
_BINDING_OK = _ok("binding", "QR and credential match", "二维码与电子证照一致")


def _fail(name: str, reason: Reason, en: str, zh: str) -> Check:
    return Check(name, False, en, zh, reason)


def _skip(name: str, en: str = "not checked", zh: str = "未检查") -> Check:
    return Check(name, None, en, zh)


_OK_CACHE: dict[tuple[str, str], Check] = {}


def _remember(key: tuple[str, str], check: Check) -> Check:
    if len(_OK_CACHE) > 4096:  # bounded: office names come from the trust list
        _OK_CACHE.clear()
    _OK_CACHE[key] = check
    return check


_NO_RESTRICTION_DATA = _skip("restriction", "no restriction data here", "本地没有限制库数据")
_ONE_FORM = _skip("binding", "only one form presented", "仅提供了一种形式")
_NOT_CHECKED = {name: _skip(name) for name in CHECK_NAMES}


class _Format:
    name = "format"

    def run(self, ctx: _Ctx) -> Check:
        try:
            if ctx.qr_text is not None:
                token = extract_token(
                    ctx.qr_text,
                    verifier_origin=ctx.policy.verifier_origin,
                    max_length=ctx.policy.max_token_length,
                )
                ctx.qr = parse_jws(token, max_length=ctx.policy.max_token_length)
                if ctx.qr.typ == CREDENTIAL_TYP and ctx.credential_text is None:
                    # A full credential pasted where a QR was expected: accept it as such.
                    ctx.cred, ctx.qr = ctx.qr, None
                elif ctx.qr.typ != QR_TYP:
                    raise MalformedError(f"typ {ctx.qr.typ!r} is not a Jiaozi QR token")
                else:
                    ctx.qr_claims = QrClaims.from_qr_payload(ctx.qr.payload)
            if ctx.credential_text is not None:
                if ctx.credential_text.startswith("{"):
                    multi = parse_jws_json(
                        ctx.credential_text, max_length=ctx.policy.max_token_length
                    )
                    ctx.cred, ctx.cred_more = multi.primary, multi.others
                else:
                    ctx.cred = parse_jws(
                        ctx.credential_text, max_length=ctx.policy.max_token_length
                    )
            if ctx.cred is not None:
                if ctx.cred.typ != CREDENTIAL_TYP:
                    raise MalformedError(f"typ {ctx.cred.typ!r} is not a Jiaozi e-licence")
                ctx.cred_claims = QrClaims.from_credential_payload(ctx.cred.payload)
        except CredentialError as exc:
            return _fail(self.name, Reason.MALFORMED, str(exc), f"格式错误：{_malformed_zh(exc)}")
        if ctx.qr is None and ctx.cred is None:
            return _fail(self.name, Reason.MALFORMED, "nothing to verify", "没有可核验的内容")
        return _FORMAT_OK


# Why a key could not sign then (``Key.covers``), as words: (Chinese, English); the code
# itself never reaches a page.
_KEY_WINDOW: dict[str, tuple[str, str]] = {
    "not_yet_valid": ("尚未启用", "not yet in use"),
    "expired": ("已过使用期", "past its period of use"),
    "compromised": ("已被注销（泄露）", "compromised"),
}


def _malformed_zh(exc: CredentialError) -> str:
    """Return what was wrong with unreadable input, in Chinese: a field error's own Chinese
    text, else one plain sentence (the parsers' English details stay in ``detail``)."""
    if isinstance(exc, InvalidFieldError):
        return exc.message_zh
    if isinstance(exc, InputTooLargeError):
        return "内容过长，超出允许的大小"
    return "内容无法识别（不是完整的本系统二维码或电子证照，或已被改动）"


class _Signature:
    name = "signature"

    def run(self, ctx: _Ctx) -> Check:
        for parsed in (ctx.qr, ctx.cred):
            if parsed is None:
                continue
            found = ctx.trust.find_key(parsed.kid)
            if found is None:
                return _fail(
                    self.name,
                    Reason.UNKNOWN_ISSUER,
                    f"key {parsed.kid} is not on the trust list",
                    f"密钥 {parsed.kid} 不在信任列表中",
                )
            office, key = found
            if not parsed.verify(key):
                return _fail(
                    self.name,
                    Reason.BAD_SIGNATURE,
                    "signature does not verify",
                    "签名核验失败",
                )
            if ctx.office is not None and ctx.office.id != office.id:
                return _fail(
                    self.name,
                    Reason.BAD_SIGNATURE,
                    "QR and credential were signed by different offices",
                    "二维码与电子证照由不同机构签名",
                )
            ctx.office = office
            ctx.keys.append(key)
        for parsed in ctx.cred_more:
            found = ctx.trust.find_key(parsed.kid)
            if found is None:
                return _fail(
                    self.name,
                    Reason.UNKNOWN_ISSUER,
                    f"SM2 key {parsed.kid} is not on the trust list",
                    f"SM2密钥 {parsed.kid} 不在信任列表中",
                )
            office, key = found
            if not parsed.verify(key):
                return _fail(
                    self.name,
                    Reason.BAD_SIGNATURE,
                    "SM2 signature does not verify",
                    "SM2签名核验失败",
                )
            if ctx.office is None or ctx.office.id != office.id:
                return _fail(
                    self.name,
                    Reason.BAD_SIGNATURE,
                    "the two signatures were made by different offices",
                    "两个签名来自不同机构",
                )
            ctx.more_keys.append(key)
        if ctx.policy.require_sm2 and ctx.cred is not None:
            if not any(k.alg is Algorithm.SM2SM3 for k in ctx.more_keys):
                return _fail(
                    self.name,
                    Reason.SM2_REQUIRED,
                    "an SM2 signature is required and the e-licence has none",
                    "要求SM2国密签名，该电子证照没有",
                )
            return _SIGNATURE_SM2_OK
        return _SIGNATURE_OK if not ctx.more_keys else _SIGNATURE_SM2_OK


class _IssuerTrusted:
    name = "issuer_trusted"

    def run(self, ctx: _Ctx) -> Check:
        assert ctx.office is not None
        for claims, key in zip(
            [c for c in (ctx.qr_claims, ctx.cred_claims) if c is not None], ctx.keys, strict=True
        ):
            if claims.issuer != ctx.office.id:
                return _fail(
                    self.name,
                    Reason.UNKNOWN_ISSUER,
                    f"iss {claims.issuer} is not the office that owns key {key.kid}",
                    "签发者与签名密钥所属机构不一致",
                )
            why = key.covers(claims.issued_at)
            if why is not None:
                why_zh, why_en = _KEY_WINDOW.get(why, ("不可用", "not usable"))
                return _fail(
                    self.name,
                    Reason.KEY_NOT_VALID,
                    f"key {key.kid} was {why_en} when the token was issued",
                    f"签发时密钥 {key.kid} {why_zh}",
                )
        if ctx.more_keys:
            assert ctx.cred_claims is not None  # further signatures come with a credential
            for key in ctx.more_keys:
                why = key.covers(ctx.cred_claims.issued_at)
                if why is not None:
                    why_zh, why_en = _KEY_WINDOW.get(why, ("不可用", "not usable"))
                    return _fail(
                        self.name,
                        Reason.KEY_NOT_VALID,
                        f"SM2 key {key.kid} was {why_en} when the e-licence was issued",
                        f"签发时SM2密钥 {key.kid} {why_zh}",
                    )
        name = ctx.office.name
        cache_key = (self.name, name)
        return _OK_CACHE.get(cache_key) or _remember(
            cache_key, _ok(self.name, f"issued by {name}", f"由{name}签发，机构在信任列表中")
        )


class _Scope:
    name = "scope"

    def run(self, ctx: _Ctx) -> Check:
        assert ctx.office is not None
        qt = ctx.claims.qualification_type
        if ctx.cred_claims is not None and ctx.cred_claims.qualification_type != qt:
            return _fail(
                self.name, Reason.MALFORMED, "QR and credential differ", "二维码与证照不一致"
            )
        if qt not in ctx.office.qualification_types:
            return _fail(
                self.name,
                Reason.OUT_OF_SCOPE,
                f"{ctx.office.name} may not certify the {qt.name_en.lower()}",
                f"{ctx.office.name}无权认定{qt.name_zh}",
            )
        key = (self.name, qt._name_)  # the member's name: Enum.name/slug are slow properties
        return _OK_CACHE.get(key) or _remember(
            key,
            _ok(
                self.name,
                f"the {qt.name_en.lower()} is within the office's scope",
                f"{qt.name_zh}在机构认定范围内",
            ),
        )


class _ValidityPeriod:
    name = "validity_period"

    def run(self, ctx: _Ctx) -> Check:
        skew = ctx.policy.clock_skew
        for c in (ctx.qr_claims, ctx.cred_claims):
            if c is None:
                continue
            if c.issued_at > ctx.now + skew:
                return _fail(
                    self.name, Reason.NOT_YET_VALID, "issued in the future", "签发时间晚于当前时间"
                )
            if c.expires_at is not None and ctx.now >= c.expires_at:
                return _fail(self.name, Reason.EXPIRED, "past its expiry", "已超过有效期")
        return _VALIDITY_OK


class _Status:
    name = "status"

    def run(self, ctx: _Ctx) -> Check:
        assert ctx.office is not None
        ref = ctx.claims.status
        if ctx.cred_claims is not None and ctx.cred_claims.status != ref:
            return _fail(
                self.name, Reason.MALFORMED, "QR and credential differ", "二维码与证照不一致"
            )
        snap = ctx.status(ref.uri)
        if snap is None or snap.office_id != ctx.office.id:
            return _fail(
                self.name,
                Reason.STATUS_UNAVAILABLE,
                f"no status list for {ref.uri}",
                "没有该证书的状态数据",
            )
        ctx.snapshot = snap
        if ref.idx >= len(snap.status_list):
            return _fail(
                self.name, Reason.MALFORMED, "status index outside the list", "状态索引超出范围"
            )
        value = snap.status_list.get(ref.idx)
        ctx.status_value = value
        # INVALID is final (contract section 5): old data that says revoked stays right.
        if value == StatusValue.INVALID:
            return _fail(self.name, Reason.REVOKED, "revoked", "已撤销（作废）")
        if ctx.now > snap.stale_after(ctx.policy.status_grace):
            return _fail(
                self.name,
                Reason.STATUS_STALE,
                "status data is older than its time-to-live allows",
                "状态数据已超过有效期限",
            )
        if value == StatusValue.VALID:
            return _STATUS_OK
        if value == StatusValue.SUSPENDED:
            return _fail(self.name, Reason.SUSPENDED, "suspended", "已暂停")
        return _fail(self.name, Reason.STATUS_UNAVAILABLE, "unknown status value", "未知状态值")


class _Restriction:
    name = "restriction"

    def run(self, ctx: _Ctx) -> Check:
        if ctx.restrictions is None:
            return _NO_RESTRICTION_DATA
        person_ref = None
        if ctx.cred is not None and ctx.policy.person_ref_key is not None:
            doc = ctx.cred.payload["credentialSubject"]["identityDocument"]
            person_ref = person_reference(
                ctx.policy.person_ref_key, IdType(doc["type"]), doc["number"]
            )
        category = ctx.restrictions.category_for(
            certificate_number=ctx.claims.certificate_number, person_ref=person_ref
        )
        ctx.restriction = category
        if category is None and person_ref is None:
            return _RESTRICTION_NUMBER_OK
        if category == "lost":
            return _fail(
                self.name, Reason.LOST, "holder has lost the qualification", "已丧失教师资格"
            )
        if category == "revoked":
            return _fail(self.name, Reason.REVOKED, "qualification revoked", "教师资格已被撤销")
        if category is not None:
            return _fail(self.name, Reason.REVOKED, "restricted", "在限制库中")
        return _RESTRICTION_OK


class _Binding:
    name = "binding"

    def run(self, ctx: _Ctx) -> Check:
        if ctx.qr_claims is None or ctx.cred is None or ctx.cred_claims is None:
            return _ONE_FORM
        q, c = ctx.qr_claims, ctx.cred_claims
        same = (
            q.digest == credential_digest(ctx.cred.token)
            and q.certificate_number == c.certificate_number
            and q.version == c.version
            and q.issuer == c.issuer
            and q.name == c.name
            and q.id_number_masked == c.id_number_masked
        )
        if not same:
            return _fail(
                self.name,
                Reason.MALFORMED,
                "the QR and the embedded credential are not the same certificate",
                "二维码与内嵌电子证照不一致",
            )
        return _BINDING_OK


class _CheckStep(Protocol):
    name: str

    def run(self, ctx: _Ctx) -> Check: ...


_GATE: tuple[_CheckStep, ...] = (_Format(), _Signature(), _IssuerTrusted())
_REST: tuple[_CheckStep, ...] = (_Scope(), _ValidityPeriod(), _Status(), _Restriction(), _Binding())


def _run(check: _CheckStep, ctx: _Ctx) -> Check:
    try:
        result: Check = check.run(ctx)
    except (CredentialError, KeyError, TypeError, ValueError, AttributeError) as exc:
        # Fail closed: a check that trips over its input has not passed.
        name = check.name
        return _fail(name, Reason.MALFORMED, f"could not check: {exc}", "无法检查")
    return result


_QT_NAMES: dict[int, tuple[str, str]] = {}


def _qt_names(qt: QualificationType) -> tuple[str, str]:
    """Return ``(qt.slug, qt.name_zh)``, looked up by value (enum properties are slow)."""
    names = _QT_NAMES.get(qt._value_)
    if names is None:
        names = _QT_NAMES[qt._value_] = (qt.slug, qt.name_zh)
    return names


def verify(
    qr: str | None = None,
    *,
    credential: str | None = None,
    trust: TrustList,
    status: Mapping[str, StatusSnapshot] | Callable[[str], StatusSnapshot | None],
    restrictions: RestrictionLookup | None = None,
    now: dt.datetime,
    policy: VerifyPolicy = VerifyPolicy(),
) -> VerificationResult:
    """Return the verdict on a QR (URL, transport digits or token) and/or a full credential.

    Pure: no I/O, no clock; status data, restrictions and ``now`` are inputs. Never raises
    for bad input.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    lookup = status.get if isinstance(status, Mapping) else status
    ctx = _Ctx(qr, credential, trust, lookup, restrictions, int(now.timestamp()), policy)
    checks: list[Check] = []
    passed = True
    for check in _GATE:
        if passed:
            outcome = _run(check, ctx)
            passed = outcome.ok is True
        else:
            outcome = _NOT_CHECKED[check.name]
        checks.append(outcome)
    for check in _REST:
        checks.append(_run(check, ctx) if passed else _NOT_CHECKED[check.name])

    failures = [c.reason for c in checks if c.ok is False and c.reason is not None]
    if failures:
        hard = [r for r in failures if r.verdict is Verdict.NOT_VALID]
        # A status of INVALID backed by a "lost" restriction is reported as lost.
        if Reason.LOST in hard:
            reason: Reason | None = Reason.LOST
        else:
            reason = hard[0] if hard else failures[0]
        verdict = reason.verdict if reason else Verdict.VALID
    else:
        reason, verdict = None, Verdict.VALID
    certificate = None
    if passed and ctx.office is not None:
        c = ctx.claims
        slug, name_zh = _qt_names(c.qualification_type)
        certificate = CertificateView(
            certificate_number=c.certificate_number,
            name=c.name,
            id_number_masked=c.id_number_masked,
            qualification_type=slug,
            qualification_name=name_zh,
            subject=c.subject,
            issuer=ctx.office.name,
            certified_on=c.certified_on,
            version=c.version,
            purpose=c.purpose,
            photo_digest=ctx.cred_claims.photo_digest if ctx.cred_claims is not None else None,
            expires_at=(
                rfc3339(dt.datetime.fromtimestamp(c.expires_at, dt.UTC))
                if c.expires_at is not None
                else None
            ),
        )
    status_as_of = ctx.snapshot.as_of if ctx.snapshot else None
    return VerificationResult(verdict, reason, tuple(checks), certificate, status_as_of, now)
