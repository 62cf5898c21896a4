"""Forged presentations against the full verification pipeline: bytes around or inside a
genuine token, oversized input, URLs for another origin, a tampered numeric QR transport,
deflate bombs; and, as controls, the genuine token in every form it may take.

Every forgery goes through ``World().verify(...)`` and must end ``not_valid`` with the
expected reason code, with no exception escaping (kit: ``tests/factory/forgery.py``).
"""

from __future__ import annotations

import zlib

import pytest

from credential import VerifyPolicy, canonical_json, encode_transport, qr_url
from tests.factory import VERIFIER_URL
from tests.factory.forgery import (
    GOOD,
    GOOD_QR,
    POLICY,
    QR_HEADER,
    QR_PAYLOAD,
    REFUSED_FORMAT_OR_SIGNATURE,
    STATUS,
    Forgery,
    W,
    assert_refused,
    assert_unique_ids,
    digits_of,
    sign_raw,
)


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
    *framing_forgeries(),
    *oversize_forgeries(),
    *origin_forgeries(),
    *transport_forgeries(),
    *deflate_bomb_forgeries(),
]


def test_presentation_forgeries_are_many_with_unique_ids() -> None:
    assert_unique_ids(FORGERIES, at_least=200)


@pytest.mark.parametrize("forgery", FORGERIES, ids=[f.id for f in FORGERIES])
def test_forgery_is_refused(forgery: Forgery) -> None:
    assert_refused(forgery)


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
