"""SM2 beside EdDSA (issue 16): what the second signature costs, as ratios measured in
this run.

- ``sm2_sign_per_s`` / ``sm2_verify_per_s``: one core, through ``credential``'s wrapper
  (gmssl-pyx for the curve, OpenSSL's SM3 through hashlib, Z_A cached per key) over a
  signing input the size of a credential's (~1,600 bytes); Ed25519 beside it.
- ``batch_dual_ratio``: a dual-signed batch's rate (``jiaozi batch issue`` as bench.batch
  runs it, two forked workers) over an EdDSA-only batch's, same rows, alternated, best
  of each.
- ``verify_dual_ratio``: verifying a QR and its dual-signed e-licence (three signatures:
  QR EdDSA, credential EdDSA, credential SM2) over the same QR and compact e-licence
  (two EdDSA signatures), with ``require_sm2`` on for the dual side.

Both ratios are also given in CPU time (``*_ratio_cpu``: CPU seconds per certificate of
EdDSA over dual, the parent and the pool's workers counted), which other processes on a
shared machine disturb far less than the wall-clock rates: on a loaded machine trust those.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench._harness import interleaved
from bench.batch import applicants, run_batch_once
from credential import (
    STATUS_LIST_TYP,
    Certificate,
    DualSigner,
    IdType,
    KeySigner,
    Office,
    QualificationType,
    Sex,
    Sm2PrivateKey,
    StatusList,
    StatusReference,
    TrustList,
    VerifyPolicy,
    encode_jws,
    load_status_list,
    sign_certificate,
    status_list_claims,
    verify,
)

ROWS = 5_000
NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
T0 = int(NOW.timestamp())
_MESSAGE = b"e" * 1600


def _primitives() -> dict[str, float]:
    sm2 = Sm2PrivateKey.generate()
    sm2_pub = sm2.public_key()
    ed = Ed25519PrivateKey.generate()
    ed_pub = ed.public_key()
    sm2_sig, ed_sig = sm2.sign(_MESSAGE), ed.sign(_MESSAGE)
    got = interleaved(
        {
            "sm2_sign": lambda: sm2.sign(_MESSAGE),
            "sm2_verify": lambda: sm2_pub.verify(_MESSAGE, sm2_sig),
            "ed25519_sign": lambda: ed.sign(_MESSAGE),
            "ed25519_verify": lambda: ed_pub.verify(ed_sig, _MESSAGE),
        }
    )
    return {f"{k}_per_s": v for k, v in got.items()}


def _cpu_per_call(fn: Callable[[], object], calls: int = 2000) -> float:
    """Return CPU seconds per call of ``fn`` (best of three runs of ``calls``)."""
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        for _ in range(calls):
            fn()
        best = min(best, (time.process_time() - t) / calls)
    return best


def _verification() -> dict[str, float]:
    main = KeySigner(Ed25519PrivateKey.generate(), "11001-1")
    sm2 = KeySigner(Sm2PrivateKey.generate(), "11001-sm2-1")
    office = Office(
        "urn:jiaozi:office:11001",
        "北京市教育委员会教师资格认定中心",
        "11",
        "001",
        frozenset(QualificationType),
        (main.public_key(), sm2.public_key()),
    )
    trust = TrustList(1, T0 - 86400, (office,))
    uri = "https://jszg.example.cn/statuslists/1"
    claims = status_list_claims(
        StatusList(131072, 2), uri=uri, iat=T0 - 60, exp=T0 + 86400, ttl=3600
    )
    status = {uri: load_status_list(encode_jws({"typ": STATUS_LIST_TYP}, claims, main), trust)}
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
        signer=DualSigner(main, sm2),
        issuer=office.id,
        issued_at=T0 - 3600,
        status=StatusReference(77777, uri),
    )
    assert tokens.dual is not None
    policy = VerifyPolicy()
    required = dataclasses.replace(policy, require_sm2=True)

    def eddsa() -> object:
        return verify(
            tokens.qr_token,
            credential=tokens.credential,
            trust=trust,
            status=status,
            now=NOW,
            policy=policy,
        )

    def dual() -> object:
        return verify(
            tokens.qr_token,
            credential=tokens.dual,
            trust=trust,
            status=status,
            now=NOW,
            policy=required,
        )

    assert eddsa().valid and dual().valid  # type: ignore[attr-defined]
    got = interleaved({"eddsa": eddsa, "dual": dual})
    cpu_eddsa, cpu_dual = _cpu_per_call(eddsa), _cpu_per_call(dual)
    return {
        "verify_eddsa_cpu_us": cpu_eddsa * 1e6,
        "verify_dual_cpu_us": cpu_dual * 1e6,
        "verify_dual_ratio_cpu": cpu_eddsa / cpu_dual,
        "verify_eddsa_per_s": got["eddsa"],
        "verify_dual_per_s": got["dual"],
        "verify_dual_ratio": got["dual"] / got["eddsa"],
        "credential_chars_compact": float(len(tokens.credential)),
        "credential_chars_dual": float(len(tokens.dual)),
    }


def _batches() -> dict[str, float]:
    data = applicants(ROWS)
    best = {"eddsa": 0.0, "dual": 0.0}
    cpu = {"eddsa": float("inf"), "dual": float("inf")}  # microseconds per certificate
    for _ in range(2):  # alternate, keep the best of each: noise lowers both sides alike
        plain = run_batch_once(data, workers=2, expected=ROWS)
        best["eddsa"] = max(best["eddsa"], plain["rate"])
        cpu["eddsa"] = min(cpu["eddsa"], plain["parent_cpu_us"] + plain["workers_cpu_us"])
        signer = DualSigner(
            KeySigner(Ed25519PrivateKey.generate(), "11001-1"),
            KeySigner(Sm2PrivateKey.generate(), "11001-sm2-1"),
        )
        both = run_batch_once(data, workers=2, expected=ROWS, signer=signer)
        best["dual"] = max(best["dual"], both["rate"])
        cpu["dual"] = min(cpu["dual"], both["parent_cpu_us"] + both["workers_cpu_us"])
    return {
        "batch_eddsa_cpu_us_per_cert": cpu["eddsa"],
        "batch_dual_cpu_us_per_cert": cpu["dual"],
        "batch_dual_ratio_cpu": cpu["eddsa"] / cpu["dual"],
        "batch_5k_eddsa_certs_per_s": best["eddsa"],
        "batch_5k_dual_certs_per_s": best["dual"],
        "batch_dual_ratio": best["dual"] / best["eddsa"],
    }


def run() -> dict[str, float]:
    out = {f"sm2_{k}" if not k.startswith("sm2") else k: v for k, v in _primitives().items()}
    out.update({f"sm2_{k}": v for k, v in _verification().items()})
    out.update({f"sm2_{k}": v for k, v in _batches().items()})
    return out
