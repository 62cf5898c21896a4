"""Finding what to verify in an uploaded file: the QR in a photo or on a PDF's first page,
and the e-licence embedded in a PDF.

- PDF: an attached file whose name ends ``.vc.jwt`` or ``.jws`` (or an e-licence ``.json``
  with a ``jws`` member) is the credential; the QR is decoded from the first page's image
  XObjects (the issuer draws it 1 pixel per module, so this is fast), and only if none
  decodes, from a 150 dpi greyscale render by ``pdftoppm`` when that is installed.
- PNG/JPEG: zxing-cpp on the image, then on a greyscale copy scaled down to 1600 pixels.

Everything is bounded: pixel counts (decompression bombs), attachment sizes, the number
of images looked at, and the render's time.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image, ImageOps

__all__ = ["Extracted", "UnreadableFile", "extract", "sniff"]

log = logging.getLogger("jiaozi.verifier.extract")
MAX_PIXELS = 40_000_000
MAX_IMAGES = 20
MAX_ATTACHMENT = 64 * 1024
RENDER_TIMEOUT = 20.0
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
_CREDENTIAL_SUFFIXES = (".vc.jwt", ".jws", ".jwt")


class UnreadableFile(Exception):
    """The file is not a PDF/PNG/JPEG we can read, or holds nothing to verify."""

    def __init__(self, code: str, en: str, zh: str) -> None:
        super().__init__(en)
        self.code = code
        self.en = en
        self.zh = zh


@dataclass(frozen=True, slots=True)
class Extracted:
    kind: str  # pdf | png | jpeg
    qr: str | None
    credential: str | None


def sniff(data: bytes) -> str | None:
    """Return ``pdf``, ``png`` or ``jpeg`` from the file's first bytes, else None."""
    if data[:1024].lstrip().startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def _decode_qr(img: Image.Image) -> str | None:
    results = zxingcpp.read_barcodes(img, formats=_QR_ONLY)
    for r in results:
        if r.valid and r.text:
            return str(r.text)
    return None


def _small_module_image(img: Image.Image) -> Image.Image:
    """Return a 1-pixel-per-module QR image scaled up with a quiet zone (zxing likes it)."""
    grey = img.convert("L")
    scale = max(1, 600 // max(grey.size))
    if scale > 1:
        grey = grey.resize((grey.width * scale, grey.height * scale), Image.Resampling.NEAREST)
    return ImageOps.expand(grey, border=8 * scale, fill=255)


def decode_image(img: Image.Image) -> str | None:
    """Return the text of the first QR code found in ``img``, trying a few copies."""
    if img.width * img.height > MAX_PIXELS:
        raise UnreadableFile("too_many_pixels", "the image is too large", "图片尺寸过大")
    if img.mode not in ("L", "RGB", "RGBA", "1"):
        img = img.convert("RGB")
    if max(img.size) <= 300:
        text = _decode_qr(_small_module_image(img))
        if text:
            return text
    text = _decode_qr(img)
    if text:
        return text
    grey = ImageOps.exif_transpose(img).convert("L")
    if max(grey.size) > 1600:
        grey.thumbnail((1600, 1600), Image.Resampling.LANCZOS)
    text = _decode_qr(grey)
    if text:
        return text
    return _decode_qr(ImageOps.autocontrast(grey))


def _open_image(data: bytes) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:
            raise UnreadableFile("too_many_pixels", "the image is too large", "图片尺寸过大")
        img.load()
        return img
    except UnreadableFile:
        raise
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise UnreadableFile(
            "unreadable_image", "the image cannot be read", "无法读取该图片"
        ) from exc


def _credential_from_attachment(name: str, content: bytes) -> str | None:
    lower = name.lower()
    if len(content) > MAX_ATTACHMENT:
        return None
    try:
        text = content.decode("ascii").strip()
    except UnicodeDecodeError:
        text = ""
    if lower.endswith(_CREDENTIAL_SUFFIXES) and text:
        return text
    if lower.endswith(".json"):
        try:
            doc: Any = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        jws = doc.get("jws") if isinstance(doc, dict) else None
        return jws if isinstance(jws, str) else None
    return None


def _render_first_page(data: bytes) -> Image.Image | None:
    exe = shutil.which("pdftoppm")
    if exe is None:
        return None
    with tempfile.TemporaryDirectory(prefix="jiaozi-render-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(data)
        try:
            subprocess.run(  # noqa: S603 - fixed arguments, our own temp files
                [
                    exe,
                    "-r",
                    "150",
                    "-gray",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    "-png",
                    str(src),
                    str(Path(tmp) / "p"),
                ],
                check=True,
                capture_output=True,
                timeout=RENDER_TIMEOUT,
            )
        except (subprocess.SubprocessError, OSError):
            return None
        pages = sorted(Path(tmp).glob("p*.png"))
        if not pages:
            return None
        img = Image.open(pages[0])
        img.load()
        return img


def _extract_pdf(data: bytes) -> Extracted:
    import pypdf
    from pypdf.errors import PyPdfError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UnreadableFile("encrypted_pdf", "the PDF is encrypted", "该PDF已加密，无法读取")
        attachments = reader.attachments
        credential = None
        for name in sorted(attachments):
            for content in attachments[name]:
                credential = _credential_from_attachment(name, content)
                if credential:
                    break
            if credential:
                break
        qr = None
        if len(reader.pages) > 0:
            page = reader.pages[0]
            for i, image in enumerate(page.images):
                if i >= MAX_IMAGES:
                    break
                try:
                    pil = image.image
                except Exception:  # noqa: S112 - an undecodable image is skipped
                    continue
                if pil is None or pil.width * pil.height > MAX_PIXELS:
                    continue
                qr = decode_image(pil)
                if qr:
                    break
    except UnreadableFile:
        raise
    except (
        PyPdfError,
        OSError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        RecursionError,
        AssertionError,
        IndexError,
        ZeroDivisionError,
    ) as exc:
        raise UnreadableFile("unreadable_pdf", "the PDF cannot be read", "无法读取该PDF") from exc
    if qr is None:
        page_img = _render_first_page(data)
        if page_img is not None:
            qr = decode_image(page_img)
    return Extracted("pdf", qr, credential)


def extract(data: bytes) -> Extracted:
    """Return the QR text and/or credential in a PDF, PNG or JPEG file.

    Raises UnreadableFile for another type, a damaged file, or one with nothing to verify.
    """
    kind = sniff(data)
    if kind is None:
        raise UnreadableFile(
            "unsupported_file",
            "the file is not a PDF, PNG or JPEG",
            "文件不是PDF、PNG或JPEG格式",
        )
    if kind == "pdf":
        found = _extract_pdf(data)
        if found.qr is None and found.credential is None:
            raise UnreadableFile(
                "nothing_found",
                "no QR code or e-licence was found in the PDF",
                "PDF中没有找到二维码或电子证照",
            )
        return found
    text = decode_image(_open_image(data))
    if text is None:
        raise UnreadableFile("no_qr", "no QR code was found in the image", "图片中没有找到二维码")
    return Extracted(kind, text, None)
