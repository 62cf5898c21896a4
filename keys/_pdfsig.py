"""Checking a PDF's own signature (PAdES B-B, as ``keys.PadesSigner`` makes it) without
pyHanko, for the verifier.

The verifier judges a certificate by its QR and attached credential; this says whether the
file around them is still the file the office signed:

- the signature dictionary's ``/ByteRange`` must cover the whole file except the
  ``/Contents`` hole (bytes appended after signing, even an incremental update, are a
  change: an e-licence PDF is only as issued when the signature covers all of it);
- the CMS SignedData's message-digest must be SHA-256 over those ranges, and its ECDSA
  P-256 signature over the signed attributes must verify with the signer certificate's key;
- the signer certificate must be issued by one of the pinned root keys (the key that signs
  the trust list also certifies each office's document-signing key, ``keys._x509``),
  carry the Document Signing extended key usage, and not be revoked (its serial number
  in the root's document-signing CRL, ``keys.revoked_serials``).

Parsing is defensive: the ``/Contents`` hole and the CMS are size-bounded, the DER reader
takes definite lengths only and nests only as deep as this structure does, and nothing is
decompressed. Anything it cannot read is ``CANNOT_JUDGE``, never an exception.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ._cms import _oid
from ._x509 import DOCUMENT_SIGNING_EKU

__all__ = ["PdfSignatureCheck", "PdfSignatureOutcome", "check_pdf_signature"]

RootKey = Ed25519PublicKey | ec.EllipticCurvePublicKey

#: the largest ``/Contents`` hole read (hex digits); the issuer's is ~6 kB
MAX_CONTENTS_HEX = 64 * 1024
#: the most signature dictionaries looked at in one file
MAX_SIGNATURES = 4
#: the most certificates read from one CMS
MAX_CERTIFICATES = 8

_BYTE_RANGE = re.compile(
    rb"/ByteRange\s*\[\s*(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s*\]"
)
_HEX = re.compile(rb"[0-9A-Fa-f\s]*")

# OIDs as their full DER TLVs (``_cms._oid``)
_ID_DATA = _oid("1.2.840.113549.1.7.1")
_ID_SIGNED_DATA = _oid("1.2.840.113549.1.7.2")
_ATTR_CONTENT_TYPE = _oid("1.2.840.113549.1.9.3")
_ATTR_MESSAGE_DIGEST = _oid("1.2.840.113549.1.9.4")
_SHA256 = _oid("2.16.840.1.101.3.4.2.1")
_ECDSA_WITH_SHA256 = _oid("1.2.840.10045.4.3.2")
_EC_PUBLIC_KEY = _oid("1.2.840.10045.2.1")  # some producers name the key, not the scheme


class PdfSignatureOutcome(StrEnum):
    """What a PDF's own signature says about the file."""

    INTACT = "signed_intact"  # signed by an office's certified key, nothing changed since
    CHANGED = "changed_after_signing"  # a signed byte changed, or bytes added after signing
    UNTRUSTED = "signer_untrusted"  # signed, but not by a certificate of a pinned root key
    NOT_SIGNED = "not_signed"  # no signature at all (a scan, a re-saved file)
    CANNOT_JUDGE = "cannot_judge"  # a signature this check cannot read


@dataclass(frozen=True, slots=True)
class PdfSignatureCheck:
    outcome: PdfSignatureOutcome
    detail: str  # English, for logs and the check's text


class _Unreadable(Exception):
    pass


class _Changed(Exception):
    pass


class _Untrusted(Exception):
    pass


# --- a minimal DER reader ------------------------------------------------------------------


