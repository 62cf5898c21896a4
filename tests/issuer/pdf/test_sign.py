"""The signed PDF: PAdES B-B by the office's document-signing key, its
X.509 certificate chained (by keys/) to the national root; the credential JWS attached.

pyHanko's own validator is the judge: the signed file is intact, valid and trusted with
the root and the signature covers the entire file; an appended incremental update or one
changed byte is reported; an unrelated root does not make it trusted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import stat
from pathlib import Path

import pypdf
import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from credential import qr_url
from issuer.pdf import (
    SIGNATURE_FIELD,
    PdfSignError,
    render_certificate,
    signed_certificate_pdf,
)
from keys import (
    DOCUMENT_SIGNING_EKU,
    DocumentSigningKey,
    KeysError,
    KeyStore,
    WrongPassphraseError,
    init_office,
    install_answer,
    office_document_key,
    onboard,
    pades_signer,
    root_certificate,
    rotate_root,
)
from tests.factory import VERIFIER_URL
from tests.factory.keys import root_store_of
from tests.factory.pdf import (
    NOW,
    OFFICE,
    OFFICE_NAME,
    fixed_world,
    make_store,
    sample_certificate,
)
from verifier.extract import extract

NUMBER = "20261100142000001"
# pyHanko validates against the real clock, so the keys and certificates are made now.


@dataclasses.dataclass(frozen=True)
class Signed:
    pdf: bytes
    signed: bytes
    jws: str
    qr: str
    key: DocumentSigningKey


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    return make_store(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def signed(store: KeyStore) -> Signed:
    world = fixed_world()
    cert = sample_certificate(certificate_number=NUMBER)
    issued = world.issue(cert)
    qr = qr_url(VERIFIER_URL, issued.qr_token)
    pdf = render_certificate(cert, qr_text=qr, verifier_url=VERIFIER_URL)
    key = office_document_key(store, OFFICE, now=NOW)
    out = signed_certificate_pdf(
        cert,
        qr_text=qr,
        verifier_url=VERIFIER_URL,
        signer=pades_signer(key),
        credential_jws=issued.credential,
    )
    return Signed(pdf, out, issued.credential, qr, key)


def validate(pdf: bytes, root_der: bytes) -> PdfSignatureStatus:
    reader = PdfFileReader(io.BytesIO(pdf))
    (sig,) = reader.embedded_signatures
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(root_der)])
    return validate_pdf_signature(sig, context)


def appended_update(pdf: bytes, change: str) -> bytes:
    """``pdf`` with one incremental update appended, as any PDF editor would save it."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    if change == "annotation":
        page = writer.root["/Pages"]["/Kids"][0].get_object()
        note = generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/Text"),
                generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(0)] * 4),
                generic.NameObject("/Contents"): generic.TextStringObject("已作废"),
            }
        )
        page["/Annots"] = generic.ArrayObject([writer.add_object(note)])
        writer.update_container(page)
    elif change == "new object":
        writer.root["/Extra"] = writer.add_object(generic.TextStringObject("added later"))
        writer.update_root()
    else:  # an update that changes nothing a reader would show
        writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# ----------------------------------------------------------------------------- signature


def test_signature_is_intact_valid_trusted_and_covers_the_whole_file(signed: Signed) -> None:
    status = validate(signed.signed, signed.key.chain_der[0])
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.modification_level is not None and status.modification_level.name == "NONE"
    assert status.docmdp_ok
    assert status.md_algorithm == "sha256"
    assert status.signing_cert.dump() == signed.key.cert_der
    # PAdES baseline: the ETSI subfilter, in the named field, chain inside the CMS
    reader = PdfFileReader(io.BytesIO(signed.signed))
    (sig,) = reader.embedded_signatures
    assert sig.field_name == SIGNATURE_FIELD
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    embedded = {c.chosen.dump() for c in sig.signed_data["certificates"]}
    assert embedded == {signed.key.cert_der, *signed.key.chain_der}
    # PAdES B-B signed attributes: content-type, message-digest, signing-certificate-v2
    # naming the signer's certificate, and no signing-time (the time is the dict's /M)
    (info,) = sig.signed_data["signer_infos"]
    attrs = {a["type"].native: a["values"][0] for a in info["signed_attrs"]}
    assert set(attrs) == {"content_type", "message_digest", "signing_certificate_v2"}
    (ess,) = attrs["signing_certificate_v2"]["certs"]
    assert ess["cert_hash"].native == hashlib.sha256(signed.key.cert_der).digest()
    assert sig.sig_object["/M"]  # the claimed signing time
    # one pass: the signed file is the page as rendered, with the same drawing in it
    reader_pages = pypdf.PdfReader(io.BytesIO(signed.signed)).pages
    assert len(reader_pages) == 1
    assert (
        reader_pages[0].extract_text()
        == pypdf.PdfReader(io.BytesIO(signed.pdf)).pages[0].extract_text()
    )


