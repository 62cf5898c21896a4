"""Offline verification of a QR token against raw Ed25519 verification (goal 0.6)."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bench._harness import interleaved
from credential import (
    STATUS_LIST_TYP,
    Certificate,
    IdType,
    KeySigner,
    Office,
    QualificationType,
    Sex,
    StatusList,
    StatusReference,
    TrustList,
    VerifyPolicy,
    encode_jws,
    load_status_list,
    qr_url,
    sign_certificate,
    status_list_claims,
    verify,
)

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
T0 = int(NOW.timestamp())


def run() -> dict[str, float]:
    signer = KeySigner(Ed25519PrivateKey.generate(), "11001-1")
    office = Office(
        "urn:jiaozi:office:11001",
        "北京市教育委员会教师资格认定中心",
        "11",
        "001",
        frozenset(QualificationType),
        (signer.public_key(),),
    )
    trust = TrustList(1, T0 - 86400, (office,))
    uri = "https://jszg.example.cn/statuslists/1"
    sl = StatusList(131072, 2)
    snap = load_status_list(
        encode_jws(
            {"typ": STATUS_LIST_TYP},
            status_list_claims(sl, uri=uri, iat=T0 - 60, exp=T0 + 86400, ttl=3600),
            signer,
        ),
        trust,
    )
    status = {uri: snap}
    cert = Certificate(
        "20261100130000001",
        "欧阳子涵",
        Sex.FEMALE,
        dt.date(1990, 1, 2),
        IdType.RESIDENT_ID,
        "110105199001020021",
        QualificationType.SENIOR_MIDDLE,
        "心理健康教育",
        dt.date(2026, 6, 30),
        "北京市教育委员会教师资格认定中心",
        "11001",
        "1.2.156.3005.2.11100000000013338W009.11330105002500287C.20261100130000001.001.0",
    )
    tokens = sign_certificate(
        cert,
        signer=signer,
        issuer=office.id,
        issued_at=T0 - 3600,
        status=StatusReference(77777, uri),
    )
    token = tokens.qr_token
    url = qr_url("https://verify.example.cn", token)
    policy = VerifyPolicy(verifier_origin="https://verify.example.cn")
    assert verify(token, trust=trust, status=status, now=NOW).valid
    assert verify(url, trust=trust, status=status, now=NOW, policy=policy).valid

    pub = signer.public_key().key
    assert isinstance(pub, Ed25519PublicKey)  # the baseline is raw Ed25519
    h, p, s = token.split(".")
    from credential import b64url_decode

    msg, sig = f"{h}.{p}".encode(), b64url_decode(s)

    rates = interleaved(
        {
            "raw_ed25519_verify_per_s": lambda: pub.verify(sig, msg),
            "qr_token_verify_per_s": lambda: verify(token, trust=trust, status=status, now=NOW),
            "qr_url_verify_per_s": lambda: verify(
                url, trust=trust, status=status, now=NOW, policy=policy
            ),
        }
    )
    rates["qr_token_verify_ratio"] = (
        rates["qr_token_verify_per_s"] / rates["raw_ed25519_verify_per_s"]
    )
    rates["qr_url_verify_ratio"] = rates["qr_url_verify_per_s"] / rates["raw_ed25519_verify_per_s"]
    rates["qr_token_verify_goal"] = 0.6
    rates["qr_token_chars"] = len(token)
    rates["qr_url_chars"] = len(url)
    return rates
