"""The CMS of a PAdES baseline B-B PDF signature, made directly in DER.

A PAdES B-B signature (ETSI EN 319 142-1) is a detached CMS SignedData over the PDF's
signed byte ranges with exactly three signed attributes: content-type (id-data),
message-digest, and the ESS signing-certificate-v2 naming the signer's certificate (no
signing-time: PAdES puts the time in the signature dictionary's ``/M``). Everything in
that structure but the digest and the ECDSA signature is the same for every PDF an office
signs, so it is assembled once per key here and the per-document work is one SHA-256
already done by the caller, one ECDSA signature and a few byte concatenations, rather
than building the whole structure through asn1crypto (pyHanko) for every PDF (the cost
is in bench/). pyHanko remains the validator the tests hold these signatures to.

The DER encoder below covers only what this structure needs (SEQUENCE, SET OF, OID,
INTEGER, OCTET STRING, NULL, context tags); its output is pinned by known-answer tests.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ._errors import KeysError, WrongPassphraseError
from ._x509 import DocumentSigningKey

__all__ = ["PadesSigner", "pades_signer"]

# ECDSA P-256 signatures in DER are at most 72 bytes (two 33-byte INTEGERs and headers).
_MAX_ECDSA_DER = 72


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _set_of(*parts: bytes) -> bytes:
    # DER orders the members of a SET OF by their encodings (X.690 11.6).
    return _tlv(0x31, b"".join(sorted(parts)))


def _oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray((40 * arcs[0] + arcs[1],))
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _int(n: int) -> bytes:
    body = n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True)
    return _tlv(0x02, body)


def _octets(data: bytes) -> bytes:
    return _tlv(0x04, data)


_ID_DATA = _oid("1.2.840.113549.1.7.1")
_ID_SIGNED_DATA = _oid("1.2.840.113549.1.7.2")
_ATTR_CONTENT_TYPE = _oid("1.2.840.113549.1.9.3")
_ATTR_MESSAGE_DIGEST = _oid("1.2.840.113549.1.9.4")
_ATTR_SIGNING_CERTIFICATE_V2 = _oid("1.2.840.113549.1.9.16.2.47")
# sha256 with explicit NULL parameters, as pyHanko and most CAdES producers write it
_SHA256 = _seq(_oid("2.16.840.1.101.3.4.2.1"), b"\x05\x00")
_ECDSA_WITH_SHA256 = _seq(_oid("1.2.840.10045.4.3.2"))


class PadesSigner:
    """Signs SHA-256 digests of PDF byte ranges as PAdES B-B CMS SignedData (DER).

    Made once per document-signing key (``pades_signer``); ``sign`` is cheap.
    """

    __slots__ = ("_certificates", "_content_type_attr", "_key", "_max_size", "_sid_alg", "_sscv2")

    def __init__(
        self, key: ec.EllipticCurvePrivateKey, cert_der: bytes, chain_der: Sequence[bytes]
    ) -> None:
        """Raises KeysError when the key is not P-256 or does not match ``cert_der``."""
        try:
            cert = x509.load_der_x509_certificate(cert_der)
            for der in chain_der:
                x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise KeysError(f"a document-signing certificate does not parse: {exc}") from exc
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeysError("the document-signing key is not a P-256 key")
        if cert.public_key() != key.public_key():
            raise KeysError("the document-signing key does not match its certificate")
        self._key = key
        issuer_name = cert.issuer.public_bytes()
        serial = _int(cert.serial_number)
        self._sid_alg = (
            _int(1) + _seq(issuer_name, serial) + _SHA256  # version, sid, digestAlgorithm
        )
        # SigningCertificateV2 { certs { ESSCertIDv2 { certHash, issuerSerial } } }; the
        # hash algorithm is SHA-256, the default, so DER leaves it out.
        issuer_serial = _seq(_seq(_tlv(0xA4, issuer_name)), serial)
        ess_cert_id = _seq(_octets(hashlib.sha256(cert_der).digest()), issuer_serial)
        self._sscv2 = _seq(_ATTR_SIGNING_CERTIFICATE_V2, _set_of(_seq(_seq(ess_cert_id))))
        self._content_type_attr = _seq(_ATTR_CONTENT_TYPE, _set_of(_ID_DATA))
        self._certificates = _tlv(0xA0, b"".join(sorted([cert_der, *chain_der])))
        self._max_size = len(self._assemble(bytes(32), b"\x30" + bytes(_MAX_ECDSA_DER - 1)))

    @property
    def max_size(self) -> int:
        """The largest DER ``sign`` can return (the room a PDF must reserve for it)."""
        return self._max_size

    def _signed_attrs(self, digest: bytes) -> bytes:
        """The DER SET OF the three signed attributes (tag 0x31, as signed)."""
        md = _seq(_ATTR_MESSAGE_DIGEST, _set_of(_octets(digest)))
        return _set_of(self._content_type_attr, md, self._sscv2)

    def _assemble(self, digest: bytes, signature: bytes) -> bytes:
        signed_attrs = self._signed_attrs(digest)
        signer_info = _seq(
            self._sid_alg,
            b"\xa0" + signed_attrs[1:],  # [0] IMPLICIT: the same SET with a context tag
            _ECDSA_WITH_SHA256,
            _octets(signature),
        )
        signed_data = _seq(
            _int(1),
            _set_of(_SHA256),
            _seq(_ID_DATA),  # detached: no eContent
            self._certificates,
            _set_of(signer_info),
        )
        return _seq(_ID_SIGNED_DATA, _tlv(0xA0, signed_data))

    def sign(self, digest: bytes) -> bytes:
        """Return the DER ContentInfo signing ``digest`` (SHA-256 of the signed bytes).

        Raises ValueError for a digest that is not 32 bytes.
        """
        if len(digest) != 32:
            raise ValueError("a SHA-256 digest is 32 bytes")
        signature = self._key.sign(self._signed_attrs(digest), ec.ECDSA(hashes.SHA256()))
        return self._assemble(digest, signature)


@functools.lru_cache(maxsize=8)
def pades_signer(document_key: DocumentSigningKey) -> PadesSigner:
    """Return the PAdES signer of an office's document-signing key (cached: opening the
    encrypted key costs a key derivation). Raises WrongPassphraseError or KeysError."""
    try:
        key = serialization.load_pem_private_key(document_key.key_pem, document_key.password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise WrongPassphraseError(
            "cannot open the document-signing key: wrong passphrase or damaged key file",
            code="wrong_passphrase_docsign",
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeysError("the document-signing key is not an EC key")
    return PadesSigner(key, document_key.cert_der, document_key.chain_der)
