"""The photo reader's last pass (issue 15 point 7): the QR of a whole printed page, small
in a phone photo, found by its density and read enlarged and sharpened.

Only ``verifier.extract`` calls it, in the sandbox's workers and under their limits; the
images it makes are bounded (a crop of at most DENSE_CROP_SIDE, enlarged at most 3 times).
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image, ImageChops, ImageFilter, ImageOps

__all__ = ["DENSE_MIN_SIDE", "read_dense_region"]

DENSE_MIN_SIDE = 1000  # pixels: a photo this long may show a whole page, the QR small in it
DENSE_CROP_SIDE = 800  # the dense region is read at most this long before enlarging (x3)
_DENSE_TRIES = ((2, 2, 150), (3, 3, 200), (3, 4, 300))  # enlargement, unsharp radius, %


def _densest_region(grey: Image.Image) -> tuple[int, int, int, int]:
    """Return the box (a quarter of the longer side square) around the part of ``grey``
    with the most fine detail: on a photo of a whole certificate page, the QR code.

    Detail is each pixel's distance from its neighbourhood's mean, after a light blur that
    takes the sensor grain out; averaged in 8-pixel cells, then over a window about the
    size of a printed QR; the box is centred on the strongest window."""
    detail = ImageChops.difference(
        grey.filter(ImageFilter.GaussianBlur(1)), grey.filter(ImageFilter.BoxBlur(4))
    ).reduce(8)
    density = detail.filter(ImageFilter.BoxBlur(max(2, max(detail.size) // 40)))
    top_value = density.getextrema()[1]  # a grey image: (min, max) of ints
    peak = float(top_value) if isinstance(top_value, (int, float)) else 255.0
    left, top, right, bottom = density.point(
        lambda v: 255 if v >= peak * 0.92 else 0
    ).getbbox() or (0, 0, density.width, density.height)
    cx, cy = (left + right) * 4, (top + bottom) * 4  # the centre, in pixels of ``grey``
    half = max(grey.size) // 8
    return (max(0, cx - half), max(0, cy - half), min(grey.width, cx + half),
            min(grey.height, cy + half))  # fmt: skip


def read_dense_region(grey: Image.Image, decode: Callable[[Image.Image], str | None]) -> str | None:
    """Return the QR text ``decode`` reads in the densest region of a large photo,
    enlarged and sharpened (issue 15 point 7), else None.

    A phone photo of a whole A4 page gives the printed QR about 2 pixels a module; a little
    blur or JPEG loss then keeps zxing from finding it at all. Found by its density alone,
    the region is cropped, stretched to full contrast, enlarged 2 then 3 times and given
    an unsharp mask (which undoes part of the blur): what bench/scan.py measured to help."""
    if max(grey.size) < DENSE_MIN_SIDE:
        return None  # a photo of the QR alone: the plain reads above have had it whole
    crop = ImageOps.autocontrast(grey.crop(_densest_region(grey)), cutoff=1)
    if max(crop.size) > DENSE_CROP_SIDE:
        crop.thumbnail((DENSE_CROP_SIDE, DENSE_CROP_SIDE), Image.Resampling.LANCZOS)
    for factor, radius, percent in _DENSE_TRIES:
        big = crop.resize((crop.width * factor, crop.height * factor), Image.Resampling.BICUBIC)
        text = decode(big.filter(ImageFilter.UnsharpMask(radius, percent, 0)))
        if text:
            return text
    return None
