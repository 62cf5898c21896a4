"""Signing a certificate PDF: the credential JWS attached, then a PAdES B-B signature.

The e-licence JWS goes in first as an attached file ``<certificate number>.vc.jwt`` (the
name the verifier's extractor looks for), so the signature covers it; then pyHanko adds an
invisible PAdES baseline B-B signature (``ETSI.CAdES.detached``, SHA-256) in the field
``JiaoziSignature`` with the signer's certificate and its chain in the CMS. Both are
incremental updates of the rendered page; the signature covers the whole file it returns.
The keys and certificates come from ``keys.office_document_key``. See docs/pdf.md.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_private_key_from_pemder_data
from pyhanko.pdf_utils import embed
from pyhanko.pdf_utils.generic import NameObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ._errors import PdfError

__all__ = ["CREDENTIAL_MEDIA_TYPE", "SIGNATURE_FIELD", "PdfSignError", "sign_certificate_pdf"]

SIGNATURE_FIELD = "JiaoziSignature"
CREDENTIAL_MEDIA_TYPE = "application/vc+jwt"
_CMS_OVERHEAD = 1024
_JWS_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


class PdfSignError(PdfError):
    """The PDF cannot be signed: a bad key, password or certificate, or an unusable JWS."""


def _key_matches(key: asn1_keys.PrivateKeyInfo, cert: asn1_x509.Certificate) -> bool:
    """Compare the EC point a PKCS#8 EC key carries with the certificate's (a key without
    the optional point, or a non-EC key, is not checked here: its signature would fail
    validation)."""
    if key.algorithm != "ec" or cert.public_key.algorithm != "ec":
        return bool(key.algorithm == cert.public_key.algorithm)
    point = key["private_key"].parsed["public_key"]
    if not point.native:
        return True
    return bool(point.native == cert.public_key["public_key"].native)


@functools.lru_cache(maxsize=8)
def _signer(
    signer_key_pem: bytes, password: bytes | None, cert_der: bytes, chain_der: tuple[bytes, ...]
) -> signers.SimpleSigner:
    """Return a pyHanko signer; cached per key and chain (a batch signs with one key: the
    PEM decryption and certificate parsing, ~2 ms, happen once per process)."""
    try:
        key = load_private_key_from_pemder_data(signer_key_pem, password)
        cert = asn1_x509.Certificate.load(cert_der)
        chain = [asn1_x509.Certificate.load(der) for der in chain_der]
        _ = cert.public_key, [c.subject for c in chain]  # parse now, fail here
    except (ValueError, TypeError) as exc:
        raise PdfSignError(f"cannot load the document-signing key or certificates: {exc}") from exc
    if not _key_matches(key, cert):
        raise PdfSignError("the document-signing key does not match its certificate")
    return signers.SimpleSigner(
        signing_cert=cert,
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
    )


def _reserve(cert_der: bytes, chain_der: Sequence[bytes]) -> int:
    """Room for the CMS in hex digits (pyHanko writes it as a hex string: twice its DER
    size): its certificates plus 1 KiB for the signed attributes and the signature (they
    take about 420 bytes with P-256). Giving pyHanko the size saves its trial signature
    and trial write (27 ms became 16 ms a PDF). pyHanko refuses, rather than truncates, a
    CMS that does not fit."""
    return 2 * (len(cert_der) + sum(len(c) for c in chain_der) + _CMS_OVERHEAD)


def sign_certificate_pdf(
    pdf: bytes,
    *,
    credential_jws: str | None,
    certificate_number: str,
    signer_key_pem: bytes,
    password: bytes | None,
    cert_der: bytes,
    chain_der: Sequence[bytes],
) -> bytes:
    """Return ``pdf`` with ``credential_jws`` attached as ``<certificate_number>.vc.jwt``
    (nothing attached when it is None: a purpose-bound copy) and a PAdES B-B signature
    over the whole result.

    ``signer_key_pem`` is a PKCS#8 PEM (encrypted under ``password``, or not) of the key
    certified by ``cert_der``; ``chain_der`` its issuers up to the root, embedded in the
    signature. Raises PdfSignError.
    """
    if credential_jws is not None and (
        not credential_jws
        or credential_jws.count(".") != 2
        or not set(credential_jws) <= _JWS_ALPHABET
    ):
        raise PdfSignError("credential_jws is not a compact JWS")
    if not certificate_number or not certificate_number.isascii() or "/" in certificate_number:
        raise PdfSignError(f"unusable certificate number {certificate_number!r}")
    signer = _signer(signer_key_pem, password, cert_der, tuple(chain_der))
    name = f"{certificate_number}.vc.jwt"
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    except Exception as exc:  # pyHanko raises several types for an unreadable PDF
        raise PdfSignError(f"not a PDF pyHanko can read: {exc}") from exc
    if credential_jws is not None:
        data = embed.EmbeddedFileObject.from_file_data(
            writer,
            credential_jws.encode("ascii"),
            mime_type=CREDENTIAL_MEDIA_TYPE,
        )
        embed.embed_file(
            writer,
            embed.FileSpec(
                file_spec_string=name,
                file_name=name,
                embedded_data=data,
                description="电子证照 e-licence (W3C VC, JWS)",
                af_relationship=NameObject("/Source"),
            ),
        )
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    out = io.BytesIO()
    try:
        signers.PdfSigner(meta, signer).sign_pdf(
            writer, output=out, bytes_reserved=_reserve(cert_der, chain_der)
        )
    except SigningError as exc:  # e.g. an Ed25519 key, which needs SHA-512
        raise PdfSignError(f"cannot sign: {exc}") from exc
    return out.getvalue()
