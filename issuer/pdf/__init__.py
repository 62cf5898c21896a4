"""The printable certificate: an A4 PDF in Chinese with embedded fonts and a QR to verify.

``render_certificate`` makes one page, ``render_many`` one print file for a batch. Pages
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
from ._render import PrintItem, field_values, render_certificate, render_many, zh_date

__all__ = [
    "FieldTooLongError",
    "FontUnavailableError",
    "GlyphMissingError",
    "LayoutError",
    "PdfError",
    "PrintItem",
    "QrMatrix",
    "available_layouts",
    "encode_qr",
    "field_values",
    "render_certificate",
    "render_many",
    "zh_date",
]
