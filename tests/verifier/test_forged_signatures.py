"""Forged signatures against the full verification pipeline: no algorithm, HMAC keyed with
the office's public key, hostile or unknown key ids, re-signing by the attacker, header
members that would pick a key, every byte flipped, non-canonical twins, lifted signatures,
and ECDSA's (r, n - s) twin.

Every case goes through ``World().verify(...)`` and must end ``not_valid`` with the
expected reason code, with no exception escaping; the attacker model and the kit are
``tests/factory/forgery.py``. Case ids name the attack.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from credential import canonical_json, encode_jws, parse_jws, qr_url
from tests.factory import VERIFIER_URL, World, signer
from tests.factory.forgery import (
    ALPHABET,
    ATTACKER,
    ATTACKER_ES_WITH_OFFICE_KID,
    ATTACKER_WITH_OFFICE_KID,
    GOOD,
    GOOD_CRED,
    GOOD_QR,
    ISSUED,
    NOT_VALID,
    OFFICE_PUBLIC,
    POLICY,
    QR_HEADER,
    QR_PAYLOAD,
    REFUSED_FORMAT_OR_SIGNATURE,
    Forgery,
    W,
    as_bytes,
    assert_refused,
    assert_unique_ids,
    b64d,
    b64u,
    qr_cases,
    sign_raw,
    with_signature,
)

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_PUB = OFFICE_PUBLIC.key
_PUB = OFFICE_PUBLIC.key
PUBLIC_KEY_FORMS: dict[str, bytes] = {
    "pem": _PUB.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ),
    "der": _PUB.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ),
    "raw": _PUB.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
    "jwk-json": json.dumps(OFFICE_PUBLIC.to_jwk()).encode(),
    "jwk-json-canonical": canonical_json(OFFICE_PUBLIC.to_jwk()),
    "jwk-x": OFFICE_PUBLIC.to_jwk()["x"].encode(),
    "openssh": _PUB.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ),
}


NONE_SPELLINGS: dict[str, Any] = {
    "none": "none",
    "None": "None",
    "NONE": "NONE",
    "nOnE": "nOnE",
    "none-trailing-space": "none ",
    "none-leading-space": " none",
    "none-nul": "none\x00",
    "none-tab": "none\t",
    "fullwidth-none": "ｎｏｎｅ",
    "empty-string": "",
    "json-null": None,
    "json-array-none": ["none"],
    "json-true": True,
}


def alg_none_forgeries() -> list[Forgery]:
    out = []
    sigs = {
        "empty-sig": b"",
        "lifted-sig": GOOD_QR.signature,
        "zero-sig": bytes(64),
        "short-sig": b"\x00",
    }
    for spelling, alg in NONE_SPELLINGS.items():
        header = {**QR_HEADER, "alg": alg}
        for sig_name, sig in sigs.items():
            token = with_signature(header, QR_PAYLOAD, sig)
            out += qr_cases(f"alg-none[{spelling}]-{sig_name}", token, "malformed")
    # alg missing altogether, and an unsecured credential.
    no_alg = {k: v for k, v in QR_HEADER.items() if k != "alg"}
    out += qr_cases("alg-missing", with_signature(no_alg, QR_PAYLOAD, b""), "malformed")
    cred_none = with_signature({**GOOD_CRED.header, "alg": "none"}, dict(GOOD_CRED.payload), b"")
    out.append(Forgery("alg-none-credential", credential=cred_none))
    return out


def hmac_forgeries() -> list[Forgery]:
    out = []
    algs = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    for alg, digest in algs.items():
        for form, secret in PUBLIC_KEY_FORMS.items():
            header = {**QR_HEADER, "alg": alg}
            signing_input = f"{b64u(as_bytes(header))}.{b64u(as_bytes(QR_PAYLOAD))}"
            mac = hmac.new(secret, signing_input.encode("ascii"), digest).digest()
            token = f"{signing_input}.{b64u(mac)}"
            out += qr_cases(f"hmac-{alg}-keyed-with-public-{form}", token, "malformed")
    # An HMAC-SHA512 (64 bytes, the size of an Ed25519 signature) under the honest header.
    for form, secret in PUBLIC_KEY_FORMS.items():
        signing_input = GOOD_QR.signing_input
        mac = hmac.new(secret, signing_input, hashlib.sha512).digest()
        token = f"{signing_input.decode('ascii')}.{b64u(mac)}"
        out += qr_cases(f"hmac-sha512-under-EdDSA-header-{form}", token, "bad_signature")
    cred_header = {**GOOD_CRED.header, "alg": "HS256"}
    si = f"{b64u(as_bytes(cred_header))}.{b64u(as_bytes(dict(GOOD_CRED.payload)))}"
    mac = hmac.new(PUBLIC_KEY_FORMS["pem"], si.encode(), hashlib.sha256).digest()
    out.append(
        Forgery("hmac-HS256-credential-keyed-with-public-pem", credential=f"{si}.{b64u(mac)}")
    )
    return out


HOSTILE_KIDS: dict[str, Any] = {
    "path-traversal": "../../etc/passwd",
    "path-traversal-win": "..\\..\\windows\\win.ini",
    "absolute-path": "/etc/passwd",
    "very-long-65": "k" * 65,
    "very-long-10000": "k" * 10_000,
    "unicode": "密钥-1",
    "unicode-lookalike-digit": "11001-１",
    "empty": "",
    "nul-byte": "11001-1\x00",
    "nul-prefix": "\x0011001-1",
    "sql": "1' OR '1'='1",
    "sql-comment": "11001-1'--",
    "url": "https://evil.cn/jwks.json",
    "url-file": "file:///etc/passwd",
    "newline": "11001-1\n",
    "space-suffix": "11001-1 ",
    "leading-dot": ".11001-1",
    "leading-dash": "-11001-1",
    "json-int": 110011,
    "json-null": None,
    "json-list": ["11001-1"],
    "json-object": {"kid": "11001-1"},
}
UNKNOWN_WELLFORMED_KIDS = {
    "other-office-kid": "11002-1",
    "next-rotation-kid": "11001-2",
    "kid-suffix": "11001-10",
    "kid-case": "11001-1A",
    "root-kid": "root-1",
    "attacker-kid": "attacker-1",
}


def kid_forgeries() -> list[Forgery]:
    out = []
    for name, kid in HOSTILE_KIDS.items():
        header = {**QR_HEADER, "kid": kid}
        for who, key in (("office-signed", W.office_signer), ("attacker-signed", ATTACKER)):
            token = sign_raw(header, QR_PAYLOAD, key)
            out += qr_cases(f"hostile-kid[{name}]-{who}", token, "malformed")
    for name, kid in UNKNOWN_WELLFORMED_KIDS.items():
        header = {**QR_HEADER, "kid": kid}
        for who, key in (("office-signed", W.office_signer), ("attacker-signed", ATTACKER)):
            token = sign_raw(header, QR_PAYLOAD, key)
            out += qr_cases(f"unknown-kid[{name}]-{who}", token, "unknown_issuer")
    # The national root's own key signing a QR token: the root is not an issuing office.
    root_signed = encode_jws({"typ": "jiaozi-qr+jwt"}, QR_PAYLOAD, W.root)
    out += qr_cases("root-key-signs-a-qr-token", root_signed, "unknown_issuer")
    return out


def resign_forgeries() -> list[Forgery]:
    out = []
    for i, issued in enumerate(ISSUED[:6]):
        qr = parse_jws(issued.qr_token)
        cred = parse_jws(issued.credential)
        p = dict(qr.payload)
        out += qr_cases(
            f"resigned-untrusted-key-office-kid-cert{i}",
            sign_raw(dict(qr.header), p, ATTACKER_WITH_OFFICE_KID),
            "bad_signature",
        )
        out += qr_cases(
            f"resigned-untrusted-key-new-kid-cert{i}",
            encode_jws({"typ": "jiaozi-qr+jwt"}, p, ATTACKER),
            "unknown_issuer",
        )
        out += qr_cases(
            f"resigned-untrusted-ES256-office-kid-cert{i}",
            sign_raw({**dict(qr.header), "alg": "ES256"}, p, ATTACKER_ES_WITH_OFFICE_KID),
            "bad_signature",
        )
        out.append(
            Forgery(
                f"resigned-credential-untrusted-key-office-kid-cert{i}",
                credential=sign_raw(
                    dict(cred.header), dict(cred.payload), ATTACKER_WITH_OFFICE_KID
                ),
                reasons=frozenset({"bad_signature"}),
            )
        )
        # Edited claims, re-signed by the attacker under the office kid: a better name.
        edited = {**p, "n": "张伪造", "q": 7}
        out += qr_cases(
            f"edited-claims-resigned-office-kid-cert{i}",
            sign_raw(dict(qr.header), edited, ATTACKER_WITH_OFFICE_KID),
            "bad_signature",
        )
    return out


FORBIDDEN_HEADER_MEMBERS: dict[str, Any] = {
    "jwk-attacker": ATTACKER.public_key().to_jwk(),
    "jwk-office": OFFICE_PUBLIC.to_jwk(),
    "jku": "https://evil.cn/jwks.json",
    "jku-verifier": VERIFIER_URL + "/.well-known/jwks.json",
    "x5u": "https://evil.cn/cert.pem",
    "x5c": ["MIIBszCCAVmgAwIBAgIUQ=="],
    "x5t": "dGh1bWJwcmludA",
    "x5t#S256": "dGh1bWJwcmludA",
    "crit-b64": ["b64"],
    "crit-empty": [],
    "b64-false": False,
    "b64-true": True,
    "zip": "DEF",
    "enc": "A128GCM",
    "iss-in-header": "urn:jiaozi:office:11001",
}


def header_member_forgeries() -> list[Forgery]:
    out = []
    for name, value in FORBIDDEN_HEADER_MEMBERS.items():
        member = name.split("-")[0] if not name.startswith("x5t#") else "x5t#S256"
        if name == "iss-in-header":
            member = "iss"
        header = {**QR_HEADER, member: value}
        for who, key in (("office-signed", W.office_signer), ("attacker-signed", ATTACKER)):
            out += qr_cases(f"header-{name}-{who}", sign_raw(header, QR_PAYLOAD, key), "malformed")
    # b64:false with an unencoded payload (RFC 7797), signed by the office key.
    hdr = b64u(as_bytes({**QR_HEADER, "b64": False, "crit": ["b64"]}))
    raw_payload = canonical_json(QR_PAYLOAD).decode("utf-8")
    sig = W.office_signer.sign(f"{hdr}.{raw_payload}".encode())
    out.append(Forgery("header-b64-false-unencoded-payload", qr=f"{hdr}.{raw_payload}.{b64u(sig)}"))
    # typ of the wrong type, alg of the wrong type.
    for name, header in {
        "typ-int": {**QR_HEADER, "typ": 1},
        "typ-null": {**QR_HEADER, "typ": None},
        "alg-list": {**QR_HEADER, "alg": ["EdDSA"]},
        "header-array": [QR_HEADER],
        "header-string": "EdDSA",
    }.items():
        out += qr_cases(
            f"header-{name}", sign_raw(header, QR_PAYLOAD, W.office_signer), "malformed"
        )
    return out


def _substitute(ch: str) -> str:
    return ALPHABET[(ALPHABET.index(ch) + 17) % 64]


def _canonical_last_substitute(segment: str) -> str:
    """A different last character that is still canonical base64url for this length."""
    allowed = {2: "AQgw", 3: "AEIMQUYcgkosw048"}.get(len(segment) % 4, ALPHABET)
    return next(c for c in allowed if c != segment[-1])


def byte_flip_forgeries() -> list[Forgery]:
    """One base64url character substituted at every position of header, payload, signature."""
    out = []
    h, p, s = GOOD.qr_token.split(".")
    for part_name, seg, rebuild in (
        ("header", h, lambda x: f"{x}.{p}.{s}"),
        ("payload", p, lambda x: f"{h}.{x}.{s}"),
        ("signature", s, lambda x: f"{h}.{p}.{x}"),
    ):
        for i, ch in enumerate(seg):
            last = i == len(seg) - 1
            new = _canonical_last_substitute(seg) if last else _substitute(ch)
            token = rebuild(seg[:i] + new + seg[i + 1 :])
            # A changed signature byte can only fail the signature; a changed payload byte
            # breaks the format (JSON, claims) or the signature; a changed header byte may
            # also turn the kid into another, unknown, well-formed kid. Nothing else.
            reasons = {
                "signature": frozenset({"bad_signature"}),
                "payload": REFUSED_FORMAT_OR_SIGNATURE,
                "header": REFUSED_FORMAT_OR_SIGNATURE | {"unknown_issuer"},
            }[part_name]
            out.append(Forgery(f"flip-{part_name}-pos{i:03d}", qr=token, reasons=reasons))
    return out


def noncanonical_twin_forgeries() -> list[Forgery]:
    """Same bytes, different text: the last character's unused bits set. Must be refused."""
    out = []
    h, p, s = GOOD.qr_token.split(".")
    for part_name, seg, rebuild in (
        ("header", h, lambda x: f"{x}.{p}.{s}"),
        ("payload", p, lambda x: f"{h}.{x}.{s}"),
        ("signature", s, lambda x: f"{h}.{p}.{x}"),
    ):
        rem = len(seg) % 4
        if rem == 0:
            continue
        unused = {2: 4, 3: 2}[rem]
        idx = ALPHABET.index(seg[-1])
        for bits in range(1, 2**unused):
            twin = seg[:-1] + ALPHABET[(idx & ~(2**unused - 1)) | bits]
            assert b64d(twin) == b64d(seg) and twin != seg
            out.append(Forgery(f"noncanonical-twin-{part_name}-bits{bits}", qr=rebuild(twin)))
    return out


