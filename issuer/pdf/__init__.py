"""The printable certificate: an A4 PDF in Chinese with embedded fonts and a QR to verify.

``render_certificate`` makes one page, ``render_many`` one print file for a batch,
``signed_certificate_pdf`` the signed page with the credential inside. Pages
are drawn from a versioned layout (``templates/certificate/<version>/layout.json``); a
certificate keeps the layout version it was made with. See docs/pdf.md.

Owns (private modules; the public surface is this module's ``__all__``): ``_values``
(what a page prints), ``_layout`` (the versioned layouts), ``_style`` (a layout loaded
for drawing), ``_fonts`` (embedded faces and their fallback chain), ``_printable``
(whether a text fits and can be drawn: what validation asks), ``_page`` (one page
drawn), ``_qr``, ``_outline`` (text as outlines), ``_render`` (the PDF documents),
``_sign`` (the signed page with the credential attached), ``_letters`` (claim letters:
a teacher's claim code on paper), ``_errors``.

May import: ``credential``, ``keys``. No database, no web framework, nothing else of
``issuer``.
"""

from ._errors import (
    FieldTooLongError,
    FontUnavailableError,
    GlyphMissingError,
    LayoutError,
    PdfError,
)
from ._layout import available_layouts
from ._letters import ClaimLetter, render_claim_letters
from ._printable import purpose_too_wide, too_wide, unprintable_character
from ._qr import QrMatrix, encode_qr
from ._render import render_certificate, render_many
from ._sign import (
    CREDENTIAL_MEDIA_TYPE,
    PHOTO_ATTACHMENT,
    PHOTO_MEDIA_TYPE,
    SIGNATURE_FIELD,
    PdfSignError,
    signed_certificate_pdf,
)
from ._values import PrintItem, field_values, zh_date

__all__ = [
    "CREDENTIAL_MEDIA_TYPE",
    "PHOTO_ATTACHMENT",
    "PHOTO_MEDIA_TYPE",
    "SIGNATURE_FIELD",
    "ClaimLetter",
    "FieldTooLongError",
    "FontUnavailableError",
    "GlyphMissingError",
    "LayoutError",
    "PdfError",
    "PdfSignError",
    "PrintItem",
    "QrMatrix",
    "available_layouts",
    "encode_qr",
    "field_values",
    "purpose_too_wide",
    "render_certificate",
    "render_claim_letters",
    "render_many",
    "signed_certificate_pdf",
    "too_wide",
    "unprintable_character",
    "zh_date",
]
