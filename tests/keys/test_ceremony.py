"""keys._ceremony: an office onboarded with no secret shared, its home holding no root
private key; the PDF chain that NSS (pdfsig) and pyHanko trust; revoking a
document-signing certificate; requests refused naming the field (issue 12 point 2)."""

from __future__ import annotations

import base64
import copy
import io
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from keys import (
    DocumentCertificateError,
    InvalidOfficeError,
    KeyStore,
    OnboardingError,
    PdfSignatureOutcome,
    TrustAdminError,
    check_pdf_signature,
    current_trust_list,
    export_trust,
    init_office,
    install_answer,
    office_document_key,
    onboard,
    pades_signer,
    revoke_document_certificate,
    revoked_serials,
    root_keys,
)
from tests.factory.keys import OFFICE, OFFICE_NAME, PASSPHRASE, make_store, root_store_of
from tests.factory.pdf import NOW, fixed_world, sample_certificate, signed_pdf, tool

OTHER = "urn:jiaozi:office:31001"


def request_for(store: KeyStore, office_id: str = OTHER, **over: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "office_id": office_id,
        "name": "上海市教师资格认定中心",
        "province": "31",
        "office_code": "001",
        "qualification_types": ["primary", "junior_middle"],
        "now": NOW,
    }
    fields.update(over)
    return init_office(store, **fields)


@pytest.fixture
def homes(tmp_path: Path) -> tuple[KeyStore, KeyStore]:
    """(office store, root store): the office onboarded through the ceremony."""
    office = make_store(tmp_path / "office", now=NOW)
    return office, root_store_of(tmp_path / "office")


def private_keys_under(home: Path) -> list[object]:
    """Every private key found in any file under ``home`` (PEM, encrypted or not)."""
    found = []
    for path in home.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"PRIVATE KEY" not in data:
            continue
        for password in (PASSPHRASE, None):
            try:
                found.append(serialization.load_pem_private_key(data, password))
                break
            except (ValueError, TypeError):
                continue
        else:
            raise AssertionError(f"{path} holds a private key this test cannot open")
    return found


def test_the_office_home_holds_no_root_private_key(homes: tuple[KeyStore, KeyStore]) -> None:
    office, root = homes
    assert not (office.keys_dir / "root").exists()
    root_publics = [k.key for k in root.public_keys("root")]
    office_privates = private_keys_under(office.home)
    assert len(office_privates) == 2  # the token key and the document-signing key
    assert not any(k.public_key() in root_publics for k in office_privates)  # type: ignore[attr-defined]
    # ... while the root home does hold it (the scan would have found one)
    root_privates = private_keys_under(root.home)
    assert any(k.public_key() in root_publics for k in root_privates)  # type: ignore[attr-defined]
    # and the office never made or needed a root key: its installed list names it
    assert current_trust_list(office.home).office(OFFICE) is not None


def test_what_serve_calls_works_from_the_office_home_and_signs_pdfs(
    homes: tuple[KeyStore, KeyStore],
) -> None:
    office, _root = homes
    # `jiaozi issuer serve` opens the store from JIAOZI_HOME and calls exactly these
    signer = office.active_signer(OFFICE, now=NOW)
    document_key = office_document_key(office, OFFICE, now=NOW)
    pdf = signed_pdf(fixed_world(), sample_certificate(), pades_signer(document_key))
    roots = [k.key for k in root_keys(office.home)]
    assert check_pdf_signature(pdf, roots).outcome is PdfSignatureOutcome.INTACT
    assert signer.public_key().kid == office.public_keys(OFFICE)[0].kid


def test_an_office_home_without_its_certificate_names_the_commands(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, PASSPHRASE)
    request_for(store, OFFICE)
    with pytest.raises(DocumentCertificateError, match="jiaozi keys install ANSWER") as caught:
        office_document_key(store, OFFICE, now=NOW)
    assert "jiaozi keys init-office" in str(caught.value)
    assert "root certificate" in str(caught.value)


def test_an_expired_certificate_is_refused_and_a_near_end_one_warned(
    homes: tuple[KeyStore, KeyStore], caplog: pytest.LogCaptureFixture
) -> None:
    office, _root = homes
    end = x509.load_der_x509_certificate(office_document_key(office, OFFICE, now=NOW).cert_der)
    last = int(end.not_valid_after_utc.timestamp())
    with caplog.at_level("WARNING", logger="keys._x509"):
        office_document_key(office, OFFICE, now=last - 86400)
    assert "renew it now" in caplog.text
    with pytest.raises(DocumentCertificateError, match="renew it"):
        office_document_key(office, OFFICE, now=last + 1)


