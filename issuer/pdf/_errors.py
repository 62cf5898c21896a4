"""Errors of the certificate renderer; ``PdfError`` is the root of them all."""

from __future__ import annotations

__all__ = [
    "FieldTooLongError",
    "FontUnavailableError",
    "GlyphMissingError",
    "LayoutError",
    "PdfError",
]


class PdfError(Exception):
    """Something made a certificate PDF impossible to render as it must look."""


class GlyphMissingError(PdfError):
    """A character that no certificate font can draw (never printed as a blank box)."""

    def __init__(self, char: str, field: str) -> None:
        self.char, self.field = char, field
        super().__init__(
            f"character {char!r} (U+{ord(char):04X}) in field {field!r} has no glyph in any "
            f"certificate font / 字段“{field}”中的字符“{char}”（U+{ord(char):04X}）无可用字形"
        )


class FieldTooLongError(PdfError):
    """A value too wide for its place on the page even at the smallest allowed size."""

    def __init__(self, field: str, width_pt: float, max_pt: float) -> None:
        self.field = field
        super().__init__(
            f"field {field!r} needs {width_pt:.0f} pt at the smallest size, the layout has "
            f"{max_pt:.0f} pt / 字段“{field}”过长，无法打印"
        )


class LayoutError(PdfError):
    """An unknown or malformed layout version."""


class FontUnavailableError(PdfError):
    """A font file the layout names is not installed (run scripts/system-packages.sh)."""
