"""Forgeries of the second (SM2 with SM3) signature of a dual-signed e-licence (issue 16),
as tests/verifier/test_forged_signatures.py does for the first: missing, swapped from
another credential, from another key, from a compromised key, outside its key's window,
bit-flipped, out of range, moved or duplicated in the JWS JSON serialization, and absent
when the deployment requires SM2.

Every case goes through ``World().verify(...)`` and must end ``not_valid`` with the
expected reason code. Case ids name the defect.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from credential import parse_jws_json
from credential._sm2 import N
from tests.factory import World, signer
from tests.factory.forgery import (
    POLICY,
    Forgery,
    assert_refused,
    assert_unique_ids,
    b64d,
    b64u,
    run,
)

OFFICE_SM2 = signer("SM2SM3", kid="11001-sm2-1", seed=11)
W2 = World(office_signer=signer(seed=1), root=signer(kid="root-1", seed=2), sm2_signer=OFFICE_SM2)
ISSUED = [W2.issue(W2.certificate(), idx=2000 + i) for i in range(2)]
GOOD, OTHER = ISSUED
DUAL = W2.dual(GOOD.credential)
DUAL_OTHER = W2.dual(OTHER.credential)
ISSUED_AT = int(parse_jws_json(DUAL).primary.payload["iat"])
REQUIRE = dataclasses.replace(POLICY, require_sm2=True)
DOC = json.loads(DUAL)
SM2_ENTRY = DOC["signatures"][1]
FIRST_ENTRY = DOC["signatures"][0]


def _doc(*entries: dict[str, str], payload: str | None = None, **extra: object) -> str:
    return json.dumps(
        {"payload": payload or DOC["payload"], "signatures": list(entries), **extra},
        separators=(",", ":"),
    )


def _sm2_sig(signature: bytes) -> dict[str, str]:
    return {"protected": SM2_ENTRY["protected"], "signature": b64u(signature)}


def _world(**over: object) -> World:
    return dataclasses.replace(W2, **over)  # type: ignore[arg-type]


def _flip(sig: str, bit: int) -> str:
    raw = bytearray(b64d(sig))
    raw[bit // 8] ^= 1 << (bit % 8)
    return b64u(bytes(raw))


def test_the_dual_signed_credential_is_valid_with_and_without_sm2_required() -> None:
    for policy in (POLICY, REQUIRE):
        for qr in (GOOD.qr_token, None):
            result, _ = run(F("control", reason="", qr=qr, credential=DUAL, policy=policy))
            assert (result.verdict, result.reason) == ("valid", None)
            assert result.certificate is not None
    # without the requirement, the compact form alone stays valid (old certificates)
    result, _ = run(F("control", reason="", credential=GOOD.credential))
    assert result.verdict == "valid"


def F(id: str, *, reason: str, world: World = W2, **kw: object) -> Forgery:
    return Forgery(id, reasons=frozenset({reason}), world=world, **kw)  # type: ignore[arg-type]


def _cases() -> list[Forgery]:
    other_sm2 = signer("SM2SM3", kid="11001-sm2-1", seed=12)  # attacker's key, office's kid
    unlisted = signer("SM2SM3", kid="attacker-sm2", seed=13)
    sig = SM2_ENTRY["signature"]
    raw = b64d(sig)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    out = [
        # missing while required
        F(
            "sm2-required-compact-only",
            credential=GOOD.credential,
            reason="sm2_required",
            policy=REQUIRE,
        ),
        F(
            "sm2-required-json-with-one-signature",
            credential=_doc(FIRST_ENTRY),
            reason="sm2_required",
            policy=REQUIRE,
        ),
        F(
            "sm2-required-qr-and-compact",
            qr=GOOD.qr_token,
            credential=GOOD.credential,
            reason="sm2_required",
            policy=REQUIRE,
        ),
        # swapped: the SM2 signature of another credential of the same office
        F(
            "sm2-signature-from-another-credential",
            credential=_doc(FIRST_ENTRY, json.loads(DUAL_OTHER)["signatures"][1]),
            reason="bad_signature",
        ),
        # the SM2 signature over the QR token's signing input, lifted
        F(
            "sm2-signature-over-the-qr-token",
            credential=_doc(
                FIRST_ENTRY, _sm2_sig(OFFICE_SM2.sign(GOOD.qr_token.rsplit(".", 1)[0].encode()))
            ),
            reason="bad_signature",
        ),
        # another key: the attacker's, under the office's SM2 kid; an unlisted kid
        F(
            "sm2-signature-by-attacker-key-with-office-kid",
            credential=W2.dual(GOOD.credential, other_sm2),
            reason="bad_signature",
        ),
        F(
            "sm2-signature-by-unlisted-key",
            credential=W2.dual(GOOD.credential, unlisted),
            reason="unknown_issuer",
        ),
        # the office's EdDSA key named in the SM2 entry
        F(
            "sm2-entry-naming-the-eddsa-kid",
            credential=W2.dual(
                GOOD.credential, signer("SM2SM3", kid=W2.office_signer.kid, seed=14)
            ),
            reason="bad_signature",
        ),
        # compromised before the credential was issued; outside its window
        F(
            "sm2-key-compromised-before-issue",
            credential=DUAL,
            world=_world(sm2_window={"compromised_at": ISSUED_AT}),
            reason="key_not_valid",
        ),
        F(
            "sm2-key-not-yet-valid-at-issue",
            credential=DUAL,
            world=_world(sm2_window={"nbf": ISSUED_AT + 1}),
            reason="key_not_valid",
        ),
        F(
            "sm2-key-expired-at-issue",
            credential=DUAL,
            world=_world(sm2_window={"exp": ISSUED_AT}),
            reason="key_not_valid",
        ),
        # the SM2 key no longer on the trust list
        F(
            "sm2-key-removed-from-trust-list",
            credential=DUAL,
            world=_world(sm2_signer=None),
            reason="unknown_issuer",
        ),
        # out-of-range and degenerate signature values
        F(
            "sm2-signature-zero",
            credential=_doc(FIRST_ENTRY, _sm2_sig(bytes(64))),
            reason="bad_signature",
        ),
        F(
            "sm2-signature-s-plus-n",
            credential=_doc(
                FIRST_ENTRY, _sm2_sig(raw[:32] + ((s + N) % 2**256).to_bytes(32, "big"))
            ),
            reason="bad_signature",
        ),
        F(
            "sm2-signature-r-s-swapped",
            credential=_doc(FIRST_ENTRY, _sm2_sig(s.to_bytes(32, "big") + r.to_bytes(32, "big"))),
            reason="bad_signature",
        ),
        F(
            "sm2-signature-truncated",
            credential=_doc(FIRST_ENTRY, _sm2_sig(raw[:63])),
            reason="bad_signature",
        ),
        # the serialization bent
        F("sm2-signature-first", credential=_doc(SM2_ENTRY, FIRST_ENTRY), reason="malformed"),
        F(
            "sm2-signature-twice",
            credential=_doc(FIRST_ENTRY, SM2_ENTRY, SM2_ENTRY),
            reason="malformed",
        ),
        F(
            "sm2-entry-with-unprotected-header",
            credential=_doc(FIRST_ENTRY, {**SM2_ENTRY, "header": {"kid": "11001-sm2-1"}}),
            reason="malformed",
        ),
        F(
            "eddsa-signature-in-the-second-entry",
            credential=_doc(FIRST_ENTRY, FIRST_ENTRY),
            reason="malformed",
        ),
        F(
            "json-serialization-extra-member",
            credential=_doc(FIRST_ENTRY, SM2_ENTRY, extra=1),
            reason="malformed",
        ),
        F("json-serialization-no-signatures", credential=_doc(), reason="malformed"),
        # the payload edited: the first signature no longer verifies
        F(
            "payload-of-another-credential-under-both-signatures",
            credential=_doc(FIRST_ENTRY, SM2_ENTRY, payload=json.loads(DUAL_OTHER)["payload"]),
            reason="bad_signature",
        ),
    ]
    for bit in (0, 7, 255, 256, 511):
        out.append(
            F(
                f"sm2-signature-bit-{bit}-flipped",
                credential=_doc(FIRST_ENTRY, {**SM2_ENTRY, "signature": _flip(sig, bit)}),
                reason="bad_signature",
            )
        )
    return out


CASES = _cases()


def test_the_cases_are_many_and_distinct() -> None:
    assert_unique_ids(CASES, at_least=25)


@pytest.mark.parametrize("forgery", CASES, ids=lambda f: f.id)
def test_forged_second_signature_is_refused(forgery: Forgery) -> None:
    assert_refused(forgery)
