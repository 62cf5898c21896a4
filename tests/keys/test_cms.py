"""keys' DER encoder for the PAdES CMS: known answers for each primitive, and the whole
structure re-encoded identically by asn1crypto (so it is DER, not merely BER)."""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from keys import PadesSigner, office_document_key, pades_signer
from keys._cms import _int, _length, _oid, _set_of
from tests.factory.pdf import NOW, OFFICE, make_store


@pytest.mark.parametrize(
    ("dotted", "der"),
    [
        ("1.2.840.113549.1.7.2", "06092a864886f70d010702"),  # RFC 5652 id-signedData
        ("2.16.840.1.101.3.4.2.1", "0609608648016503040201"),  # sha256
        ("1.2.840.10045.4.3.2", "06082a8648ce3d040302"),  # ecdsa-with-SHA256
        ("1.2.840.113549.1.9.16.2.47", "060b2a864886f70d010910022f"),  # signingCertificateV2
    ],
)
def test_oid_known_answers(dotted: str, der: str) -> None:
    assert _oid(dotted).hex() == der


@pytest.mark.parametrize(
    ("n", "der"),
    [(0, "020100"), (1, "020101"), (127, "02017f"), (128, "02020080"), (256, "02020100")],
)
def test_integer_known_answers(n: int, der: str) -> None:
    assert _int(n).hex() == der


@pytest.mark.parametrize(("n", "der"), [(0, "00"), (127, "7f"), (128, "8180"), (300, "82012c")])
def test_length_known_answers(n: int, der: str) -> None:
    assert _length(n).hex() == der


def test_set_of_is_sorted_by_encoding() -> None:
    assert _set_of(b"\x04\x01\x02", b"\x04\x01\x01").hex() == "3106040101040102"


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> PadesSigner:
    store = make_store(tmp_path_factory.mktemp("cms"))
    return pades_signer(office_document_key(store, OFFICE, now=NOW))


def test_the_cms_is_der_and_verifies(signer: PadesSigner) -> None:
    digest = hashlib.sha256(b"the signed byte ranges").digest()
    der = signer.sign(digest)
    info = cms.ContentInfo.load(der)
    assert info.dump(force=True) == der  # asn1crypto's DER re-encoding is byte-identical
    signed = info["content"]
    assert signed["encap_content_info"]["content"].native is None  # detached
    (si,) = signed["signer_infos"]
    attrs = {a["type"].native: a["values"][0].native for a in si["signed_attrs"]}
    assert attrs["content_type"] == "data"
    assert attrs["message_digest"] == digest
    cert = next(
        c.chosen
        for c in signed["certificates"]
        if c.chosen.public_key.algorithm == "ec" and not c.chosen.ca
    )
    public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), cert.public_key["public_key"].native
    )
    public.verify(
        si["signature"].native, si["signed_attrs"].untag().dump(), ec.ECDSA(hashes.SHA256())
    )


def test_a_digest_of_the_wrong_size_is_refused(signer: PadesSigner) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        signer.sign(b"short")