def test_credential_is_attached_under_its_certificate_number(signed: Signed) -> None:
    attachments = pypdf.PdfReader(io.BytesIO(signed.signed)).attachments
    assert list(attachments) == [f"{NUMBER}.vc.jwt"]
    assert attachments[f"{NUMBER}.vc.jwt"] == [signed.jws.encode("ascii")]
    # the verifier's extractor finds it, and the QR still reads from the signed file
    found = extract(signed.signed)
    assert found.credential == signed.jws
    assert found.qr == signed.qr


@pytest.mark.parametrize("change", ["annotation", "new object"])
def test_an_appended_update_is_reported_as_a_modification(signed: Signed, change: str) -> None:
    status = validate(appended_update(signed.signed, change), signed.key.chain_der[0])
    # The signed revision itself is still intact and trusted: what changed is after it.
    # pyHanko says so through coverage (the revision, no longer the file), the
    # modification level (OTHER: not a form fill, annotation policy or LTA update it
    # accepts) and docmdp_ok False; bottom_line (its overall verdict) is False.
    assert status.intact and status.trusted
    assert status.coverage.name == "ENTIRE_REVISION"
    assert status.modification_level is not None and status.modification_level.name == "OTHER"
    assert status.docmdp_ok is False
    assert status.bottom_line is False


def test_even_an_empty_update_no_longer_covers_the_entire_file(signed: Signed) -> None:
    # An update changing nothing visible counts as LTA_UPDATES (allowed by pyHanko's
    # policy, hence docmdp_ok): it is still not the file that was signed.
    status = validate(appended_update(signed.signed, "noop"), signed.key.chain_der[0])
    assert status.coverage.name == "ENTIRE_REVISION"
    assert status.modification_level is not None
    assert status.modification_level.name == "LTA_UPDATES"
    # ...which pyHanko's own verdict accepts: hence "check the coverage too" (docs/pdf.md)
    assert status.docmdp_ok and status.bottom_line


