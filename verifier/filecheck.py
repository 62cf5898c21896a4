"""The check a file's own signature adds to a verification result (``file_signature``):
a PDF's signature judged against the pinned root keys; a PNG or JPEG is never signed.

One table and one function, used by the API (``app.service``) and by ``jiaozi verify
FILE`` offline alike, so both give a PDF changed after signing the same verdict
(``not_valid``, ``file_altered``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

from credential import Check, PublicKey, Reason, Sm2PublicKey
from keys import PdfSignatureOutcome, check_pdf_signature

__all__ = ["FILE_CHECK", "file_check", "file_signature"]

log = logging.getLogger("jiaozi.verifier")

#: the name of the check an uploaded file adds to the result (after the contract's eight)
FILE_CHECK = "file_signature"
_O = PdfSignatureOutcome
_FILE_CHECKS = {
    _O.INTACT: Check(
        FILE_CHECK,
        True,
        "the PDF is signed by the issuing office and unchanged since",
        "PDF文件由认定机构签名，签名后未被修改",
    ),
    _O.CHANGED: Check(
        FILE_CHECK,
        False,
        "the PDF was changed after it was signed",
        "PDF文件在签名后被修改",
        Reason.FILE_ALTERED,
    ),
    _O.UNTRUSTED: Check(
        FILE_CHECK,
        False,
        "the PDF is signed, but not by a certificate of the national trust root",
        "PDF文件的签名并非来自国家信任根认证的证书",
        Reason.FILE_ALTERED,
    ),
    _O.NOT_SIGNED: Check(
        FILE_CHECK,
        None,
        "the file itself is not signed: judged by its QR code and e-licence alone",
        "文件本身未经签名：仅依据二维码和电子证照判断",
    ),
    _O.CANNOT_JUDGE: Check(
        FILE_CHECK,
        None,
        "the PDF's signature cannot be read: judged by its QR code and e-licence alone",
        "无法读取PDF文件的签名：仅依据二维码和电子证照判断",
    ),
}


def file_check(outcome: PdfSignatureOutcome) -> Check:
    """Return the check a file's own signature adds (a photo or scan: not signed)."""
    return _FILE_CHECKS[outcome]


def file_signature(
    kind: str, data: bytes, roots: Sequence[PublicKey], revoked: Collection[int] = ()
) -> Check:
    """Return the check of a file's own signature: a PDF's (``kind`` ``pdf``) against
    the pinned root keys ``roots`` (they also certify the offices' PDF-signing keys), a
    signer certificate whose serial is in ``revoked`` (the root's document-signing CRL)
    untrusted; any other kind is not signed. Never raises for what the file contains."""
    if kind != "pdf":
        return file_check(PdfSignatureOutcome.NOT_SIGNED)
    # the roots certify PDF keys by X.509; an SM2 key is never a root (keys/ refuses it)
    pins = [r.key for r in roots if not isinstance(r.key, Sm2PublicKey)]
    found = check_pdf_signature(data, pins, revoked)
    if found.outcome not in (PdfSignatureOutcome.INTACT, PdfSignatureOutcome.NOT_SIGNED):
        log.info("PDF: %s (%s)", found.outcome.value, found.detail)
    return file_check(found.outcome)