def pdf_file(tmp: Path, office: KeyStore) -> tuple[Path, bytes]:
    key = office_document_key(office, OFFICE, now=NOW)
    path = tmp / "licence.pdf"
    path.write_bytes(signed_pdf(fixed_world(), sample_certificate(), pades_signer(key)))
    return path, key.chain_der[0]


def pdfsig(pdf: Path, nss: Path) -> str:
    out = subprocess.run(
        [tool("pdfsig"), "-nssdir", f"sql:{nss}", str(pdf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout + out.stderr


def test_pdfsig_trusts_the_signer_with_the_root_imported_and_pyhanko_agrees(
    homes: tuple[KeyStore, KeyStore], tmp_path: Path
) -> None:
    office, _root = homes
    pdf, root_der = pdf_file(tmp_path, office)
    root_crt = office.home / "trust" / "root.crt"
    assert root_crt.read_bytes() == root_der
    with tempfile.TemporaryDirectory() as nss:
        certutil = tool("certutil")
        subprocess.run(
            [certutil, "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, timeout=60
        )
        before = pdfsig(pdf, Path(nss))
        assert "Signature is Valid" in before
        assert "Certificate is Trusted" not in before  # the root is not known yet
        add = [certutil, "-A", "-d", f"sql:{nss}", "-n", "jiaozi root", "-t", "C,C,C"]
        subprocess.run(
            [*add, "-i", str(root_crt)],
            check=True,
            timeout=60,
        )
        after = pdfsig(pdf, Path(nss))
    assert "Signature is Valid" in after
    assert "Certificate is Trusted" in after, after
    reader = PdfFileReader(io.BytesIO(pdf.read_bytes()))
    (sig,) = reader.embedded_signatures
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(root_der)])
    status = validate_pdf_signature(sig, context)
    assert status.bottom_line and status.trusted and status.intact


def test_a_revoked_document_certificate_is_not_trusted(
    homes: tuple[KeyStore, KeyStore], tmp_path: Path
) -> None:
    office, root = homes
    key = office_document_key(office, OFFICE, now=NOW)
    pdf = signed_pdf(fixed_world(), sample_certificate(), pades_signer(key))
    serial = x509.load_der_x509_certificate(key.cert_der).serial_number
    pinned = root_keys(office.home)
    assert check_pdf_signature(pdf, [k.key for k in pinned], ()).outcome.value == "signed_intact"
    cert, crl = revoke_document_certificate(root, f"{serial:x}", now=NOW + 60)
    assert cert.serial_number == serial
    assert revoke_document_certificate(root, serial, now=NOW + 120)[1] != b""  # again: no-op
    export_trust(root.home, tmp_path / "export")
    exported = (tmp_path / "export" / "docsign.crl").read_bytes()
    assert revoked_serials(exported, pinned) == {serial}
    found = check_pdf_signature(pdf, [k.key for k in pinned], revoked_serials(crl, pinned))
    assert found.outcome is PdfSignatureOutcome.UNTRUSTED
    assert "revoked" in found.detail
    with pytest.raises(DocumentCertificateError, match="not signed by a pinned root"):
        revoked_serials(exported, root_keys(make_store(tmp_path / "elsewhere").home))
    with pytest.raises(TrustAdminError, match="was issued here"):
        revoke_document_certificate(root, "abc123", now=NOW)


def test_a_new_document_key_replaces_the_old_only_once_certified(
    homes: tuple[KeyStore, KeyStore],
) -> None:
    office, root = homes
    old = office_document_key(office, OFFICE, now=NOW)
    request = request_for(
        office, OFFICE, name=OFFICE_NAME, province="11", new_docsign_key=True, now=NOW + 10
    )
    assert office_document_key(office, OFFICE, now=NOW + 20) == old  # still the old one
    install_answer(office, onboard(root, request, now=NOW + 30), now=NOW + 30)
    new = office_document_key(office, OFFICE, now=NOW + 40)
    assert new.key_pem != old.key_pem and new.cert_der != old.cert_der
    assert not (office.keys_dir / "office-11001" / "docsign-next.pem").exists()


# --- requests and answers refused ----------------------------------------------------------


@pytest.fixture
def root_and_request(tmp_path: Path) -> tuple[KeyStore, dict[str, Any], KeyStore]:
    _office, root = make_store(tmp_path / "a", now=NOW), root_store_of(tmp_path / "a")
    other = KeyStore(tmp_path / "other", PASSPHRASE)
    return root, request_for(other), other


def test_a_csr_with_a_wrong_signature_is_refused(
    root_and_request: tuple[KeyStore, dict[str, Any], KeyStore],
) -> None:
    root, request, _other = root_and_request
    before = current_trust_list(root.home).sequence
    pem = request["csr"]
    body = "".join(pem.strip().splitlines()[1:-1])
    der = bytearray(base64.b64decode(body))
    der[-3] ^= 0x01  # inside the signature's last integer
    text = base64.encodebytes(bytes(der)).decode().replace("\n", "")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    bad = dict(request, csr="\n".join(["-----BEGIN CERTIFICATE REQUEST-----", *lines]))
    bad["csr"] += "\n-----END CERTIFICATE REQUEST-----\n"
    with pytest.raises(OnboardingError, match='"csr": its signature does not verify'):
        onboard(root, bad, now=NOW)
    assert current_trust_list(root.home).sequence == before  # nothing changed


@pytest.mark.parametrize(
    ("path", "named"),
    [
        (("office", "province"), '"office.province"'),
        (("office", "id"), '"office.id"'),
        (("office",), '"office"'),
        (("csr",), '"csr"'),
        (("jwks",), '"jwks"'),
        (("format",), '"format"'),
    ],
)
def test_a_request_missing_a_field_is_refused_naming_it(
    root_and_request: tuple[KeyStore, dict[str, Any], KeyStore], path: tuple[str, ...], named: str
) -> None:
    root, request, _other = root_and_request
    bad = copy.deepcopy(request)
    target = bad
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    with pytest.raises(OnboardingError, match=named):
        onboard(root, bad, now=NOW)


def test_a_csr_for_another_office_or_bad_fields_are_refused(
    root_and_request: tuple[KeyStore, dict[str, Any], KeyStore], tmp_path: Path
) -> None:
    root, request, _other = root_and_request
    third = request_for(KeyStore(tmp_path / "third", PASSPHRASE), "urn:jiaozi:office:44001")
    with pytest.raises(OnboardingError, match="subject O must be the office id"):
        onboard(root, dict(request, csr=third["csr"]), now=NOW)
    bad = copy.deepcopy(request)
    bad["office"]["province"] = "1"
    with pytest.raises(InvalidOfficeError, match="province"):
        onboard(root, bad, now=NOW)
    with pytest.raises(OnboardingError, match='"csr" is not a PEM'):
        onboard(root, dict(request, csr="not a csr"), now=NOW)


def test_the_ceremony_sets_usage_and_validity_and_the_office_installs_it(
    root_and_request: tuple[KeyStore, dict[str, Any], KeyStore],
) -> None:
    root, request, other = root_and_request
    answer = onboard(root, request, now=NOW, days=30)
    cert = x509.load_pem_x509_certificate(answer["docsign_cert"].encode())
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 30
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [u.dotted_string for u in eku] == ["1.3.6.1.4.1.311.10.3.12", "1.3.6.1.5.5.7.3.4"]
    assert current_trust_list(root.home).office(OTHER) is not None
    installed = install_answer(other, answer, now=NOW)
    assert installed.serial_number == cert.serial_number
    assert office_document_key(other, OTHER, now=NOW).cert_der == cert.public_bytes(
        serialization.Encoding.DER
    )


def test_an_answer_for_other_keys_or_tampered_is_refused(
    root_and_request: tuple[KeyStore, dict[str, Any], KeyStore], tmp_path: Path
) -> None:
    root, request, other = root_and_request
    answer = onboard(root, request, now=NOW)
    stranger = KeyStore(tmp_path / "stranger", PASSPHRASE)
    request_for(stranger)  # same office id, other keys
    with pytest.raises(OnboardingError, match="keys held here"):
        install_answer(stranger, answer, now=NOW)
    with pytest.raises(OnboardingError, match='"trust_list" does not verify'):
        install_answer(other, dict(answer, trust_list=answer["trust_list"][:-4] + "AAAA"), now=NOW)
    third = KeyStore(tmp_path / "third", PASSPHRASE)
    foreign = onboard(root, request_for(third, "urn:jiaozi:office:44001"), now=NOW + 1)
    mixed = dict(foreign, office_id=OTHER, trust_list=answer["trust_list"])
    with pytest.raises(OnboardingError, match="certifies none of the document-signing keys"):
        install_answer(other, mixed, now=NOW)
    assert not (other.keys_dir / "office-31001" / "docsign.crt").exists()
    later = onboard(root, request, now=NOW + 2)
    install_answer(other, later, now=NOW + 3)
    with pytest.raises(OnboardingError, match="older than the installed"):
        install_answer(other, answer, now=NOW + 4)


def test_an_office_home_refuses_to_be_a_root_home(tmp_path: Path) -> None:
    make_store(tmp_path / "office", now=NOW)
    with pytest.raises(OnboardingError, match="national root's keys"):
        request_for(root_store_of(tmp_path / "office"))
