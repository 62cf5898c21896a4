"""The holder's photo judged against the e-licence (issue 15 point 1): the check a
verification adds for what was presented, after the contract's eight (as the file's own
signature check is added).

An office binds the photo into the credential by its digest (``credentialSubject.photo``,
``digestSRI``) and attaches the photo to the signed PDF as ``photo.jpg``. So:

- a PDF whose credential binds a photo must carry exactly that photo: a swapped, removed
  or added photo fails the check (``photo_mismatch``, ``not_valid``);
- a match passes, and only then may the photo be shown;
- where the input cannot carry a photo (a QR code, a pasted e-licence, a photo of the
  page) or the certificate has none, the check is not a failure: it says so (``ok`` None).

Nothing is judged for a result whose signature did not verify (no ``certificate``).
"""

from __future__ import annotations

import hmac

from ._credential import photo_digest
from ._result import Check, Reason, VerificationResult

__all__ = ["PHOTO_CHECK", "photo_check"]

#: the name of the photo check in a result (after the contract's eight)
PHOTO_CHECK = "photo"

_NOT_CHECKED = Check(PHOTO_CHECK, None, "not checked", "未检查")
_MATCH = Check(
    PHOTO_CHECK,
    True,
    "the holder's photo in the PDF matches the e-licence",
    "PDF中的持证人照片与电子证照一致",
)
_NO_PHOTO = Check(
    PHOTO_CHECK,
    None,
    "this certificate was issued without a photo",
    "该证书签发时未附持证人照片",
)
_NOT_CARRIED = Check(
    PHOTO_CHECK,
    None,
    "the e-licence binds the holder's photo, which can be compared only on the PDF"
    " certificate: upload the PDF to see it",
    "电子证照绑定了持证人照片，仅能在PDF证书上比对：上传PDF证书即可查看",
)
_NOT_IN_INPUT = Check(
    PHOTO_CHECK,
    None,
    "a QR code carries no photo: the holder's photo, if the certificate has one, is shown"
    " when the PDF certificate is uploaded",
    "二维码不含照片：如证书附有持证人照片，上传PDF证书即可查看",
)
_REMOVED = Check(
    PHOTO_CHECK,
    False,
    "the e-licence binds a photo that the PDF does not carry (removed)",
    "电子证照绑定了持证人照片，但PDF中没有该照片（已被删除）",
    Reason.PHOTO_MISMATCH,
)
_UNBOUND = Check(
    PHOTO_CHECK,
    False,
    "the PDF carries a photo that its e-licence does not bind (added)",
    "PDF中附有照片，但电子证照未绑定任何照片（被添加）",
    Reason.PHOTO_MISMATCH,
)
_SWAPPED = Check(
    PHOTO_CHECK,
    False,
    "the photo in the PDF is not the one the e-licence binds (swapped)",
    "PDF中的照片与电子证照绑定的照片不符（已被替换）",
    Reason.PHOTO_MISMATCH,
)


def photo_check(result: VerificationResult, photo: bytes | None, *, in_pdf: bool) -> Check:
    """Return the photo check for ``result``: ``photo`` is the ``photo.jpg`` found beside
    the credential in an uploaded PDF (``in_pdf``), None when there was none; for any other
    input (``in_pdf`` False) there is nothing to compare, and the check says so.

    A JSON verification (a scanned QR's text, a pasted e-licence) adds this check only
    when the credential binds a photo (the verifier's ``Verifier.judge``): the contract's
    eight checks stay the whole answer for a certificate without one."""
    cert = result.certificate
    if cert is None:
        return _NOT_CHECKED
    bound = cert.photo_digest
    if not in_pdf:
        return _NOT_CARRIED if bound is not None else _NOT_IN_INPUT
    if bound is None:
        return _NO_PHOTO if photo is None else _UNBOUND
    if photo is None:
        return _REMOVED
    if not hmac.compare_digest(photo_digest(photo), bound):
        return _SWAPPED
    return _MATCH
