"""Forged claims against the full verification pipeline: a key used outside its window,
a qualification type outside the office's scope, another issuer, duplicate members,
misshapen payloads, another type's token presented as this one; and the status list: revoked,
suspended, missing, stale, or signed by anyone but the office.

Every forgery goes through ``World().verify(...)`` and must end ``not_valid`` with the
expected reason code, with no exception escaping (kit: ``tests/factory/forgery.py``).
"""

from __future__ import annotations

import json

import pytest

from credential import (
    STATUS_LIST_TYP,
    QualificationType,
    StatusListError,
    StatusReference,
    canonical_json,
    encode_jws,
    load_status_list,
    sign_certificate,
    status_list_claims,
)
from tests.factory import T0, World, signer
from tests.factory.forgery import (
    ATTACKER,
    GOOD,
    GOOD_CRED,
    NOT_VALID,
    QR_HEADER,
    QR_PAYLOAD,
    ROWS,
    STATUS,
    Forgery,
    W,
    assert_refused,
    assert_unique_ids,
    presentations,
    qr_cases,
    sign_raw,
    with_signature,
)


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


FORGERIES: list[Forgery] = [
    *key_window_forgeries(),
    *scope_forgeries(),
    *issuer_forgeries(),
    *duplicate_claim_forgeries(),
    *payload_shape_forgeries(),
    *typ_swap_forgeries(),
]


def test_claim_forgeries_are_many_with_unique_ids() -> None:
    assert_unique_ids(FORGERIES, at_least=200)


@pytest.mark.parametrize("forgery", FORGERIES, ids=[f.id for f in FORGERIES])
def test_forgery_is_refused(forgery: Forgery) -> None:
    assert_refused(forgery)


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