@pytest.mark.parametrize(
    ("marker", "which"),
    [(b"ReportLab PDF Library", 1), (NUMBER.encode() + b".vc.jwt", 0)],  # /Producer, file name
)
def test_a_changed_byte_in_either_signed_range_is_not_intact(
    signed: Signed, marker: bytes, which: int
) -> None:
    pdf = signed.signed
    at = pdf.index(marker)
    (sig,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    br = [int(x) for x in sig.sig_object["/ByteRange"]]
    ranges = [(br[0], br[0] + br[1]), (br[2], br[2] + br[3])]
    assert ranges[which][0] <= at < ranges[which][1]
    assert ranges[1][1] == len(pdf)  # the second range runs to the end of the file
    changed = pdf[:at] + b"X" + pdf[at + 1 :]
    status = validate(changed, signed.key.chain_der[0])
    assert status.intact is False
    assert status.bottom_line is False


def test_a_changed_byte_in_the_signature_itself_is_not_valid(signed: Signed) -> None:
    pdf = signed.signed
    (sig,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    br = [int(x) for x in sig.sig_object["/ByteRange"]]
    # the last hex digit of the ECDSA signature sits just before the zero padding
    hex_text = pdf[br[1] + 1 : br[2] - 1].rstrip(b"0")
    at = br[1] + 1 + len(hex_text) - 1
    flipped = b"1" if pdf[at : at + 1] != b"1" else b"2"
    status = validate(pdf[:at] + flipped + pdf[at + 1 :], signed.key.chain_der[0])
    assert status.bottom_line is False
    assert status.valid is False
    assert status.intact  # the digest still matches: it is the signature that fails


def test_an_unrelated_root_does_not_trust_it(signed: Signed) -> None:
    other = root_certificate(
        ec.generate_private_key(ec.SECP256R1()),  # the root's algorithm (ES256), another key
        name="Jiaozi national trust root",  # same name
        not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
        not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=365),
    )
    status = validate(signed.signed, other)
    assert status.intact and status.valid
    assert status.trusted is False
    assert status.bottom_line is False


def test_a_key_that_does_not_match_its_certificate_is_refused(
    signed: Signed, tmp_path: Path
) -> None:
    other = office_document_key(make_store(tmp_path), OFFICE, now=NOW)
    mismatched = dataclasses.replace(other, cert_der=signed.key.cert_der)
    with pytest.raises(KeysError, match="does not match"):
        pades_signer(mismatched)


def test_not_a_jws_is_refused(signed: Signed) -> None:
    with pytest.raises(PdfSignError, match="compact JWS"):
        signed_certificate_pdf(
            sample_certificate(certificate_number=NUMBER),
            qr_text=signed.qr,
            verifier_url=VERIFIER_URL,
            signer=pades_signer(signed.key),
            credential_jws="not a jws",
        )


def test_a_purpose_copy_is_signed_and_carries_no_credential(signed: Signed) -> None:
    out = signed_certificate_pdf(
        sample_certificate(certificate_number=NUMBER),
        qr_text=signed.qr,
        verifier_url=VERIFIER_URL,
        signer=pades_signer(signed.key),
        credential_jws=None,
        purpose="应聘某某学校",
        purpose_expires=dt.date(2026, 12, 29),
    )
    assert pypdf.PdfReader(io.BytesIO(out)).attachments == {}
    status = validate(out, signed.key.chain_der[0])
    assert status.bottom_line and status.coverage.name == "ENTIRE_FILE"


def test_the_reserved_room_fits_every_signature_length(signed: Signed) -> None:
    # ECDSA DER signatures vary (70-72 bytes): max_size is the bound of every one of them
    signer = pades_signer(signed.key)
    sizes = {len(signer.sign(hashlib.sha256(bytes([i])).digest())) for i in range(64)}
    assert max(sizes) <= signer.max_size
    assert len(sizes) > 1  # lengths do vary, so the bound is exercised


# ----------------------------------------------------------------------------- keys/


def test_document_key_is_p256_encrypted_at_rest_and_reused(store: KeyStore) -> None:
    first = office_document_key(store, OFFICE, now=NOW)
    again = office_document_key(store, OFFICE, now=NOW + 60)
    assert again == first  # nothing re-made while valid
    key_file = store.keys_dir / "office-11001" / "docsign.pem"
    assert key_file.read_bytes() == first.key_pem
    assert first.key_pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (store.home / "trust" / "root.crt").read_bytes() == first.chain_der[0]
    cert = x509.load_der_x509_certificate(first.cert_der)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    with pytest.raises(WrongPassphraseError):
        office_document_key(KeyStore(store.home, b"wrong passphrase"), OFFICE, now=NOW)


def test_certificates_carry_the_profile(store: KeyStore) -> None:
    key = office_document_key(store, OFFICE, now=NOW)
    root = x509.load_der_x509_certificate(key.chain_der[0])
    cert = x509.load_der_x509_certificate(key.cert_der)
    cert.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    root_usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert root_usage.key_cert_sign and root_usage.crl_sign
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [o.dotted_string for o in eku] == [DOCUMENT_SIGNING_EKU, "1.3.6.1.5.5.7.3.4"]
    names = [(a.oid, a.value) for a in cert.subject]
    assert names == [(NameOID.COMMON_NAME, OFFICE_NAME), (NameOID.ORGANIZATION_NAME, OFFICE)]


def test_root_rotation_then_a_renewal_chains_the_same_document_key_to_the_new_root(
    tmp_path: Path,
) -> None:
    """The office never re-makes anything itself: after the ceremony rotates the root, the
    office's old certificate still chains to the old root.crt it holds; its next request
    (same document key) is answered under the new root."""
    store = make_store(tmp_path / "office")
    root_store = root_store_of(tmp_path / "office")
    before = office_document_key(store, OFFICE, now=NOW)
    rotate_root(root_store, now=NOW + 10)
    assert office_document_key(store, OFFICE, now=NOW + 15) == before
    request = init_office(
        store,
        office_id=OFFICE,
        name=OFFICE_NAME,
        province="11",
        office_code="001",
        qualification_types=["primary"],
        now=NOW + 20,
    )
    install_answer(store, onboard(root_store, request, now=NOW + 20), now=NOW + 20)
    after = office_document_key(store, OFFICE, now=NOW + 30)
    assert after.chain_der != before.chain_der
    assert after.cert_der != before.cert_der
    assert after.key_pem == before.key_pem  # the office keeps its document key
    new_root = x509.load_der_x509_certificate(after.chain_der[0])
    x509.load_der_x509_certificate(after.cert_der).verify_directly_issued_by(new_root)


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (60, 84), (200, 180, 170)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def test_photo_is_attached_beside_the_credential_and_signed_with_it(
    signed: Signed, store: KeyStore
) -> None:
    from issuer.pdf import PHOTO_ATTACHMENT

    photo = _jpeg()
    cert = sample_certificate(certificate_number=NUMBER)
    out = signed_certificate_pdf(
        cert,
        qr_text=signed.qr,
        verifier_url=VERIFIER_URL,
        signer=pades_signer(signed.key),
        credential_jws=signed.jws,
        layout="v2",
        photo=photo,
    )
    attachments = pypdf.PdfReader(io.BytesIO(out)).attachments
    # the name tree sorted: the credential (digits) before photo.jpg
    assert list(attachments) == [f"{NUMBER}.vc.jwt", PHOTO_ATTACHMENT]
    assert attachments[PHOTO_ATTACHMENT] == [photo]
    assert extract(out).credential == signed.jws
    status = validate(out, signed.key.chain_der[0])
    assert status.bottom_line and status.coverage.name == "ENTIRE_FILE"


def test_a_purpose_copy_carries_no_photo_file(signed: Signed) -> None:
    # no credential attached (it holds the full identity number), so no photo beside it
    out = signed_certificate_pdf(
        sample_certificate(certificate_number=NUMBER),
        qr_text=signed.qr,
        verifier_url=VERIFIER_URL,
        signer=pades_signer(signed.key),
        credential_jws=None,
        purpose="入职审核",
        purpose_expires=dt.date(2026, 7, 1),
        photo=_jpeg(),
    )
    assert pypdf.PdfReader(io.BytesIO(out)).attachments == {}
