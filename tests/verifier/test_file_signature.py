"""POST /api/v1/verify with a file: the file's own signature counts (issue 11 point 2).

A PDF changed after signing is ``not_valid`` (``file_altered``) even though its QR and
attached credential are genuine; so is one signed by a certificate the pinned root did not
issue. A file without a signature (a photo, a scan, an unsigned PDF) is judged by its QR
and the result says the file itself is not signed.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from credential import Reason, qr_url
from tests.factory import VERIFIER_URL, applicants
from tests.factory.pdf import document_signer, root_private_key, signed_pdf
from tests.factory.verifier import Harness, pdf, photo, upload
from verifier.web import STRINGS


def issued_pdf(api: Harness, idx: int, *, root: Any = None) -> bytes:
    """The issuer's signed e-licence PDF of a fresh certificate of the harness's world."""
    signer = document_signer(root or root_private_key(api.world))
    return signed_pdf(api.world, api.world.certificate(applicants()[idx]), signer, idx=500 + idx)


def judged(api: Harness, data: bytes, name: str = "c.pdf", media: str = "application/pdf"):
    r = upload(api, data, name, media, **{"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    body = r.json()
    return body, {c["name"]: c for c in body["checks"]}


def flipped(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] = ord("X") if out[at] != ord("X") else ord("Y")
    return bytes(out)


def test_genuine_signed_pdf_is_valid_and_its_signature_checked(api: Harness) -> None:
    body, checks = judged(api, issued_pdf(api, 1))
    assert body["verdict"] == "valid" and body["reason"] is None
    assert checks["file_signature"]["ok"] is True
    assert checks["binding"]["ok"] is True  # the attached credential was read too
    assert [c["name"] for c in body["checks"]][-2:] == ["file_signature", "photo"]


@pytest.mark.parametrize("where", ["first range", "second range"])
def test_pdf_with_one_byte_changed_after_signing_is_not_valid(api: Harness, where: str) -> None:
    data = issued_pdf(api, 2)
    at = data.index(b"/M (D:") + 8 if where == "first range" else data.rindex(b"ReportLab") + 2
    body, checks = judged(api, flipped(data, at))
    assert body["verdict"] == "not_valid" and body["reason"] == "file_altered"
    assert checks["file_signature"]["ok"] is False
    assert checks["signature"]["ok"] is True  # the QR itself is genuine


@pytest.mark.parametrize("tail", ["bytes", "incremental update"])
def test_pdf_with_bytes_appended_after_eof_is_not_valid(api: Harness, tail: str) -> None:
    data = issued_pdf(api, 3)
    if tail == "bytes":
        data += b"% appended after signing\n"
    else:  # a new revision, as a PDF editor saves one: the signed revision is untouched
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        writer.root["/Extra"] = writer.add_object(generic.TextStringObject("added later"))
        writer.update_root()
        out = io.BytesIO()
        writer.write(out)
        data = out.getvalue()
    body, checks = judged(api, data)
    assert body["verdict"] == "not_valid" and body["reason"] == "file_altered"
    assert "changed after it was signed" in checks["file_signature"]["detail"]


def test_pdf_signed_by_a_certificate_not_from_the_root_is_not_valid(api: Harness) -> None:
    body, checks = judged(api, issued_pdf(api, 4, root=Ed25519PrivateKey.generate()))
    assert body["verdict"] == "not_valid" and body["reason"] == "file_altered"
    assert "national trust root" in checks["file_signature"]["detail"]


def crl_revoking(root: Any, serial: int) -> bytes:
    """A document-signing CRL, as ``jiaozi trust revoke-docsign`` writes it, signed by ``root``."""
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test root")]))
        .last_update(now)
        .next_update(now + dt.timedelta(days=30))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
        )
    )
    digest = None if isinstance(root, Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(root, digest).public_bytes(serialization.Encoding.DER)


def test_pdf_signed_by_a_revoked_document_certificate_is_not_valid(
    api: Harness, tmp_path: Path
) -> None:
    """The ceremony's CRL, delivered beside the pinned root JWKS, is honoured on the next
    upload; a CRL the pinned root did not sign is ignored (it cannot lift or add one)."""
    data = issued_pdf(api, 8)
    (sig,) = PdfFileReader(io.BytesIO(data)).embedded_signatures
    serial = sig.signer_cert.serial_number
    body, _checks = judged(api, data)
    assert body["verdict"] == "valid"
    assert (tmp_path / "root.jwks.json").exists()  # where the harness pins the root
    (tmp_path / "docsign.crl").write_bytes(crl_revoking(Ed25519PrivateKey.generate(), serial))
    body, _checks = judged(api, data)
    assert body["verdict"] == "valid"  # a forged CRL is refused
    (tmp_path / "docsign.crl").write_bytes(crl_revoking(root_private_key(api.world), serial))
    body, checks = judged(api, data)
    assert body["verdict"] == "not_valid" and body["reason"] == "file_altered"
    assert checks["file_signature"]["ok"] is False
    assert checks["signature"]["ok"] is True  # the QR itself is still genuine


def test_unsigned_pdf_with_a_genuine_qr_is_valid_and_says_so(api: Harness) -> None:
    issued = api.world.issue(idx=505)
    body, checks = judged(api, pdf(qr_url(VERIFIER_URL, issued.qr_token), issued.credential))
    assert body["verdict"] == "valid"
    assert checks["file_signature"]["ok"] is None
    assert "not signed" in checks["file_signature"]["detail"]


def test_photo_is_judged_by_its_qr_and_the_file_noted_as_not_signed(api: Harness) -> None:
    token = api.world.issue(idx=506).qr_token
    body, checks = judged(api, photo(qr_url(VERIFIER_URL, token)), "scan.png", "image/png")
    assert body["verdict"] == "valid"
    assert checks["file_signature"]["ok"] is None


def test_unreadable_pdf_signature_leaves_the_qr_verdict_and_says_so(api: Harness) -> None:
    data = issued_pdf(api, 5)
    hole = data.index(b"/Contents <") + len(b"/Contents <")
    body, checks = judged(api, flipped(data, hole + 2))  # no longer a CMS
    assert body["verdict"] == "valid"
    assert checks["file_signature"]["ok"] is None
    assert "cannot be read" in checks["file_signature"]["detail"]


def test_file_altered_in_chinese(api: Harness) -> None:
    data = issued_pdf(api, 6) + b"\n"
    r = upload(api, data, "c.pdf", "application/pdf")
    body = r.json()
    assert body["reason"] == "file_altered"
    check = {c["name"]: c for c in body["checks"]}["file_signature"]
    assert check["detail"] == "PDF文件在签名后被修改"


def test_json_verification_has_no_file_check(api: Harness) -> None:
    token = api.world.issue(idx=507).qr_token
    result = api.client.post("/api/v1/verify", json={"qr": token}).json()
    assert "file_signature" not in [c["name"] for c in result["checks"]]


def test_the_page_explains_every_reason_in_both_languages() -> None:
    for lang in ("zh", "en"):
        assert set(STRINGS[lang]["js"]["reasons"]) == {r.value for r in Reason}, lang
