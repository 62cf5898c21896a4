"""The printed QR's transport: lossless, bounded, and within the contract's version budget."""

from __future__ import annotations

import statistics
import zlib

import pytest
import segno
import segno.consts
from hypothesis import given, settings
from hypothesis import strategies as st

from credential import (
    InputTooLargeError,
    MalformedError,
    _qr,
    b64url_encode,
    decode_transport,
    encode_transport,
    extract_token,
    qr_segments,
    qr_url,
)
from tests.factory import VERIFIER_URL, World, applicants

_MODES = {"byte": segno.consts.MODE_BYTE, "numeric": segno.consts.MODE_NUMERIC}


def qr_version(text: str) -> int:
    segs = [(c, _MODES[m]) for c, m in qr_segments(text)]
    return segno.make_qr(segs, error="q", boost_error=False, mask=0).version


def test_every_sample_applicant_fits_version_18_at_level_q() -> None:
    world = World()
    versions = []
    for row in applicants():
        token = world.issue(world.certificate(row), idx=131071).qr_token
        url = qr_url(VERIFIER_URL, token)
        assert extract_token(url, verifier_origin=VERIFIER_URL) == token
        versions.append(qr_version(url))
    assert max(versions) <= 18, (statistics.median(versions), max(versions))
    # the same token as plain base64url in byte mode would not fit: that is why the transport exists
    assert qr_version(VERIFIER_URL + "/v#" + token) > 18


@settings(max_examples=200, deadline=None)
@given(
    st.binary(min_size=1, max_size=300),
    st.binary(min_size=1, max_size=300),
    st.binary(min_size=1, max_size=255),
)
def test_transport_round_trips_any_jws_shape(header: bytes, payload: bytes, sig: bytes) -> None:
    header = header.replace(b"\x00", b"")
    if not header:
        header = b"{}"
    token = ".".join(b64url_encode(x) for x in (header, payload, sig))
    digits = encode_transport(token)
    assert digits.isdigit()
    assert decode_transport(digits) == token


def test_transport_digits_are_denser_than_base64url() -> None:
    token = World().issue().qr_token
    digits = encode_transport(token)
    # numeric mode: 10 bits per 3 digits; byte mode: 8 bits per character
    assert len(digits) * 10 / 3 < len(token) * 8 * 0.6


def test_deflate_bomb_in_transport_is_refused() -> None:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _qr._DICT_V1)
    body = comp.compress(b"{}\x00" + b"A" * 10_000_000) + comp.flush()
    digits = "1" + _qr._bytes_to_digits(bytes([64]) + b"\x01" * 64 + body)
    with pytest.raises(InputTooLargeError):
        decode_transport(digits, max_length=len(digits) + 10)


@pytest.mark.parametrize(
    "digits",
    ["", "2" + "0" * 40, "1", "1" + "9" * 17, "1" + "0" * 18, "1x23", "1" + "0" * 5],
    ids=[
        "empty",
        "unknown-version",
        "no-body",
        "chunk-out-of-range",
        "impossible-tail",
        "non-digit",
        "truncated",
    ],
)
def test_damaged_transport_is_refused(digits: str) -> None:
    with pytest.raises(MalformedError):
        decode_transport(digits)


def test_url_forms_accepted_for_the_configured_origin() -> None:
    token = World().issue().qr_token
    url = qr_url(VERIFIER_URL, token)
    assert extract_token(url, verifier_origin=VERIFIER_URL) == token
    assert extract_token(VERIFIER_URL + "/v#" + token, verifier_origin=VERIFIER_URL) == token
    assert extract_token(url.split("#")[1]) == token
    assert extract_token("  " + token + "\n") == token
