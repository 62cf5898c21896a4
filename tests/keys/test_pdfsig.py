"""keys.check_pdf_signature: a PDF's own PAdES signature, checked without pyHanko.

The file the issuer signs is intact; one changed byte in either signed range, bytes
appended after %%EOF, a changed signature, or a signer certificate the pinned root did
not issue are each caught; an unsigned file is ``not_signed``; a signature it cannot read
is ``cannot_judge``, never an exception.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from issuer.pdf import render_certificate
from keys import (
    PdfSignatureOutcome,
    check_pdf_signature,
    office_document_key,
    pades_signer,
    root_keys,
)
from tests.factory import VERIFIER_URL
from tests.factory.pdf import (
    NOW,
    OFFICE,
    document_signer,
    fixed_world,
    make_store,
    qr_text_for,
    root_private_key,
    sample_certificate,
    signed_pdf,
)

Out = PdfSignatureOutcome
WORLD = fixed_world()
ROOT = root_private_key(WORLD)
ROOTS = [ROOT.public_key()]


@pytest.fixture(scope="module")
def signed() -> bytes:
    return signed_pdf(WORLD, sample_certificate(), document_signer(ROOT))


def byte_range(pdf: bytes) -> tuple[int, int, int, int]:
    m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert m is not None
    a, b, c, d = (int(g) for g in m.groups())
    return a, b, c, d


def flipped(pdf: bytes, at: int) -> bytes:
    out = bytearray(pdf)
    out[at] = ord("X") if out[at] != ord("X") else ord("Y")
    return bytes(out)


def test_the_issuers_signed_pdf_is_intact(signed: bytes) -> None:
    assert check_pdf_signature(signed, ROOTS).outcome is Out.INTACT


def test_pdf_signed_by_an_offices_stored_document_key_is_intact(tmp_path: Path) -> None:
    """The issuer's own path: keys.office_document_key in a key store, the root pinned as
    the root key installed in the office's home (what a verifier's root JWKS holds)."""
    store = make_store(tmp_path)
    signer = pades_signer(office_document_key(store, OFFICE, now=NOW))
    pdf = signed_pdf(WORLD, sample_certificate(), signer)
    (root,) = [k.key for k in root_keys(store.home)]
    assert check_pdf_signature(pdf, [root]).outcome is Out.INTACT
    assert check_pdf_signature(pdf, ROOTS).outcome is Out.UNTRUSTED


def test_pdf_signed_under_an_ecdsa_root_is_intact() -> None:
    root = ec.generate_private_key(ec.SECP256R1())
    pdf = signed_pdf(WORLD, sample_certificate(), document_signer(root))
    assert check_pdf_signature(pdf, [root.public_key()]).outcome is Out.INTACT


def test_one_byte_changed_in_the_first_signed_range_is_changed(signed: bytes) -> None:
    at = signed.index(b"/M (D:") + 8  # a digit of the signing time
    assert at < byte_range(signed)[1]
    assert check_pdf_signature(flipped(signed, at), ROOTS).outcome is Out.CHANGED


def test_one_byte_changed_in_the_second_signed_range_is_changed(signed: bytes) -> None:
    at = signed.rindex(b"ReportLab") + 2  # the trailer's comment, after the signature
    assert at > byte_range(signed)[2]
    assert check_pdf_signature(flipped(signed, at), ROOTS).outcome is Out.CHANGED


@pytest.mark.parametrize("tail", [b"\n", b"%%EOF\n", b"1 0 obj\n(x)\nendobj\n%%EOF\n"])
def test_bytes_appended_after_eof_are_a_change(signed: bytes, tail: bytes) -> None:
    found = check_pdf_signature(signed + tail, ROOTS)
    assert found.outcome is Out.CHANGED and "whole file" in found.detail


def test_truncated_file_is_a_change(signed: bytes) -> None:
    assert check_pdf_signature(signed[:-1], ROOTS).outcome is Out.CHANGED


def test_a_changed_ecdsa_signature_is_a_change(signed: bytes) -> None:
    _a, b, _c, _d = byte_range(signed)
    der = bytes.fromhex(signed[b + 1 : b + 9].decode())  # 30 82 LL LL
    last = b + 1 + 2 * (4 + int.from_bytes(der[2:4], "big")) - 1  # last hex digit of it
    out = bytearray(signed)
    out[last] = ord("0") if out[last] != ord("0") else ord("1")
    assert check_pdf_signature(bytes(out), ROOTS).outcome is Out.CHANGED


def test_signer_certificate_from_another_root_is_untrusted() -> None:
    other = Ed25519PrivateKey.generate()
    pdf = signed_pdf(WORLD, sample_certificate(), document_signer(other))
    assert check_pdf_signature(pdf, ROOTS).outcome is Out.UNTRUSTED
    assert check_pdf_signature(pdf, []).outcome is Out.UNTRUSTED


def test_root_issued_certificate_without_document_signing_usage_is_untrusted() -> None:
    pdf = signed_pdf(WORLD, sample_certificate(), document_signer(ROOT, eku=False))
    assert check_pdf_signature(pdf, ROOTS).outcome is Out.UNTRUSTED


def test_unsigned_pdf_is_not_signed() -> None:
    cert = sample_certificate()
    pdf = render_certificate(cert, qr_text=qr_text_for(WORLD, cert), verifier_url=VERIFIER_URL)
    assert check_pdf_signature(pdf, ROOTS).outcome is Out.NOT_SIGNED
    assert check_pdf_signature(b"", ROOTS).outcome is Out.NOT_SIGNED


def test_unreadable_contents_cannot_be_judged(signed: bytes) -> None:
    _a, b, _c, _d = byte_range(signed)
    assert check_pdf_signature(flipped(signed, b + 3), ROOTS).outcome is Out.CANNOT_JUDGE
    not_hex = bytearray(signed)
    not_hex[b + 1] = ord("g")
    assert check_pdf_signature(bytes(not_hex), ROOTS).outcome is Out.CANNOT_JUDGE


@pytest.mark.parametrize(
    "byte_range_text",
    [b"[0 0 0 0]", b"[5 10 20 30]", b"[0 999999999999 1 1]", b"[0 10 5 0]"],
)
def test_nonsense_byte_ranges_never_raise(byte_range_text: bytes) -> None:
    pdf = b"%PDF-1.7\n<< /Type /Sig /ByteRange " + byte_range_text + b" /Contents <00> >>\n"
    found = check_pdf_signature(pdf, ROOTS)
    assert found.outcome in (Out.CANNOT_JUDGE, Out.CHANGED)


def test_damaged_cms_never_raises_and_damaged_signer_info_never_passes(signed: bytes) -> None:
    """Random damage anywhere in the CMS's DER never raises; damage in its last 200 bytes
    (the SignerInfo: signer, signed attributes, signature) is never intact. (The zero
    padding after the DER and the root certificate's copy in it are not relied upon.)"""
    _a, b, _c, _d = byte_range(signed)
    der_len = 4 + int.from_bytes(bytes.fromhex(signed[b + 5 : b + 9].decode()), "big")
    rng = random.Random(11)
    for i in range(400):
        out = bytearray(signed)
        tail = i % 2 == 0
        at = (
            b
            + 1
            + (2 * (der_len - 200) if tail else 0)
            + rng.randrange(400 if tail else 2 * der_len)
        )
        value = int(chr(out[at]), 16)
        out[at] = ord(rng.choice([f"{v:x}" for v in range(16) if v != value]))
        found = check_pdf_signature(bytes(out), ROOTS)
        assert isinstance(found.outcome, Out)
        if tail:
            assert found.outcome is not Out.INTACT, at - b


def test_too_many_signature_dictionaries_cannot_be_judged(signed: bytes) -> None:
    extra = b"\n".join([b"/ByteRange [0 1 2 3]"] * 5)
    assert check_pdf_signature(signed + extra, ROOTS).outcome is Out.CANNOT_JUDGE