def _read(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Return (tag, content start, content end) of the TLV at ``pos``, inside ``end``."""
    if pos + 2 > end:
        raise _Unreadable("truncated DER")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise _Unreadable("high tag numbers are not used here")
    first = buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > end:
            raise _Unreadable("indefinite or oversized DER length")
        length = int.from_bytes(buf[pos : pos + n], "big")
        pos += n
    if pos + length > end:
        raise _Unreadable("DER length past its container")
    return tag, pos, pos + length


def _children(buf: bytes, start: int, end: int, limit: int = 16) -> list[tuple[int, int, int, int]]:
    """Return (tag, TLV start, content start, content end) of each TLV in [start, end)."""
    out: list[tuple[int, int, int, int]] = []
    pos = start
    while pos < end:
        if len(out) >= limit:
            raise _Unreadable("too many DER elements")
        tag, c0, c1 = _read(buf, pos, end)
        out.append((tag, pos, c0, c1))
        pos = c1
    return out


def _expect(item: tuple[int, int, int, int], tag: int) -> tuple[int, int]:
    if item[0] != tag:
        raise _Unreadable(f"DER tag {item[0]:#x} where {tag:#x} was expected")
    return item[2], item[3]


def _first_oid(buf: bytes, start: int, end: int) -> bytes:
    """The DER TLV of the OID an AlgorithmIdentifier (or Attribute) starts with."""
    items = _children(buf, start, end)
    if not items or items[0][0] != 0x06:
        raise _Unreadable("no OID")
    return buf[items[0][1] : items[0][3]]


# --- the CMS -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SignedData:
    signed_attrs: bytes  # the SET OF as signed (tag 0x31)
    message_digest: bytes
    signature: bytes
    issuer: bytes  # DER Name of the signer certificate's issuer
    serial: int
    certificates: tuple[bytes, ...]


def _parse_cms(der: bytes) -> _SignedData:
    _tag, c0, c1 = _read(der, 0, len(der))
    if _tag != 0x30:
        raise _Unreadable("the CMS is not a SEQUENCE")
    info = _children(der, c0, c1)
    if len(info) != 2 or der[info[0][1] : info[0][3]] != _ID_SIGNED_DATA:
        raise _Unreadable("the CMS is not SignedData")
    s0, s1 = _expect(info[1], 0xA0)
    inner = _children(der, s0, s1, limit=1)
    if len(inner) != 1:
        raise _Unreadable("no SignedData")
    parts = _children(der, *_expect(inner[0], 0x30))
    if len(parts) < 4:
        raise _Unreadable("SignedData is too short")
    encap = _children(der, *_expect(parts[2], 0x30))
    if not encap or der[encap[0][1] : encap[0][3]] != _ID_DATA or len(encap) != 1:
        raise _Unreadable("not a detached signature over data")
    certificates: list[bytes] = []
    rest = parts[3:]
    if rest and rest[0][0] == 0xA0:
        for item in _children(der, rest[0][2], rest[0][3], limit=MAX_CERTIFICATES):
            certificates.append(der[item[1] : item[3]])
        rest = rest[1:]
    if rest and rest[0][0] == 0xA1:  # revocation data: not read
        rest = rest[1:]
    if len(rest) != 1:
        raise _Unreadable("SignedData has unexpected members")
    signers = _children(der, *_expect(rest[0], 0x31))
    if len(signers) != 1:
        raise _Unreadable("not exactly one signer")
    si = _children(der, *_expect(signers[0], 0x30))
    if len(si) < 6:
        raise _Unreadable("SignerInfo is too short")
    sid = _children(der, *_expect(si[1], 0x30))
    if len(sid) != 2 or sid[0][0] != 0x30:
        raise _Unreadable("the signer is not named by issuer and serial number")
    serial_start, serial_end = _expect(sid[1], 0x02)
    if _first_oid(der, *_expect(si[2], 0x30)) != _SHA256:
        raise _Unreadable("the digest is not SHA-256")
    a0, a1 = _expect(si[3], 0xA0)
    if _first_oid(der, *_expect(si[4], 0x30)) not in (_ECDSA_WITH_SHA256, _EC_PUBLIC_KEY):
        raise _Unreadable("the signature is not ECDSA with SHA-256")
    sig0, sig1 = _expect(si[5], 0x04)
    content_type = digest = None
    for attr in _children(der, a0, a1):
        items = _children(der, *_expect(attr, 0x30))
        if len(items) != 2:
            raise _Unreadable("a malformed signed attribute")
        oid = der[items[0][1] : items[0][3]]
        values = _children(der, *_expect(items[1], 0x31))
        if oid == _ATTR_CONTENT_TYPE and len(values) == 1:
            content_type = der[values[0][1] : values[0][3]]
        elif oid == _ATTR_MESSAGE_DIGEST and len(values) == 1:
            digest = der[slice(*_expect(values[0], 0x04))]
    if content_type != _ID_DATA or digest is None:
        raise _Unreadable("the signed attributes lack content-type or message-digest")
    return _SignedData(
        signed_attrs=b"\x31" + der[si[3][1] + 1 : a1],
        message_digest=digest,
        signature=der[sig0:sig1],
        issuer=der[sid[0][1] : sid[0][3]],
        serial=int.from_bytes(der[serial_start:serial_end], "big", signed=True),
        certificates=tuple(certificates),
    )


def _issued_by_root(cert: x509.Certificate, roots: Sequence[RootKey]) -> bool:
    for root in roots:
        try:
            if isinstance(root, Ed25519PublicKey):
                root.verify(cert.signature, cert.tbs_certificate_bytes)
            else:
                algorithm = cert.signature_hash_algorithm
                if algorithm is None:
                    continue
                root.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
            continue
        return True
    return False


def _signs_documents(cert: x509.Certificate) -> bool:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return any(usage.dotted_string == DOCUMENT_SIGNING_EKU for usage in eku)


def _check_one(
    data: bytes,
    a: int,
    b: int,
    c: int,
    d: int,
    roots: Sequence[RootKey],
    revoked: Collection[int] = (),
) -> None:
    """Raise _Changed, _Untrusted or _Unreadable; return when intact and trusted."""
    if a != 0 or b <= 0 or c <= a + b or d < 0:
        raise _Unreadable("a byte range that does not describe a signature")
    if c + d != len(data):
        raise _Changed("the signature does not cover the whole file (changed after signing)")
    if data[b : b + 1] != b"<" or data[c - 1 : c] != b">":
        raise _Unreadable("the byte range's hole is not the /Contents string")
    hole = data[b + 1 : c - 1]
    if len(hole) > MAX_CONTENTS_HEX or not _HEX.fullmatch(hole):
        raise _Unreadable("the /Contents string is too long or not hexadecimal")
    try:
        der = bytes.fromhex(hole.decode("ascii"))
    except ValueError as exc:
        raise _Unreadable("the /Contents string is not hexadecimal") from exc
    signed = _parse_cms(der)
    digest = hashlib.sha256()
    digest.update(memoryview(data)[:b])
    digest.update(memoryview(data)[c:])
    if digest.digest() != signed.message_digest:
        raise _Changed("the signed bytes were changed after signing")
    signer = None
    for raw in signed.certificates:
        try:
            cert = x509.load_der_x509_certificate(raw)
        except ValueError:
            continue
        if cert.serial_number == signed.serial and cert.issuer.public_bytes() == signed.issuer:
            signer = cert
            break
    if signer is None:
        raise _Unreadable("the signer's certificate is not in the signature")
    key = signer.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise _Untrusted("the signer's key is not a P-256 key")
    try:
        key.verify(signed.signature, signed.signed_attrs, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise _Changed("the signature does not verify (changed after signing)") from exc
    if not _signs_documents(signer) or not _issued_by_root(signer, roots):
        raise _Untrusted("the signer's certificate is not issued by the national root")
    if signer.serial_number in revoked:
        raise _Untrusted("the signer's certificate was revoked by the national root")


_ORDER = (
    PdfSignatureOutcome.CHANGED,
    PdfSignatureOutcome.UNTRUSTED,
    PdfSignatureOutcome.CANNOT_JUDGE,
    PdfSignatureOutcome.INTACT,
)


def check_pdf_signature(
    data: bytes, roots: Sequence[RootKey], revoked: Collection[int] = ()
) -> PdfSignatureCheck:
    """Judge the signature(s) of the PDF ``data`` against the pinned root keys ``roots``;
    a signer certificate whose serial number is in ``revoked`` is UNTRUSTED.

    Every signature dictionary found (at most ``MAX_SIGNATURES``) is checked; the worst
    outcome wins (changed, untrusted, cannot judge, intact). A file without one is
    ``NOT_SIGNED``. Never raises for anything the file contains.
    """
    ranges: list[tuple[int, ...]] = []
    for match in _BYTE_RANGE.finditer(data):
        if len(ranges) >= MAX_SIGNATURES:
            return PdfSignatureCheck(
                PdfSignatureOutcome.CANNOT_JUDGE, "too many signatures in the file"
            )
        ranges.append(tuple(int(g) for g in match.groups()))
    if not ranges:
        return PdfSignatureCheck(PdfSignatureOutcome.NOT_SIGNED, "the file is not signed")
    results: list[PdfSignatureCheck] = []
    for a, b, c, d in ranges:
        try:
            _check_one(data, a, b, c, d, roots, revoked)
        except _Changed as exc:
            results.append(PdfSignatureCheck(PdfSignatureOutcome.CHANGED, str(exc)))
        except _Untrusted as exc:
            results.append(PdfSignatureCheck(PdfSignatureOutcome.UNTRUSTED, str(exc)))
        except _Unreadable as exc:
            results.append(PdfSignatureCheck(PdfSignatureOutcome.CANNOT_JUDGE, str(exc)))
        except Exception:  # a damaged certificate or key the library refuses to load
            results.append(
                PdfSignatureCheck(PdfSignatureOutcome.CANNOT_JUDGE, "the signature cannot be read")
            )
        else:
            results.append(
                PdfSignatureCheck(
                    PdfSignatureOutcome.INTACT, "signed by the issuing office, unchanged since"
                )
            )
    return min(results, key=lambda r: _ORDER.index(r.outcome))
