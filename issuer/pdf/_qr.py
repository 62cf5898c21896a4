"""The printed QR: encode with segno, draw as a 1-pixel-per-module image.

The text is ``<verifier>/v#1<digits>`` (docs/formats.md, transport v1); its segments
(``credential.qr_segments``: URL in byte mode, digits in numeric mode) keep a typical
certificate at version 13-14 at level Q. The matrix becomes a 1-bit grey image, one pixel
per module with the quiet zone included, that the PDF scales up without interpolation:
sharp at any resolution, a few hundred bytes, and faster to make than vector squares.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import segno
import segno.consts
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from credential import qr_segments

from ._errors import PdfError

__all__ = ["QrMatrix", "draw_qr", "encode_qr"]

_MODES = {"byte": segno.consts.MODE_BYTE, "numeric": segno.consts.MODE_NUMERIC}
# dark module (1) -> bit 0 (black in DeviceGray), light (0) -> bit 1 (white)
_BITS = bytes.maketrans(b"\x00\x01", b"10")


@dataclass(frozen=True, slots=True)
class QrMatrix:
    version: int
    error: str
    mask: int  # -1 when the engine does not say
    rows: tuple[bytes, ...]  # one byte per module, 1 = dark, no quiet zone

    @property
    def modules(self) -> int:
        return len(self.rows)


def encode_qr(
    text: str, *, error: str = "Q", mask: int | None = None, engine: str = "segno"
) -> QrMatrix:
    """Return the QR matrix of ``text`` at level ``error`` (never boosted).

    ``engine="segno"`` (the issuer's dependency) encodes the segments that
    ``credential.qr_segments`` gives. ``mask=None`` lets segno score all eight masks,
    several times slower than a fixed mask; layout v1 fixes mask 0 and the tests decode
    every sample applicant's page with it. ``engine="zxing"`` uses zxing-cpp's C++ writer
    (picks segments and mask itself, faster than segno with a fixed mask; zxing-cpp is a
    verifier dependency, so this needs it installed); ``mask`` is ignored there.
    """
    if engine == "segno":
        segments = [(content, _MODES[mode]) for content, mode in qr_segments(text)]
        try:
            # segno takes a list of (content, mode) segments; its stubs only name str/bytes
            qr = segno.make_qr(segments, error=error.lower(), boost_error=False, mask=mask)  # type: ignore[arg-type]
        except segno.DataOverflowError as exc:
            raise PdfError(f"QR text too long for a QR code at level {error}") from exc
        return QrMatrix(int(qr.version), error.upper(), qr.mask, tuple(bytes(r) for r in qr.matrix))
    if engine == "zxing":
        return _encode_zxing(text, error)
    raise PdfError(f"unknown QR engine {engine!r}")


_ZX_DARK = bytes.maketrans(b"\x00\xff", b"\x01\x00")


def _encode_zxing(text: str, error: str) -> QrMatrix:
    try:
        import zxingcpp
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise PdfError("QR engine zxing needs the zxing-cpp package") from exc
    try:
        code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=error)
    except Exception as exc:  # zxing-cpp raises its own error types
        raise PdfError(f"QR text cannot be encoded at level {error}: {exc}") from exc
    view = memoryview(code.to_image(scale=1, add_quiet_zones=False))  # type: ignore[arg-type]
    n = view.shape[0]  # type: ignore[index]
    raw = bytes(view).translate(_ZX_DARK)
    rows = tuple(raw[i * n : (i + 1) * n] for i in range(n))
    return QrMatrix((n - 17) // 4, error.upper(), -1, rows)


def _image_stream(matrix: QrMatrix, quiet: int) -> tuple[int, bytes]:
    size = matrix.modules + 2 * quiet
    pad = -size % 8
    edge = b"1" * quiet
    blank = b"1" * (size + pad)
    nbytes = (size + pad) // 8
    tail = edge + b"1" * pad
    out = bytearray()
    white = int(blank, 2).to_bytes(nbytes, "big")
    out += white * quiet
    for row in matrix.rows:
        out += int(edge + row.translate(_BITS) + tail, 2).to_bytes(nbytes, "big")
    out += white * quiet
    return size, zlib.compress(bytes(out), 6)


def draw_qr(
    canvas: Canvas, matrix: QrMatrix, x: float, y: float, size: float, *, quiet: int = 4
) -> None:
    """Draw ``matrix`` with a ``quiet``-module light border as a ``size``-point square at
    (x, y) (lower-left corner, points)."""
    pixels, stream = _image_stream(matrix, quiet)
    img = pdfdoc.PDFImageXObject("JiaoziQR")
    img.width = img.height = pixels
    img.bitsPerComponent = 1
    img.colorSpace = "DeviceGray"
    img._filters = ("FlateDecode",)
    img.streamContent = stream
    img.mask = None
    # Registered like Canvas.drawImage does, under a name unique in this document (two
    # certificates never share a QR, so no digest of the content is needed; a counter,
    # not a random name, keeps the output reproducible).
    serial = getattr(canvas, "_jiaozi_qr_serial", 0) + 1
    canvas._jiaozi_qr_serial = serial
    name = f"JiaoziQR{serial}"
    img.name = name
    doc = canvas._doc
    reg = doc.getXObjectName(name)
    canvas._setXObjects(img)
    doc.Reference(img, reg)
    doc.addForm(name, img)
    canvas._currentPageHasImages = 1
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(size, size)
    canvas._code.append(f"/{reg} Do")
    canvas.restoreState()
    canvas._formsinuse.append(name)
