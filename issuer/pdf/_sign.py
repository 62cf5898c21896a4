"""A signed certificate PDF in one pass: the page, the credential attached, a PAdES B-B
signature over the whole file.

The page is drawn with everything a signed PDF needs already in it: the credential JWS as
an attached file ``<certificate number>.vc.jwt`` (in the EmbeddedFiles name tree and the
catalog's ``/AF``, relationship ``/Source``: the name the verifier's extractor looks for),
an invisible signature field ``JiaoziSignature`` on the first page, and its signature
dictionary (``/Adobe.PPKLite``, ``/ETSI.CAdES.detached``) with a ``/ByteRange`` and a
zero-filled ``/Contents`` of fixed size. Once reportlab has written the file, the byte
range is filled in, SHA-256 is taken over everything but the ``/Contents`` string, and
the CMS from ``keys.PadesSigner`` is written into it. No second parse, no incremental
update: the signature covers the entire file as first written. pyHanko (tests) validates
the result as intact and trusted; docs/pdf.md has the measurements behind the design.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from reportlab.pdfbase.pdfdoc import (
    Annotation,
    PDFArray,
    PDFCatalog,
    PDFDictionary,
    PDFStream,
    PDFString,
)
from reportlab.pdfgen.canvas import Canvas

from credential import Certificate
from keys import PadesSigner

from ._errors import PdfError
from ._fonts import _Formatted
from ._render import draw_pdf
from ._values import PrintItem

__all__ = [
    "CREDENTIAL_MEDIA_TYPE",
    "PHOTO_ATTACHMENT",
    "PHOTO_MEDIA_TYPE",
    "SIGNATURE_FIELD",
    "PdfSignError",
    "signed_certificate_pdf",
]

SIGNATURE_FIELD = "JiaoziSignature"
CREDENTIAL_MEDIA_TYPE = "application/vc+jwt"
PHOTO_ATTACHMENT = "photo.jpg"  # the holder's photo, beside the credential
PHOTO_MEDIA_TYPE = "image/jpeg"
_JWS_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_BYTE_RANGE_SLOT = b"[0 ########## ########## ##########]"
_CONTENTS_KEY = b" /Contents "


class PdfSignError(PdfError):
    """The PDF cannot be signed: an unusable JWS or certificate number, or a CMS that does
    not fit the room reserved for it."""


class _SignatureWidget(Annotation):  # type: ignore[misc]
    """The signature field merged with its widget: invisible (an empty /Rect), /F 132 =
    Print + Locked, as pyHanko writes it."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def format(self, document: Any) -> bytes:
        d = PDFDictionary(
            {
                "Type": "/Annot",
                "Subtype": "/Widget",
                "FT": "/Sig",
                "T": PDFString(SIGNATURE_FIELD),
                "V": self.value,
                "Rect": PDFArray([0, 0, 0, 0]),
                "F": 132,
            }
        )
        return d.format(document)  # type: ignore[no-any-return]


def _pdf_date(when: dt.datetime) -> bytes:
    return when.astimezone(dt.UTC).strftime("(D:%Y%m%d%H%M%S+00'00')").encode("ascii")


def _prepare(
    canvas: Canvas,
    *,
    credential_jws: str | None,
    certificate_number: str,
    contents_size: int,
    signed_at: dt.datetime,
    photo: bytes | None = None,
    credential_json: str | None = None,
) -> None:
    """Add the attachments, the signature field and its placeholder to ``canvas``."""
    doc = canvas._doc
    catalog = doc.Catalog
    files: list[tuple[str, bytes, str, str, str]] = []
    if credential_jws is not None:
        files.append(
            (
                f"{certificate_number}.vc.jwt",
                credential_jws.encode("ascii"),
                CREDENTIAL_MEDIA_TYPE,
                "电子证照 e-licence (W3C VC, JWS)",
                "/Source",
            )
        )
        if photo is not None:
            # only beside the credential: the photo is judged by the digest the credential
            # carries, and a purpose-bound copy carries no credential
            files.append((PHOTO_ATTACHMENT, photo, PHOTO_MEDIA_TYPE, "持证人照片 photo", "/Data"))
        if credential_json is not None:  # dual-signed (issue 16): beside, never instead
            files.append(
                (
                    f"{certificate_number}.vc.jws.json",
                    credential_json.encode("ascii"),
                    "application/jose+json",
                    "电子证照（EdDSA与SM2双签名）e-licence, dual-signed (JWS JSON)",
                    "/Source",
                )
            )
    if files:
        names: list[Any] = []
        specs: list[Any] = []
        # the EmbeddedFiles name tree's keys must be sorted
        for filename, data, media_type, desc, relationship in sorted(files):
            name = PDFString(filename)
            stream = PDFStream(
                PDFDictionary(
                    {
                        "Type": "/EmbeddedFile",
                        "Subtype": "/" + media_type.replace("/", "#2F"),
                        "Params": PDFDictionary({"Size": len(data)}),
                    }
                ),
                content=data,
            )
            filespec = doc.Reference(
                PDFDictionary(
                    {
                        "Type": "/Filespec",
                        "F": name,
                        "UF": name,
                        "EF": PDFDictionary({"F": stream, "UF": stream}),
                        "Desc": PDFString(desc),
                        "AFRelationship": relationship,
                    }
                )
            )
            names += [name, filespec]
            specs.append(filespec)
        catalog.Names = PDFDictionary({"EmbeddedFiles": PDFDictionary({"Names": PDFArray(names)})})
        # /AF (associated files, PDF 2.0 and PDF/A-3) is not among reportlab's catalog keys.
        catalog.__NoDefault__ = [*PDFCatalog.__NoDefault__, "AF"]
        catalog.AF = PDFArray(specs)
    value = doc.Reference(
        _Formatted(
            b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M "
            + _pdf_date(signed_at)
            + b" /ByteRange "
            + _BYTE_RANGE_SLOT
            + _CONTENTS_KEY
            + b"<"
            + b"0" * (2 * contents_size)
            + b"> >>"
        )
    )
    canvas._addAnnotation(_SignatureWidget(value), name=SIGNATURE_FIELD)
    catalog.AcroForm = PDFDictionary(
        {"Fields": PDFArray([doc.refAnnotation(SIGNATURE_FIELD)]), "SigFlags": 3}
    )


