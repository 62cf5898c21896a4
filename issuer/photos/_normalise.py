"""Normalising the holder's photo: one JPEG of 295 x 413 pixels (5:7, 25 x 35 mm at 300
dpi), baseline, quality 85, no metadata.

The input is judged by its first bytes (JPEG or PNG, whatever the file is called), then by
its header before any pixel is decoded (file size, pixel size: a decompression bomb is
refused, never decoded), then by its proportions after the EXIF orientation is applied.
What is kept is re-encoded from pixels only: EXIF (GPS positions, device serial numbers),
XMP, ICC profiles and comments never reach the output.
"""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageOps

from credential import InvalidFieldError

__all__ = [
    "ASPECT_MAX",
    "ASPECT_MIN",
    "MAX_BYTES",
    "MAX_SIDE",
    "MEDIA_TYPE",
    "MIN_HEIGHT",
    "MIN_WIDTH",
    "OUT_SIZE",
    "Photo",
    "PhotoError",
    "digest_sri",
    "normalise_photo",
    "sniff_photo",
]

MEDIA_TYPE = "image/jpeg"
MAX_BYTES = 2 * 1024 * 1024  # the file as sent
MIN_WIDTH, MIN_HEIGHT = 260, 364  # 25 x 35 mm printed at >= 264 dpi
MAX_SIDE = 6000  # pixels on either side; more is refused before decoding
# width / height: 5:7 is 0.714; 0.64 takes a 33 x 48 mm passport photo's scan cropped a
# little tall, 0.80 a phone's 3:4 portrait (0.75) and a 4:5 one; landscape and square
# pictures are refused rather than cut to a face-less strip
ASPECT_MIN, ASPECT_MAX = 0.64, 0.80
OUT_SIZE = (295, 413)  # 5:7; 25 x 35 mm at 300 dpi
QUALITY = 85
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_ORIENTATION = 0x0112  # the EXIF tag


class PhotoError(InvalidFieldError):
    """A photo that breaks a rule: ``code`` names the rule, the messages say it in both
    languages (field ``photo``; a batch row's error names the file besides)."""

    def __init__(self, code: str, message: str, message_zh: str) -> None:
        super().__init__("photo", code, message, message_zh)


@dataclass(frozen=True, slots=True)
class Photo:
    """A normalised photo: the JPEG bytes stored, printed, attached and hashed."""

    jpeg: bytes = field(repr=False)
    sha256: bytes = field(repr=False)

    @property
    def sha256_hex(self) -> str:
        return self.sha256.hex()

    @property
    def digest_sri(self) -> str:
        """The credential's ``credentialSubject.photo.digestSRI``: ``sha256-<base64>``."""
        return "sha256-" + base64.b64encode(self.sha256).decode("ascii")

    @classmethod
    def of(cls, jpeg: bytes) -> Photo:
        """Return the stored normalised ``jpeg`` as a Photo (no re-encoding)."""
        return cls(jpeg, hashlib.sha256(jpeg).digest())


def digest_sri(data: bytes) -> str:
    """Return the ``digestSRI`` (``sha256-`` and the standard base64 of SHA-256) of ``data``."""
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def sniff_photo(data: bytes) -> str | None:
    """Return ``jpeg`` or ``png`` from the first bytes of ``data``, else None."""
    if data.startswith(_JPEG_MAGIC):
        return "jpeg"
    if data.startswith(_PNG_MAGIC):
        return "png"
    return None


def _too_big() -> PhotoError:
    return PhotoError(
        "photo_too_many_pixels",
        f"the photo is too large: at most {MAX_SIDE} x {MAX_SIDE} pixels",
        f"照片像素尺寸过大：宽、高均不得超过{MAX_SIDE}像素",
    )


def _unreadable() -> PhotoError:
    return PhotoError(
        "photo_unreadable",
        "the photo cannot be read (a damaged or incomplete JPEG or PNG)",
        "无法读取照片（JPEG或PNG文件已损坏或不完整）",
    )