def lifted_signature_forgeries() -> list[Forgery]:
    out = []
    for i, other in enumerate(ISSUED[1:6], start=1):
        oq = parse_jws(other.qr_token)
        oc = parse_jws(other.credential)
        lifted = f"{GOOD_QR.signing_input.decode()}.{b64u(oq.signature)}"
        out += qr_cases(f"signature-lifted-from-cert{i}-qr", lifted, "bad_signature")
        swapped_payload = f"{b64u(as_bytes(QR_HEADER))}.{b64u(as_bytes(dict(oq.payload)))}.{b64u(GOOD_QR.signature)}"
        out += qr_cases(f"payload-swapped-from-cert{i}", swapped_payload, "bad_signature")
        cred_lift = f"{GOOD_CRED.signing_input.decode()}.{b64u(oc.signature)}"
        out.append(
            Forgery(
                f"credential-signature-lifted-from-cert{i}",
                credential=cred_lift,
                reasons=frozenset({"bad_signature"}),
            )
        )
        # Both genuine, but of different certificates: the QR's digest binds it to its own.
        out.append(
            Forgery(
                f"qr-of-cert0-with-credential-of-cert{i}",
                qr=GOOD.qr_token,
                credential=other.credential,
                reasons=frozenset({"malformed"}),
            )
        )
    # The credential's signature under the QR's header and payload, and vice versa.
    out += qr_cases(
        "qr-with-credential-signature",
        f"{GOOD_QR.signing_input.decode()}.{b64u(GOOD_CRED.signature)}",
        "bad_signature",
    )
    return out


