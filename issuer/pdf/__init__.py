"""The printable certificate: an A4 PDF in Chinese with embedded fonts and a QR to verify.

``render_certificate`` makes one page, ``render_many`` one print file for a batch,
``signed_certificate_pdf`` the signed page with the credential inside. Pages
are drawn from a versioned layout (``templates/certificate/<version>/layout.json``); a
certificate keeps the layout version it was made with. See docs/pdf.md.
"""

from ._errors import (
    FieldTooLongError,
    FontUnavailableError,
    GlyphMissingError,
    LayoutError,
    PdfError,
)
from ._layout import available_layouts
from ._qr import QrMatrix, encode_qr
from ._render import (
    PrintItem,
    field_values,
    purpose_too_wide,
    render_certificate,
    render_many,
    too_wide,
    unprintable_character,
    zh_date,
)
from ._sign import CREDENTIAL_MEDIA_TYPE, SIGNATURE_FIELD, PdfSignError, signed_certificate_pdf

__all__ = [
    "CREDENTIAL_MEDIA_TYPE",
    "SIGNATURE_FIELD",
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
    "render_many",
    "signed_certificate_pdf",
    "too_wide",
    "unprintable_character",
    "zh_date",
]
