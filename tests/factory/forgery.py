"""The attacker's kit for the forgery tests (tests/verifier/test_forged_*.py): the world
the attacker faces, raw token builders, and the one check every forgery must meet.

Attacker model: can read every token, URL, status list and trust list, holds the office's
*public* key, has keys of their own, can edit any byte of what they present, and can choose
the transport (bare token, verifier URL, numeric QR transport, pasted text).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from credential import VerificationResult, VerifyPolicy, canonical_json, parse_jws, qr_url
from tests.factory import VERIFIER_URL, World, applicants, signer

POLICY = VerifyPolicy(verifier_origin=VERIFIER_URL)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
NOT_VALID = "not_valid"
REFUSED_FORMAT_OR_SIGNATURE = frozenset({"malformed", "bad_signature"})


def b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def as_bytes(value: str | bytes | dict[str, Any] | list[Any]) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return canonical_json(value)


def sign_raw(header: Any, payload: Any, key: Any) -> str:
    """A compact JWS over exactly these header/payload bytes, signed by ``key`` (a Signer)."""
    signing_input = f"{b64u(as_bytes(header))}.{b64u(as_bytes(payload))}"
    return f"{signing_input}.{b64u(key.sign(signing_input.encode('ascii')))}"


def with_signature(header: Any, payload: Any, signature: bytes) -> str:
    return f"{b64u(as_bytes(header))}.{b64u(as_bytes(payload))}.{b64u(signature)}"


def digits_of(data: bytes) -> str:
    """Transport v1 numeric form of ``data`` (7-byte chunks, 17 digits; shorter tail)."""
    out = []
    for i in range(0, len(data), 7):
        chunk = data[i : i + 7]
        width = 17 if len(chunk) == 7 else len(str(256 ** len(chunk) - 1))
        out.append(str(int.from_bytes(chunk, "big")).zfill(width))
    return "1" + "".join(out)


# --- the world the attacker faces ----------------------------------------------------------

# Fixed keys: some cases are selected by looking at the token's bytes, and every xdist
# worker must collect the same cases.
W = World(office_signer=signer(seed=1), root=signer(kid="root-1", seed=2))
SNAPSHOT = W.snapshot()
STATUS = {SNAPSHOT.uri: SNAPSHOT}
OFFICE_KID = W.office_signer.kid
ROWS = applicants()
ISSUED = [W.issue(W.certificate(ROWS[i]), idx=1000 + i) for i in range(12)]
GOOD = ISSUED[0]
GOOD_QR = parse_jws(GOOD.qr_token)
GOOD_CRED = parse_jws(GOOD.credential)
QR_HEADER = dict(GOOD_QR.header)
QR_PAYLOAD = dict(GOOD_QR.payload)
ATTACKER = signer(kid="attacker-1")
ATTACKER_ES = signer("ES256", kid="attacker-2")
ATTACKER_WITH_OFFICE_KID = signer(kid=OFFICE_KID)
ATTACKER_ES_WITH_OFFICE_KID = signer("ES256", kid=OFFICE_KID)

OFFICE_PUBLIC = W.office_signer.public_key()


@dataclass(frozen=True)
class Forgery:
    id: str
    qr: str | None = None
    credential: str | None = None
    reasons: frozenset[str] = frozenset({"malformed"})
    world: World = field(default_factory=lambda: W, compare=False)
    status: Any = None
    policy: VerifyPolicy = POLICY
    max_seconds: float | None = None


def presentations(token: str) -> list[tuple[str, str]]:
    """The ways an attacker can hand a QR token to the verifier."""
    out = [("bare", token), ("url-jws", f"{VERIFIER_URL}/v#{token}")]
    try:
        out.append(("url-transport", qr_url(VERIFIER_URL, token)))
    except Exception:
        pass
    return out


def qr_cases(name: str, token: str, reasons: frozenset[str] | str, **kw: Any) -> list[Forgery]:
    rs = frozenset({reasons}) if isinstance(reasons, str) else reasons
    return [
        Forgery(f"{name}-{how}", qr=text, reasons=rs, **kw) for how, text in presentations(token)
    ]


def run(f: Forgery) -> tuple[VerificationResult, float]:
    """Verify through the full pipeline; an escaping exception is a failure of its own."""
    start = time.perf_counter()
    try:
        result = f.world.verify(
            f.qr,
            credential=f.credential,
            status=STATUS if f.status is None else f.status,
            policy=f.policy,
        )
    except Exception as exc:
        pytest.fail(f"{f.id}: exception escaped verify(): {exc!r}")
    return result, time.perf_counter() - start


def assert_unique_ids(forgeries: list[Forgery], at_least: int) -> None:
    """Fail unless there are ``at_least`` forgeries and no two share an id."""
    ids = [f.id for f in forgeries]
    assert len(ids) >= at_least
    assert len(set(ids)) == len(ids)


def assert_refused(forgery: Forgery) -> None:
    """Fail unless ``forgery`` is judged not valid, for one of its expected reasons, with no
    certificate shown unless the signature was good (and within its time bound)."""
    result, elapsed = run(forgery)
    assert isinstance(result, VerificationResult)
    assert result.verdict != "valid"
    assert result.verdict == NOT_VALID, (result.verdict, result.reason)
    assert result.reason in forgery.reasons, (
        result.reason,
        [c for c in result.checks if c.ok is False],
    )
    # Nothing about the certificate is shown unless the signature was good.
    signature_ok = any(c.name == "signature" and c.ok is True for c in result.checks)
    assert result.certificate is None or signature_ok
    if forgery.max_seconds is not None:
        assert elapsed < forgery.max_seconds, f"{forgery.id} took {elapsed:.3f}s"
