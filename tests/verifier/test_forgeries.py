"""Generated forgeries against the full verification pipeline: the threat model as tests.

Every case goes through ``World().verify(...)`` (format, signature, issuer, scope, validity,
status, restriction, binding) and must end ``not_valid`` or ``cannot_determine`` with the
expected reason code, with no exception escaping. Case ids name the attack.

Attacker model: can read every token, URL, status list and trust list, holds the office's
*public* key, has keys of their own, can edit any byte of what they present, and can choose
the transport (bare token, verifier URL, numeric QR transport, pasted text).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from credential import (
    STATUS_LIST_TYP,
    QualificationType,
    StatusListError,
    StatusReference,
    VerificationResult,
    VerifyPolicy,
    canonical_json,
    encode_jws,
    encode_transport,
    load_status_list,
    parse_jws,
    qr_url,
    sign_certificate,
    status_list_claims,
)
from tests.factory import T0, VERIFIER_URL, World, applicants, signer

POLICY = VerifyPolicy(verifier_origin=VERIFIER_URL)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
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


# --- generators, one per attack family ------------------------------------------------------

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


def _world_with_window(**window: int) -> World:
    w = World(office_signer=W.office_signer, root=W.root, key_window=dict(window))
    return w


def key_window_forgeries() -> list[Forgery]:
    out = []
    windows = {
        "used-before-nbf": ({"nbf": T0 - 1800}, T0 - 3600),
        "used-1s-before-nbf": ({"nbf": T0 - 3600}, T0 - 3601),
        "used-after-exp": ({"exp": T0 - 7200}, T0 - 3600),
        "used-at-exp": ({"exp": T0 - 3600}, T0 - 3600),
        "used-after-compromise": ({"compromised_at": T0 - 7200}, T0 - 3600),
        "used-at-compromise": ({"compromised_at": T0 - 3600}, T0 - 3600),
        "compromised-before-nbf-window": (
            {"nbf": T0 - 86400, "compromised_at": T0 - 5000},
            T0 - 3600,
        ),
    }
    for name, (window, issued_at) in windows.items():
        w = _world_with_window(**window)
        tokens = w.issue(issued_at=issued_at)
        for how, text in presentations(tokens.qr_token):
            out.append(
                Forgery(
                    f"key-{name}-qr-{how}",
                    qr=text,
                    reasons=frozenset({"key_not_valid"}),
                    world=w,
                    status={},
                )
            )
        out.append(
            Forgery(
                f"key-{name}-credential",
                credential=tokens.credential,
                reasons=frozenset({"key_not_valid"}),
                world=w,
                status={},
            )
        )
    return out


def scope_forgeries() -> list[Forgery]:
    out = []
    w = World(
        office_signer=W.office_signer, root=W.root, scope=frozenset({QualificationType.PRIMARY})
    )
    snap = w.snapshot()
    by_type: dict[QualificationType, dict[str, str]] = {}
    for row in ROWS:
        by_type.setdefault(QualificationType.parse(row["qualification_type"]), row)
    for qt, row in sorted(by_type.items()):
        if qt is QualificationType.PRIMARY:
            continue
        tokens = w.issue(w.certificate(row))
        for how, text in presentations(tokens.qr_token):
            out.append(
                Forgery(
                    f"out-of-scope-{qt.slug}-qr-{how}",
                    qr=text,
                    reasons=frozenset({"out_of_scope"}),
                    world=w,
                    status={snap.uri: snap},
                )
            )
        out.append(
            Forgery(
                f"out-of-scope-{qt.slug}-credential",
                credential=tokens.credential,
                reasons=frozenset({"out_of_scope"}),
                world=w,
                status={snap.uri: snap},
            )
        )
    return out


def issuer_forgeries() -> list[Forgery]:
    out = []
    for name, iss in {
        "other-office": "urn:jiaozi:office:11002",
        "root": "urn:jiaozi:root",
        "case-changed": "URN:JIAOZI:OFFICE:11001",
        "trailing-space": "urn:jiaozi:office:11001 ",
        "prefix": "urn:jiaozi:office:1100",
        "url": "https://jszg.example.cn",
    }.items():
        tokens = W.issue(issuer=iss)
        out += qr_cases(f"iss-mismatch[{name}]", tokens.qr_token, "unknown_issuer")
        out.append(
            Forgery(
                f"iss-mismatch[{name}]-credential",
                credential=tokens.credential,
                reasons=frozenset({"unknown_issuer"}),
            )
        )
    return out


def duplicate_claim_forgeries() -> list[Forgery]:
    """Hand-built JSON with a repeated key, correctly signed by the office key."""
    out = []
    hdr = canonical_json(QR_HEADER).decode()
    pay = canonical_json(QR_PAYLOAD).decode()
    header_dups = {
        "alg-twice": '{"alg":"none",' + hdr[1:],
        "alg-twice-same": '{"alg":"EdDSA",' + hdr[1:],
        "kid-twice": '{"kid":"attacker-1",' + hdr[1:],
        "typ-twice": hdr[:-1] + ',"typ":"vc+jwt"}',
    }
    for name, text in header_dups.items():
        out += qr_cases(
            f"duplicate-header-{name}", sign_raw(text, pay, W.office_signer), "malformed"
        )
    payload_dups = {
        "iss-twice": pay[:-1] + ',"iss":"urn:jiaozi:office:99999"}',
        "sub-twice": pay[:-1] + ',"sub":"20261100140000001"}',
        "n-twice": '{"n":"张伪造",' + pay[1:],
        "q-twice": pay[:-1] + ',"q":7}',
        "status-twice": pay[:-1] + ',"status":{"status_list":{"idx":1,"uri":"https://evil.cn/s"}}}',
        "nested-idx-twice": pay.replace('"idx":', '"idx":1,"idx":', 1),
        "same-value-twice": pay[:-1] + f',"v":{QR_PAYLOAD["v"]}}}',
    }
    for name, text in payload_dups.items():
        out += qr_cases(
            f"duplicate-payload-{name}", sign_raw(hdr, text, W.office_signer), "malformed"
        )
    return out


def payload_shape_forgeries() -> list[Forgery]:
    out = []
    pay = canonical_json(QR_PAYLOAD).decode()
    shapes = {
        "float-iat": pay.replace(f'"iat":{QR_PAYLOAD["iat"]}', f'"iat":{QR_PAYLOAD["iat"]}.0'),
        "exp-float-iat": pay.replace(f'"iat":{QR_PAYLOAD["iat"]}', '"iat":1.78e9'),
        "float-q": pay.replace(f'"q":{QR_PAYLOAD["q"]}', f'"q":{QR_PAYLOAD["q"]}.0'),
        "nan-v": pay.replace(f'"v":{QR_PAYLOAD["v"]}', '"v":NaN'),
        "infinity-v": pay.replace(f'"v":{QR_PAYLOAD["v"]}', '"v":Infinity'),
        "neg-infinity-v": pay.replace(f'"v":{QR_PAYLOAD["v"]}', '"v":-Infinity'),
        "negative-zero-v": pay.replace(f'"v":{QR_PAYLOAD["v"]}', '"v":-0.0'),
        "huge-exponent": pay.replace(f'"v":{QR_PAYLOAD["v"]}', '"v":1e400'),
        "array": json.dumps([QR_PAYLOAD], ensure_ascii=False),
        "empty-array": "[]",
        "string": '"payload"',
        "number": "42",
        "null": "null",
        "true": "true",
        "empty-object": "{}",
        "not-json": "Example of Ed25519 signing",
        "invalid-utf8": b'{"n":"\xff\xfe"}',
        "lone-surrogate": '{"n":"\\ud800"}',
        "bom-prefixed": "\ufeff" + pay,
        "trailing-garbage": pay + "x",
        "two-objects": pay + pay,
        "deep-nesting": "[" * 2000 + "]" * 2000,
        "q-as-bool": pay.replace(f'"q":{QR_PAYLOAD["q"]}', '"q":true'),
        "q-out-of-range": pay.replace(f'"q":{QR_PAYLOAD["q"]}', '"q":9'),
        "negative-iat": pay.replace(f'"iat":{QR_PAYLOAD["iat"]}', '"iat":-1'),
        "sub-16-digits": pay.replace(
            f'"sub":"{QR_PAYLOAD["sub"]}"', f'"sub":"{QR_PAYLOAD["sub"][:-1]}"'
        ),
        "status-missing": json.dumps(
            {k: v for k, v in QR_PAYLOAD.items() if k != "status"}, ensure_ascii=False
        ),
        "status-extra-member": pay.replace('"status":{', '"status":{"x":1,', 1),
        "status-uri-javascript": pay.replace('"uri":"https://', '"uri":"javascript://', 1),
        "status-idx-negative": pay.replace('"idx":', '"idx":-', 1),
    }
    for name, text in shapes.items():
        out += qr_cases(f"payload-{name}", sign_raw(QR_HEADER, text, W.office_signer), "malformed")
    return out


def typ_swap_forgeries() -> list[Forgery]:
    out = []
    # The credential's payload and signature under a header whose typ says QR.
    for typ in ("jiaozi-qr+jwt", "JWT", "jiaozi-trustlist+jwt", STATUS_LIST_TYP, "VC+JWT"):
        header = {**GOOD_CRED.header, "typ": typ}
        token = with_signature(header, dict(GOOD_CRED.payload), GOOD_CRED.signature)
        out += qr_cases(f"typ-swap-credential-as-{typ}", token, "malformed")
    # QR payload re-signed by the office with the credential typ, or no typ at all.
    for name, header in {
        "qr-claims-typ-vc": {**QR_HEADER, "typ": "vc+jwt"},
        "qr-claims-no-typ": {k: v for k, v in QR_HEADER.items() if k != "typ"},
        "qr-claims-typ-uppercase": {**QR_HEADER, "typ": "JIAOZI-QR+JWT"},
        "qr-claims-typ-statuslist": {**QR_HEADER, "typ": STATUS_LIST_TYP},
    }.items():
        out += qr_cases(
            f"typ-swap-{name}", sign_raw(header, QR_PAYLOAD, W.office_signer), "malformed"
        )
    # Other signed objects of this world presented as a QR token or a credential.
    status_token = W.status_token()
    trust_token = W.trust_token()
    out += qr_cases("status-list-jwt-as-qr", status_token, "malformed")
    out += qr_cases("trust-list-jwt-as-qr", trust_token, "malformed")
    out.append(Forgery("status-list-jwt-as-credential", credential=status_token))
    out.append(Forgery("trust-list-jwt-as-credential", credential=trust_token))
    out.append(Forgery("qr-token-as-credential", credential=GOOD.qr_token))
    return out


def framing_forgeries() -> list[Forgery]:
    """Bytes around or inside a genuine token (whitespace at both ends is allowed)."""
    t = GOOD.qr_token
    url = qr_url(VERIFIER_URL, t)
    cases = {
        "trailing-dot": (t + ".", "malformed"),
        "trailing-x": (t + "x", "malformed"),
        "trailing-A-65-byte-sig": (t + "A", "bad_signature"),
        "trailing-AA-66-byte-sig": (t + "AA", "bad_signature"),
        "trailing-padding": (t + "==", "malformed"),
        "trailing-dot-part": (t + ".e30", "malformed"),
        "trailing-nul": (t + "\x00", "malformed"),
        "trailing-zero-width-space": (t + "\u200b", "malformed"),
        "trailing-slash": (t + "/", "malformed"),
        "trailing-query": (t + "?a=b", "malformed"),
        "trailing-hash": (t + "#", "malformed"),
        "whitespace-inside-space": (t[:100] + " " + t[100:], "malformed"),
        "whitespace-inside-newline": (t[:100] + "\n" + t[100:], "malformed"),
        "whitespace-inside-tab": (t[:300] + "\t" + t[300:], "malformed"),
        "whitespace-around-dot": (t.replace(".", " . ", 1), "malformed"),
        "leading-x": ("x" + t, "malformed"),
        "leading-dot": ("." + t, "malformed"),
        "leading-bom": ("\ufeff" + t, "malformed"),
        "leading-nul": ("\x00" + t, "malformed"),
        "leading-zero-width-space": ("\u200b" + t, "malformed"),
        "quoted": ('"' + t + '"', "malformed"),
        "bearer-prefix": ("Bearer " + t, "malformed"),
        "doubled": (t + t, "malformed"),
        "two-tokens-comma": (t + "," + t, "malformed"),
        "url-trailing-digit": (url + "7", "malformed"),
        "url-trailing-space-in-fragment": (url.replace("#1", "#1 ", 1), "malformed"),
        "url-digits-with-letter": (url + "a", "malformed"),
    }
    return [
        Forgery(f"framing-{name}", qr=text, reasons=frozenset({reason}))
        for name, (text, reason) in cases.items()
    ]


def oversize_forgeries() -> list[Forgery]:
    t = GOOD.qr_token
    limit = 8 * 1024
    big_token = t + "A" * (limit + 1 - len(t))
    assert len(big_token) == limit + 1
    pad_payload = sign_raw(QR_HEADER, {**QR_PAYLOAD, "pad": "x" * (limit)}, W.office_signer)
    ten_mb = 10 * 1024 * 1024
    cases = {
        "token-8KiB+1": dict(qr=big_token),
        "signed-token-over-8KiB": dict(qr=pad_payload),
        "signed-credential-over-8KiB": dict(credential=pad_payload),
        "credential-8KiB+1": dict(credential=big_token),
        "10MB-base64": dict(qr="A" * ten_mb),
        "10MB-token-shape": dict(qr="eyJ" + "A" * ten_mb + ".e30.AA"),
        "10MB-digits": dict(qr="1" * ten_mb),
        "10MB-url": dict(qr=VERIFIER_URL + "/v#" + "1" * ten_mb),
        "10MB-whitespace-wrapped-token": dict(qr=" " * ten_mb + t),
        "10MB-credential": dict(credential="A" * ten_mb),
        "8193-digits": dict(qr="1" + "0" * limit),
        "url-8KiB-fragment": dict(qr=VERIFIER_URL + "/v#" + big_token),
    }
    return [
        Forgery(f"oversize-{name}", reasons=frozenset({"malformed"}), max_seconds=0.5, **kw)
        for name, kw in cases.items()
    ]


ORIGIN_TRICKS = {
    "userinfo-verifier-at-evil": "https://verify.example.cn@evil.cn/v#{t}",
    "userinfo-evil-at-verifier": "https://evil.cn@verify.example.cn/v#{t}",
    "userinfo-with-password": "https://verify.example.cn:pw@evil.cn/v#{t}",
    "suffix-domain": "https://verify.example.cn.evil.cn/v#{t}",
    "prefix-domain": "https://evilverify.example.cn/v#{t}",
    "sibling-subdomain": "https://verify2.example.cn/v#{t}",
    "punycode-lookalike": "https://xn--vrify-bva.example.cn/v#{t}",
    "punycode-prefix": "https://xn--verify-abc.example.cn/v#{t}",
    "cyrillic-e": "https://vеrify.example.cn/v#{t}",
    "ideographic-full-stop": "https://verify。example.cn/v#{t}",
    "fullwidth-host": "https://ｖｅｒｉｆｙ.example.cn/v#{t}",
    "http-downgrade": "http://verify.example.cn/v#{t}",
    "trailing-dot-host": "https://verify.example.cn./v#{t}",
    "other-port": "https://verify.example.cn:8443/v#{t}",
    "explicit-default-port": "https://verify.example.cn:443/v#{t}",
    "zero-padded-port": "https://verify.example.cn:0443/v#{t}",
    "empty-port": "https://verify.example.cn:/v#{t}",
    "path-x": "https://verify.example.cn/x#{t}",
    "path-v-slash": "https://verify.example.cn/v/#{t}",
    "path-double-slash": "https://verify.example.cn//v#{t}",
    "path-dot-segment": "https://verify.example.cn/a/../v#{t}",
    "path-encoded-v": "https://verify.example.cn/%76#{t}",
    "query-before-fragment": "https://verify.example.cn/v?x=1#{t}",
    "token-in-query": "https://verify.example.cn/v?t={t}",
    "backslash-host": "https://verify.example.cn\\@evil.cn/v#{t}",
    "backslash-path": "https://verify.example.cn\\v#{t}",
    "scheme-relative": "//verify.example.cn/v#{t}",
    "no-slashes": "https:verify.example.cn/v#{t}",
    "triple-slash": "https:///verify.example.cn/v#{t}",
    "ftp-scheme": "ftp://verify.example.cn/v#{t}",
    "javascript-scheme": "javascript://verify.example.cn/v#{t}",
    "data-scheme": "data:text/html,verify.example.cn/v#{t}",
    "percent-encoded-dot": "https://verify%2eexample.cn/v#{t}",
    "ipv4-host": "https://127.0.0.1/v#{t}",
    "ipv6-host": "https://[::1]/v#{t}",
    "bad-port": "https://verify.example.cn:99999/v#{t}",
    "whitespace-in-host": "https://verify.example.cn /v#{t}",
}


def origin_forgeries() -> list[Forgery]:
    out = []
    jws = GOOD.qr_token
    digits = encode_transport(jws)
    for name, template in ORIGIN_TRICKS.items():
        out.append(Forgery(f"origin-{name}-transport", qr=template.format(t=digits)))
        out.append(Forgery(f"origin-{name}-jws", qr=template.format(t=jws)))
    # Without a configured origin, no URL is accepted at all.
    out.append(
        Forgery("origin-none-configured", qr=qr_url(VERIFIER_URL, jws), policy=VerifyPolicy())
    )
    return out


def bytes_of(digits: str) -> bytes | None:
    """Inverse of ``digits_of`` (without the version digit); None if not a valid length."""
    body = digits[1:]
    full, tail = divmod(len(body), 17)
    tails = {len(str(256**k - 1)): k for k in range(1, 7)}
    if tail and tail not in tails:
        return None
    out = bytearray()
    for i in range(full):
        value = int(body[17 * i : 17 * i + 17])
        if value >= 256**7:
            return None
        out += value.to_bytes(7, "big")
    if tail:
        value = int(body[17 * full :])
        if value >= 256 ** tails[tail]:
            return None
        out += value.to_bytes(tails[tail], "big")
    return bytes(out)


def _inflate(raw: bytes) -> tuple[bytes, bytes] | None:
    from credential._qr import _DICT_V1  # the format's dictionary (part of the format)

    d = zlib.decompressobj(-15, zdict=_DICT_V1)
    try:
        plain = d.decompress(raw[1 + raw[0] :])
    except zlib.error:
        return None
    if not d.eof or d.unused_data:
        return None
    return raw[1 : 1 + raw[0]], plain


def same_token_as_transport(mutated: str, original: str) -> bool:
    """True if ``mutated`` inflates to exactly what ``original`` does (an independent decode)."""
    a, b = bytes_of(mutated), bytes_of(original)
    if a is None or b is None or not a:
        return False
    ia, ib = _inflate(a), _inflate(b)
    return ia is not None and ia == ib


def transport_forgeries() -> list[Forgery]:
    out = []
    digits = encode_transport(GOOD.qr_token)
    for i in [*range(1, len(digits), 7), len(digits) - 1]:
        flipped = digits[:i] + str((int(digits[i]) + 1) % 10) + digits[i + 1 :]
        if same_token_as_transport(flipped, digits):
            continue  # a flip in the deflate stream's padding bits: not a forgery (see below)
        out.append(
            Forgery(
                f"transport-digit-flip-pos{i:03d}",
                qr=f"{VERIFIER_URL}/v#{flipped}",
                reasons=REFUSED_FORMAT_OR_SIGNATURE,
            )
        )
    for n in (1, 2, 3, 16, 17, 18, 100, len(digits) // 2, len(digits) - 1):
        out.append(Forgery(f"transport-truncated-by-{n}", qr=f"{VERIFIER_URL}/v#{digits[:-n]}"))
    for extra in ("0", "1", "00", "000", "0" * 17, "9" * 17, "0" * 34, "1" * 3):
        out.append(
            Forgery(
                f"transport-appended-{extra[:3]}x{len(extra)}",
                qr=f"{VERIFIER_URL}/v#{digits}{extra}",
            )
        )
    for lead in ("0", "2", "9"):
        out.append(Forgery(f"transport-version-{lead}", qr=f"{VERIFIER_URL}/v#{lead}{digits[1:]}"))
    out.append(
        Forgery(
            "transport-bare-digits-flipped",
            qr=digits[:50] + str((int(digits[50]) + 5) % 10) + digits[51:],
            reasons=REFUSED_FORMAT_OR_SIGNATURE,
        )
    )
    out.append(Forgery("transport-empty", qr=f"{VERIFIER_URL}/v#"))
    out.append(Forgery("transport-only-version", qr=f"{VERIFIER_URL}/v#1"))
    # Chunk out of range: 17 nines are more than 7 bytes can hold.
    out.append(Forgery("transport-chunk-out-of-range", qr=f"{VERIFIER_URL}/v#1" + "9" * 17))
    return out


def deflate_bomb_forgeries() -> list[Forgery]:
    out = []
    header = canonical_json(QR_HEADER)
    for name, size in {"1MB": 1 << 20, "3MB": 3 << 20}.items():
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        body = comp.compress(header + b"\x00" + b'{"n":"' + b"A" * size) + comp.flush()
        digits = digits_of(bytes([64]) + GOOD_QR.signature + body)
        assert len(digits) <= 8 * 1024, "the bomb must fit under the digit limit to test inflation"
        out.append(
            Forgery(f"deflate-bomb-{name}-url", qr=f"{VERIFIER_URL}/v#{digits}", max_seconds=0.5)
        )
        out.append(Forgery(f"deflate-bomb-{name}-bare-digits", qr=digits, max_seconds=0.5))
    # A stream that inflates to just over the token limit.
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = comp.compress(header + b"\x00" + b"B" * (8 * 1024)) + comp.flush()
    out.append(
        Forgery("deflate-inflates-past-limit", qr=digits_of(bytes([64]) + GOOD_QR.signature + body))
    )
    # Not a deflate stream at all, and a stream with trailing bytes.
    out.append(
        Forgery("deflate-garbage", qr=digits_of(bytes([64]) + GOOD_QR.signature + b"\xff" * 40))
    )
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = comp.compress(header + b"\x00" + canonical_json(QR_PAYLOAD)) + comp.flush() + b"\x00junk"
    out.append(
        Forgery("deflate-trailing-bytes", qr=digits_of(bytes([64]) + GOOD_QR.signature + body))
    )
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = comp.compress(header + canonical_json(QR_PAYLOAD)) + comp.flush()
    out.append(
        Forgery("deflate-no-separator", qr=digits_of(bytes([64]) + GOOD_QR.signature + body))
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
    *key_window_forgeries(),
    *scope_forgeries(),
    *issuer_forgeries(),
    *duplicate_claim_forgeries(),
    *payload_shape_forgeries(),
    *typ_swap_forgeries(),
    *framing_forgeries(),
    *oversize_forgeries(),
    *origin_forgeries(),
    *transport_forgeries(),
    *deflate_bomb_forgeries(),
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


def test_there_are_at_least_500_forgeries_with_unique_ids() -> None:
    ids = [f.id for f in FORGERIES]
    assert len(ids) >= 500
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("forgery", FORGERIES, ids=[f.id for f in FORGERIES])
def test_forgery_is_refused(forgery: Forgery) -> None:
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


# --- controls: the genuine article passes, so the refusals above mean something ---------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("bare", GOOD.qr_token),
        ("url-transport", qr_url(VERIFIER_URL, GOOD.qr_token)),
        ("url-jws", f"{VERIFIER_URL}/v#{GOOD.qr_token}"),
        ("pasted-with-whitespace", "  \n" + GOOD.qr_token + "\r\n\t"),
        ("url-uppercase-host", qr_url("https://VERIFY.EXAMPLE.CN", GOOD.qr_token)),
        ("credential-in-qr-slot", GOOD.credential),
    ],
)
def test_genuine_presentations_verify(name: str, text: str) -> None:
    result = W.verify(text, status=STATUS, policy=POLICY)
    assert (result.verdict, result.reason) == ("valid", None), name


def test_genuine_qr_with_its_credential_verifies() -> None:
    result = W.verify(GOOD.qr_token, credential=GOOD.credential, status=STATUS, policy=POLICY)
    assert (result.verdict, result.reason) == ("valid", None)
    assert result.certificate is not None


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


# --- status: revoked, suspended, missing, stale, untrusted ----------------------------------


@pytest.fixture()
def fresh_world() -> World:
    return World()


@pytest.mark.parametrize(("value", "reason"), [(1, "revoked"), (2, "suspended")])
def test_status_revoked_and_suspended(fresh_world: World, value: int, reason: str) -> None:
    tokens = fresh_world.issue(idx=31337)
    fresh_world.status.set(31337, value)
    for qr, cred in (
        (tokens.qr_token, None),
        (None, tokens.credential),
        (tokens.qr_token, tokens.credential),
    ):
        result = fresh_world.verify(qr, credential=cred)
        assert (result.verdict, result.reason) == (NOT_VALID, reason)
        assert result.certificate is not None  # the signature was good; the verdict is not


def test_status_list_missing_cannot_determine(fresh_world: World) -> None:
    tokens = fresh_world.issue()
    for status in ({}, {"https://other.example.cn/statuslists/1": fresh_world.snapshot()}):
        result = fresh_world.verify(tokens.qr_token, status=status)
        assert (result.verdict, result.reason) == ("cannot_determine", "status_unavailable")


def test_status_list_of_another_office_is_not_used(fresh_world: World) -> None:
    other = World(office_id="urn:jiaozi:office:11002", office_signer=signer(kid="11002-1"))
    other_snapshot = other.snapshot()
    tokens = fresh_world.issue()
    result = fresh_world.verify(tokens.qr_token, status={fresh_world.status_uri: other_snapshot})
    assert (result.verdict, result.reason) == ("cannot_determine", "status_unavailable")


def test_status_list_stale_cannot_determine(fresh_world: World) -> None:
    snap = fresh_world.snapshot(iat=T0 - 100_000, ttl=60)
    tokens = fresh_world.issue(issued_at=T0 - 200_000)
    result = fresh_world.verify(tokens.qr_token, status={snap.uri: snap})
    assert (result.verdict, result.reason) == ("cannot_determine", "status_stale")


@pytest.mark.parametrize(
    "who",
    ["attacker-new-kid", "attacker-office-kid", "root-key"],
)
def test_status_list_signed_by_untrusted_key_is_refused(fresh_world: World, who: str) -> None:
    key = {
        "attacker-new-kid": ATTACKER,
        "attacker-office-kid": signer(kid=fresh_world.office_signer.kid),
        "root-key": fresh_world.root,
    }[who]
    with pytest.raises(StatusListError):
        load_status_list(fresh_world.status_token(signer_=key), fresh_world.trust)


def test_status_list_with_a_forged_typ_is_refused(fresh_world: World) -> None:
    claims = status_list_claims(
        fresh_world.status, uri=fresh_world.status_uri, iat=T0 - 60, exp=T0 + 86400, ttl=3600
    )
    for typ in ("jiaozi-qr+jwt", "vc+jwt", "STATUSLIST+JWT"):
        token = encode_jws({"typ": typ}, claims, fresh_world.office_signer)
        with pytest.raises(StatusListError):
            load_status_list(token, fresh_world.trust)


def test_not_yet_valid_and_expired_tokens() -> None:
    """Issued in the future beyond the clock skew; and a credential past its validUntil."""
    future = W.issue(issued_at=T0 + 3600)
    result = W.verify(future.qr_token, status=STATUS)
    assert (result.verdict, result.reason) == (NOT_VALID, "not_yet_valid")
    expired = sign_certificate(
        W.certificate(),
        signer=W.office_signer,
        issuer=W.office_id,
        issued_at=T0 - 7200,
        status=StatusReference(4242, W.status_uri),
        valid_until=T0 - 3600,
    )
    for qr, cred in ((None, expired.credential), (expired.qr_token, expired.credential)):
        result = W.verify(qr, credential=cred, status=STATUS)
        assert (result.verdict, result.reason) == (NOT_VALID, "expired")


# --- accepted on purpose: different text, same signed token -----------------------------------


def test_transport_padding_bit_flips_decode_to_the_same_token() -> None:
    """Flips in the deflate stream's final padding bits inflate to the same bytes, hence to the
    same signed token: accepted, and the claims are exactly the original's. Deflate has many
    encodings of one input, so the transport (unlike the token text) cannot be canonical."""
    digits = encode_transport(GOOD.qr_token)
    equivalent = [
        flipped
        for i in range(1, len(digits))
        for flipped in [digits[:i] + str((int(digits[i]) + 1) % 10) + digits[i + 1 :]]
        if same_token_as_transport(flipped, digits)
    ]
    assert 0 < len(equivalent) < 10
    for flipped in equivalent:
        result = W.verify(f"{VERIFIER_URL}/v#{flipped}", status=STATUS, policy=POLICY)
        assert (result.verdict, result.reason) == ("valid", None)
        assert result.certificate == W.verify(GOOD.qr_token, status=STATUS).certificate


@pytest.mark.parametrize(
    "url",
    [
        "https://verify.exam\tple.cn/v#{t}",
        "https://verify.example.cn/v\n#{t}",
        "https://verify.example.cn/\rv#{t}",
    ],
    ids=["tab-in-host", "newline-before-fragment", "cr-in-path"],
)
def test_control_characters_in_url_are_refused(url: str) -> None:
    """URL parsers (urllib, and the WHATWG parser a phone uses) silently drop ASCII tab/CR/LF,
    so such a URL does not read as the verifier's address yet would open it: refused."""
    for token in (encode_transport(GOOD.qr_token), GOOD.qr_token):
        result = W.verify(url.format(t=token), status=STATUS, policy=POLICY)
        assert (result.verdict, result.reason) == ("not_valid", "malformed")