def _fill(pdf: bytes, signer: PadesSigner, contents_size: int) -> bytes:
    """Return ``pdf`` with its byte range written and its signature in place."""
    slot = pdf.find(_BYTE_RANGE_SLOT)
    if slot < 0 or pdf.find(_BYTE_RANGE_SLOT, slot + 1) >= 0:
        raise PdfSignError("the signature placeholder is missing or not unique")
    start = slot + len(_BYTE_RANGE_SLOT) + len(_CONTENTS_KEY)  # the "<" of /Contents
    end = start + 2 + 2 * contents_size  # just past its ">"
    if pdf[start : start + 1] != b"<" or pdf[end - 1 : end] != b">":
        raise PdfSignError("the signature contents placeholder is not where it was put")
    byte_range = b"[0 %-10d %-10d %-10d]" % (start, end, len(pdf) - end)
    out = bytearray(pdf)
    out[slot : slot + len(_BYTE_RANGE_SLOT)] = byte_range
    digest = hashlib.sha256(memoryview(out)[:start])
    digest.update(memoryview(out)[end:])
    cms = signer.sign(digest.digest()).hex().encode("ascii")
    if len(cms) > 2 * contents_size:
        raise PdfSignError("the signature does not fit the room reserved for it")
    out[start + 1 : start + 1 + len(cms)] = cms
    return bytes(out)


def signed_certificate_pdf(
    cert: Certificate,
    *,
    qr_text: str,
    verifier_url: str,
    signer: PadesSigner,
    credential_jws: str | None,
    layout: str = "v1",
    seal_png: bytes | None = None,
    purpose: str | None = None,
    purpose_expires: dt.date | None = None,
    signed_at: dt.datetime | None = None,
    seal_text: str | None = None,
    photo: bytes | None = None,
    credential_json: str | None = None,
) -> bytes:
    """Return the one-page A4 PDF of ``cert`` (as ``render_certificate`` draws it) with
    ``credential_jws`` attached as ``<certificate number>.vc.jwt`` (nothing attached when
    None: a purpose-bound copy must not carry the full identity number), ``photo`` (a
    JPEG, the one whose SHA-256 the credential binds) printed where the layout has a photo
    box and attached as ``photo.jpg`` beside the credential, and a PAdES B-B
    signature by ``signer`` over the whole file; ``signed_at`` (default now) is its /M.
    ``credential_json``, a dual-signed credential's JWS JSON serialization whose first
    signature is ``credential_jws`` (issue 16), is attached beside it as
    ``<certificate number>.vc.jws.json``.

    Raises PdfSignError for an unusable JWS or certificate number, and what
    ``render_certificate`` raises (all PdfError).
    """
    if credential_jws is not None and (
        not credential_jws
        or credential_jws.count(".") != 2
        or not set(credential_jws) <= _JWS_ALPHABET
    ):
        raise PdfSignError("credential_jws is not a compact JWS")
    if credential_json is not None and (
        credential_jws is None
        or not credential_json.isascii()
        or not credential_json.startswith("{")
    ):
        raise PdfSignError("credential_json comes with its compact credential_jws")
    number = cert.certificate_number
    if not number or not number.isascii() or not number.isdigit():
        raise PdfSignError(f"unusable certificate number {number!r}")
    size = signer.max_size
    when = signed_at or dt.datetime.now(dt.UTC)
    item = PrintItem(cert, qr_text, purpose, purpose_expires, seal_png, layout, seal_text, photo)

    def prepare(canvas: Canvas) -> None:
        _prepare(
            canvas,
            credential_jws=credential_jws,
            photo=photo,
            certificate_number=number,
            contents_size=size,
            signed_at=when,
            credential_json=credential_json,
        )

    pdf = draw_pdf([item], verifier_url=verifier_url, layout=layout, on_first_page=prepare)
    return _fill(pdf, signer, size)