def _open(data: bytes, kind: str) -> Image.Image:
    """Return the image with its header read and judged, pixels not yet decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=["JPEG" if kind == "jpeg" else "PNG"])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_big() from None
    except (OSError, ValueError, SyntaxError):
        raise _unreadable() from None
    if img.width > MAX_SIDE or img.height > MAX_SIDE:
        raise _too_big()
    if getattr(img, "n_frames", 1) > 1:  # an animated PNG
        raise PhotoError(
            "photo_animated",
            "the photo is animated: send a still picture",
            "照片为动画，请提供静态图片",
        )
    return img


def normalise_photo(data: bytes) -> Photo:
    """Return ``data`` (a JPEG or PNG) as the normalised photo, or raise PhotoError naming
    the rule it breaks: ``photo_empty``, ``photo_too_large`` (over 2 MiB),
    ``photo_not_image`` (not a JPEG or PNG by content), ``photo_unreadable``,
    ``photo_too_many_pixels``, ``photo_animated``, ``photo_too_small``,
    ``photo_proportions``."""
    if not data:
        raise PhotoError("photo_empty", "the photo is empty", "照片文件为空")
    if len(data) > MAX_BYTES:
        raise PhotoError(
            "photo_too_large",
            f"the photo file is {len(data) / 1048576:.1f} MiB: at most 2 MiB",
            f"照片文件大小为{len(data) / 1048576:.1f}兆字节，不得超过2兆字节",
        )
    kind = sniff_photo(data)
    if kind is None:
        raise PhotoError(
            "photo_not_image",
            "the photo is not a JPEG or PNG image (judged by its content, not its name)",
            "照片不是JPEG或PNG格式的图片（按文件内容判断，而非文件名）",
        )
    img = _open(data, kind)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            w, h = _upright_size(img)  # the sent picture's, judged below
            if kind == "jpeg":
                _draft(img, w, h)
            img.load()
            img = ImageOps.exif_transpose(img) or img
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_big() from None
    except Exception:  # Pillow raises many kinds for a damaged file
        raise _unreadable() from None
    if w < MIN_WIDTH or h < MIN_HEIGHT:
        raise PhotoError(
            "photo_too_small",
            f"the photo is {w} x {h} pixels: at least {MIN_WIDTH} x {MIN_HEIGHT} (width x"
            " height) are needed to print it 25 x 35 mm",
            f"照片为{w}×{h}像素，至少需要{MIN_WIDTH}×{MIN_HEIGHT}像素（宽×高）才能印制为25×35毫米",
        )
    ratio = w / h
    if not ASPECT_MIN <= ratio <= ASPECT_MAX:
        raise PhotoError(
            "photo_proportions",
            f"the photo's width to height is {ratio:.2f}: a portrait photo of about 5:7"
            f" ({ASPECT_MIN:.2f} to {ASPECT_MAX:.2f}) is needed",
            f"照片宽高比为{ratio:.2f}，须为约5:7的竖版照片（{ASPECT_MIN:.2f}至{ASPECT_MAX:.2f}）",
        )
    return Photo.of(_encode(_crop(_rgb(img))))


def _upright_size(img: Image.Image) -> tuple[int, int]:
    """Return the picture's width and height as shown: its EXIF orientation applied."""
    w, h = img.size
    if img.getexif().get(_ORIENTATION) in (5, 6, 7, 8):  # turned a quarter
        return h, w
    return w, h


def _cut_size(w: int, h: int) -> tuple[int, int]:
    """Return the width and height of the 5:7 middle cut of a ``w`` x ``h`` picture."""
    ow, oh = OUT_SIZE
    return (h * ow // oh, h) if w * oh > h * ow else (w, w * oh // ow)


def _draft(img: Image.Image, w: int, h: int) -> None:
    """Have the JPEG decoder scale ``img`` (upright ``w`` x ``h``) down by 8, 4 or 2
    straight from its DCT blocks, the most that leaves the 5:7 cut at least twice
    OUT_SIZE on each side (so the final LANCZOS resize still has detail to average):
    a 12-megapixel phone photo is decoded at a sixteenth of its pixels."""
    cw, ch = _cut_size(w, h)
    ow, oh = OUT_SIZE
    for scale in (8, 4, 2):
        if cw >= 2 * ow * scale and ch >= 2 * oh * scale:
            img.draft(img.mode, (img.width // scale, img.height // scale))
            return


def _rgb(img: Image.Image) -> Image.Image:
    """Return ``img`` in RGB, transparency laid on white (a PNG cut-out)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return img.convert("RGB") if img.mode != "RGB" else img


def _crop(img: Image.Image) -> Image.Image:
    """Return ``img`` center-cropped to exactly 5:7 and resized to OUT_SIZE."""
    w, h = img.size
    cw, ch = _cut_size(w, h)  # too wide: the sides cut; too tall: top and bottom evenly
    box = ((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch)
    # reducing_gap: a large PNG (JPEGs come drafted) is first reduced by a whole factor
    # (box averaging) to within 3 x OUT_SIZE, then resampled: as sharp, far cheaper
    return img.resize(OUT_SIZE, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)


def _encode(img: Image.Image) -> bytes:
    """Return ``img`` as a baseline JPEG with no metadata (no EXIF, ICC, XMP, comment)."""
    buf = io.BytesIO()
    img.info = {}  # what the source said of itself (exif, icc_profile, dpi, comment) goes
    # Pillow writes only what it is given: no exif=, icc_profile=, comment= here; a fresh
    # image from resize() carries no info of the source besides.
    img.save(buf, "JPEG", quality=QUALITY, progressive=False, optimize=True, subsampling="4:2:0")
    return buf.getvalue()