FORGERIES: list[Forgery] = [
    *alg_none_forgeries(),
    *hmac_forgeries(),
    *kid_forgeries(),
    *resign_forgeries(),
    *header_member_forgeries(),
    *byte_flip_forgeries(),
    *noncanonical_twin_forgeries(),
    *lifted_signature_forgeries(),
]


def test_signature_forgeries_are_many_with_unique_ids() -> None:
    assert_unique_ids(FORGERIES, at_least=1000)


@pytest.mark.parametrize("forgery", FORGERIES, ids=[f.id for f in FORGERIES])
def test_forgery_is_refused(forgery: Forgery) -> None:
    assert_refused(forgery)


# --- ECDSA: the (r, n - s) twin, and status stays per certificate ---------------------------


def _twin(token: str) -> str:
    h, p, s = token.split(".")
    sig = b64d(s)
    r, s_int = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    twin = r.to_bytes(32, "big") + (P256_ORDER - s_int).to_bytes(32, "big")
    return f"{h}.{p}.{b64u(twin)}"


@pytest.fixture(scope="module")
def es256_world() -> World:
    return World(office_signer=signer("ES256"))


@pytest.mark.parametrize("status_value", [1, 2], ids=["revoked", "suspended"])
def test_ecdsa_twin_of_a_revoked_token_is_still_refused(
    es256_world: World, status_value: int
) -> None:
    w = es256_world
    idx = 777 + status_value
    tokens = w.issue(idx=idx)
    w.status.set(idx, status_value)
    snap = w.snapshot()
    twin = _twin(tokens.qr_token)
    assert twin != tokens.qr_token
    # The twin is a good signature (ECDSA is malleable) ...
    parsed = parse_jws(twin)
    assert parsed.verify(w.office_signer.public_key())
    # ... over the same claims, so it names the same status entry and is just as revoked.
    expected = {1: "revoked", 2: "suspended"}[status_value]
    for text in (twin, qr_url(VERIFIER_URL, twin), tokens.qr_token):
        result = w.verify(text, status={snap.uri: snap}, policy=POLICY)
        assert (result.verdict, result.reason) == (NOT_VALID, expected)
    twin_cred = _twin(tokens.credential)
    result = w.verify(None, credential=twin_cred, status={snap.uri: snap})
    assert (result.verdict, result.reason) == (NOT_VALID, expected)


def test_ecdsa_twin_of_a_good_token_is_the_same_certificate(es256_world: World) -> None:
    """Documented: a twin adds no new claim; nothing in Jiaozi keys on signature bytes."""
    w = es256_world
    tokens = w.issue(idx=901)
    snap = w.snapshot()
    result = w.verify(_twin(tokens.qr_token), status={snap.uri: snap})
    assert (result.verdict, result.reason) == ("valid", None)
    assert parse_jws(_twin(tokens.qr_token)).payload == parse_jws(tokens.qr_token).payload


def test_ecdsa_twin_credential_no_longer_binds_to_its_qr(es256_world: World) -> None:
    """The QR binds the credential's exact JWS text, so a malleated credential fails binding."""
    w = es256_world
    tokens = w.issue(idx=902)
    snap = w.snapshot()
    result = w.verify(tokens.qr_token, credential=_twin(tokens.credential), status={snap.uri: snap})
    assert (result.verdict, result.reason) == (NOT_VALID, "malformed")
    assert [c.name for c in result.checks if c.ok is False] == ["binding"]
