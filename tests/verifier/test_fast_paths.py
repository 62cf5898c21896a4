"""The verifier's hot path takes short cuts that must not change a byte: the result JSON
built from cached parts, and base64url segments decoded on bytes. Each is held equal to the
plain way of doing the same thing."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from credential import (
    CertificateView,
    Check,
    MalformedError,
    Reason,
    StatusValue,
    Verdict,
    VerificationResult,
)
from credential._b64 import b64url_decode, b64url_encode
from credential._jws import _decode_segment
from tests.factory import NOW, T0, World, signer


def plain(result: VerificationResult, lang: str) -> bytes:
    """What the verifier sent before json_bytes: Starlette's JSONResponse rendering."""
    return json.dumps(
        result.to_json(lang), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode("utf-8")


def results() -> list[VerificationResult]:
    world = World()
    good = world.issue(idx=1)
    world.status.set(2, StatusValue.INVALID)
    world.status.set(3, StatusValue.SUSPENDED)
    stale = world.snapshot(iat=T0 - 100_000, ttl=60)
    return [
        world.verify(good.qr_token),
        world.verify(good.qr_token, credential=good.credential),
        world.verify(credential=good.credential),
        world.verify(world.issue(idx=2).qr_token),
        world.verify(world.issue(idx=3).qr_token),
        world.verify(world.issue(idx=4).qr_token, status={stale.uri: stale}),
        world.verify(good.qr_token, status={}),
        world.verify(good.qr_token[:-3] + "AAA"),
        world.verify("not a token"),
        world.verify(good.qr_token, now=NOW + dt.timedelta(days=20000)),
        world.verify(world.issue(signer_=signer(kid="99001-1")).qr_token),  # unknown key
    ]


def test_result_bytes_are_the_plain_json_of_every_verdict() -> None:
    found = results()
    assert {(r.verdict, r.reason) for r in found} >= {
        (Verdict.VALID, None),
        (Verdict.NOT_VALID, Reason.REVOKED),
        (Verdict.NOT_VALID, Reason.MALFORMED),
        (Verdict.NOT_VALID, Reason.BAD_SIGNATURE),
        (Verdict.NOT_VALID, Reason.UNKNOWN_ISSUER),
        (Verdict.CANNOT_DETERMINE, Reason.STATUS_STALE),
        (Verdict.CANNOT_DETERMINE, Reason.STATUS_UNAVAILABLE),
    }
    for result in found:
        for lang in ("en", "zh", "zh-CN", "fr"):
            assert result.json_bytes(lang) == plain(result, lang)
            assert result.json_bytes(lang) == plain(result, lang)  # from the caches now


text = st.text(max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    checks=st.lists(
        st.builds(
            Check,
            name=text,
            ok=st.none() | st.booleans(),
            detail=text,
            detail_zh=text,
            reason=st.none() | st.sampled_from(Reason),
        ),
        max_size=9,
    ),
    verdict=st.sampled_from(Verdict),
    reason=st.none() | st.sampled_from(Reason),
    cert=st.none()
    | st.builds(
        CertificateView,
        certificate_number=text,
        name=text,
        id_number_masked=text,
        qualification_type=text,
        qualification_name=text,
        subject=text,
        issuer=text,
        certified_on=text,
        version=st.integers(0, 2**40),
        purpose=st.none() | text,
        expires_at=st.none() | text,
    ),
    # (from 1900: 0001-01-01 00:00 at UTC+8 is before year 1 in UTC, which no status
    # list's iat can say; hypothesis found it about one run in two)
    as_of=st.none()
    | st.datetimes(min_value=dt.datetime(1900, 1, 2), timezones=st.just(dt.UTC))
    | st.datetimes(
        min_value=dt.datetime(1900, 1, 2), timezones=st.just(dt.timezone(dt.timedelta(hours=8)))
    ),
    checked_at=st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(9000, 1, 1))
    | st.datetimes(
        min_value=dt.datetime(1900, 1, 2),
        timezones=st.just(dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
    ),
    lang=st.sampled_from(["en", "zh", "zh-TW", "x"]),
)
def test_result_bytes_for_any_content(
    checks: list[Check],
    verdict: Verdict,
    reason: Reason | None,
    cert: CertificateView | None,
    as_of: dt.datetime | None,
    checked_at: dt.datetime,
    lang: str,
) -> None:
    result = VerificationResult(verdict, reason, tuple(checks), cert, as_of, checked_at)
    try:
        expected: bytes | type[Exception] = plain(result, lang)
    except UnicodeEncodeError:  # a lone surrogate: neither way has bytes for it
        expected = UnicodeEncodeError
    if expected is UnicodeEncodeError:
        try:
            result.json_bytes(lang)
        except UnicodeEncodeError:
            return
        raise AssertionError("json_bytes encoded a lone surrogate")
    assert result.json_bytes(lang) == expected


def decoded(f, segment: str) -> tuple[str, object]:
    try:
        return ("ok", f(segment, "payload"))
    except MalformedError as exc:
        return ("refused", str(exc))


segments = st.one_of(
    st.binary(max_size=64).map(b64url_encode),
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=40
    ),
    st.text(alphabet="AQgwEIMU09-_+/=. \n\x00é", max_size=12),
    st.text(max_size=12),
)


@settings(max_examples=1000, deadline=None)
@given(segment=segments)
def test_segments_decode_as_b64url_decode_does(segment: str) -> None:
    assert decoded(_decode_segment, segment) == decoded(b64url_decode, segment)


@settings(max_examples=300, deadline=None)
@given(
    header=st.none()
    | st.text(max_size=40)
    | st.lists(
        st.sampled_from(["en", "zh-CN", "zh", "en-GB;q=0.9", "fr;q=1", "*", "en;q=0", "zh;q=x"]),
        max_size=5,
    ).map(", ".join)
    | st.just("en," * 200)
)
def test_remembered_languages_are_what_parsing_says(header: str | None) -> None:
    from verifier.problems import _language, language

    assert language(header) == _language(header)
    assert language(header) == _language(header)  # remembered now (when short)
