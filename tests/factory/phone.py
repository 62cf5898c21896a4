"""Phone photos of printed certificates, simulated (issue 15 point 7).

A certificate PDF is rendered to a whole A4 page at about 2 megapixels (``page_image``);
``phone_photo`` then photographs it as a hand-held phone would, every choice drawn from a
seeded RNG so that a seed names one photo for good: the page tilted in perspective and
rotated up to 20 degrees on a table-coloured background, blurred (Gaussian, radius 0-2 px),
lit unevenly (a gradient multiplied in), grainy (noise), saved as JPEG at quality 60.
Pillow only (pure functions: a page image in, JPEG bytes out); nothing here depends on
where the renderer puts the QR on the page.
"""

from __future__ import annotations

import functools
import io
import math
import random
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from tests.factory.pdf import tool

__all__ = ["PAGE_SIDE", "Shot", "holder_photo", "page_image", "phone_photo", "shot"]

#: pixels on the page render's longer side: A4 at 1224 x 1731 is 2.1 megapixels
PAGE_SIDE = 1731
_TABLE = 86  # a brown table, in grey


def page_image(pdf: bytes, side: int = PAGE_SIDE) -> Image.Image:
    """Return page 1 of ``pdf`` rendered by pdftoppm, ``side`` pixels long.

    Raises subprocess.CalledProcessError when pdftoppm fails (pytest.fail when missing)."""
    with tempfile.TemporaryDirectory(prefix="jiaozi-phone-") as d:
        path = Path(d) / "c.pdf"
        path.write_bytes(pdf)
        args = ["-scale-to", str(side), "-gray", "-f", "1", "-l", "1", "-png"]
        subprocess.run([tool("pdftoppm"), *args, str(path), str(Path(d) / "p")], check=True)
        with Image.open(next(Path(d).glob("p*.png"))) as im:
            return im.convert("L")


@functools.lru_cache(maxsize=4)
def holder_photo(background: str = "#8DB6E0", coat: str = "#2F3A4A") -> bytes:
    """Return a synthetic holder's photo to print: a JPEG of 295 x 413 pixels (5:7, the
    one-inch photo the photo path normalises uploads to), a plain background and an
    abstract head and shoulders drawn with Pillow (never a real person's photo). The same
    bytes on every call with the same arguments (Pillow's encoder is deterministic)."""
    w, h = 295, 413
    img = Image.new("RGB", (w, h), background)
    d = ImageDraw.Draw(img)
    d.ellipse((w * 0.08, h * 0.70, w * 0.92, h * 1.25), fill=coat)  # shoulders
    d.polygon([(w * 0.42, h * 0.70), (w * 0.5, h * 0.86), (w * 0.58, h * 0.70)], fill="#F2F2F2")
    d.rectangle((w * 0.42, h * 0.52, w * 0.58, h * 0.72), fill="#D9B59A")  # neck
    d.ellipse((w * 0.28, h * 0.16, w * 0.72, h * 0.62), fill="#E3C1A5")  # face
    d.chord((w * 0.27, h * 0.12, w * 0.73, h * 0.50), 180, 360, fill="#2B2522")  # hair
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


@dataclass(frozen=True, slots=True)
class Shot:
    """How one photo is taken (all drawn from its seed by ``shot``)."""

    angle: float  # degrees, in the picture plane
    tilt: tuple[float, ...]  # the 4 corners' displacements, fractions of the side (perspective)
    blur: float  # Gaussian radius, pixels
    light: tuple[float, float, float]  # gradient direction (degrees), darkest, brightest factor
    noise: float  # standard deviation of the grain, grey levels
    quality: int  # JPEG quality


def shot(
    seed: int, *, max_angle: float = 20.0, max_blur: float = 2.0, max_tilt: float = 0.06
) -> Shot:
    """Return the photo conditions seed ``seed`` names (uniform within the given limits)."""
    rng = random.Random(seed)
    return Shot(
        angle=rng.uniform(-max_angle, max_angle),
        tilt=tuple(rng.uniform(-max_tilt, max_tilt) for _ in range(8)),
        blur=rng.uniform(0.0, max_blur),
        light=(rng.uniform(0, 360), rng.uniform(0.45, 0.8), rng.uniform(0.9, 1.0)),
        noise=rng.uniform(2.0, 10.0),
        quality=60,
    )


def _gradient(size: tuple[int, int], direction: float, low: float, high: float) -> Image.Image:
    """Return an image of grey levels running from ``low`` to ``high`` (x 255) across
    ``size`` in ``direction`` degrees: uneven light, as from a window on one side."""
    ramp = Image.linear_gradient("L").resize((256, 256))
    ramp = ramp.point(lambda v: int(255 * (low + (high - low) * v / 255)))
    ramp = ramp.rotate(direction, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=None)
    w, h = ramp.size
    ramp = ramp.crop((w // 4, h // 4, w - w // 4, h - h // 4))
    return ramp.resize(size, Image.Resampling.BILINEAR)


def _corners(w: int, h: int, s: Shot) -> tuple[float, ...]:
    """Return the source quad (upper-left, lower-left, lower-right, upper-right) that
    Pillow's QUAD transform maps onto a ``w`` x ``h`` photo: the page seen rotated by
    ``s.angle`` and tilted by ``s.tilt``, with a margin of table around it."""
    pad = 0.05
    cx, cy = w / 2, h / 2
    a = math.radians(s.angle)
    cos, sin = math.cos(a), math.sin(a)
    out: list[float] = []
    corners = ((-1, -1), (-1, 1), (1, 1), (1, -1))
    for i, (dx, dy) in enumerate(corners):
        # a corner of the photo, in page coordinates: the photo frames the page loosely
        x = dx * (0.5 + pad) * w + s.tilt[2 * i] * w
        y = dy * (0.5 + pad) * h + s.tilt[2 * i + 1] * h
        out += [cx + x * cos - y * sin, cy + x * sin + y * cos]
    return tuple(out)


@functools.lru_cache(maxsize=4)
def _noise_field(size: tuple[int, int]) -> Image.Image:
    """Return Gaussian grain (sigma 16, centred on 128) a little larger than ``size``:
    made once (it is the slowest step), each photo crops it at its own offset."""
    return Image.effect_noise((size[0] + 64, size[1] + 64), 16.0)


def _grain(size: tuple[int, int], sigma: float, seed: int) -> Image.Image:
    """Return grain of standard deviation ``sigma`` centred on 128 for one photo."""
    rng = random.Random(seed)
    x, y = rng.randrange(64), rng.randrange(64)
    field = _noise_field(size).crop((x, y, x + size[0], y + size[1]))
    factor = sigma / 16.0
    return field.point(lambda v: round(128 + (v - 128) * factor))


def phone_photo(page: Image.Image, seed: int, *, conditions: Shot | None = None) -> bytes:
    """Return JPEG bytes of ``page`` photographed under ``conditions`` (default:
    ``shot(seed)``). The photo has the page's size (about 2 megapixels for a
    ``page_image``); the page fills ~90 % of it, rotated, tilted, on a brown table.

    The photo is grey: the reader turns every photo grey first, and a JPEG's grey (its
    luma) is quantised as a colour JPEG's is, so colour would only triple the cost."""
    s = conditions if conditions is not None else shot(seed)
    w, h = page.size
    img = page.convert("L").transform(
        (w, h), Image.Transform.QUAD, _corners(w, h, s), Image.Resampling.BILINEAR,
        fillcolor=_TABLE,
    )  # fmt: skip
    if s.blur > 0.05:
        img = img.filter(ImageFilter.GaussianBlur(s.blur))
    img = ImageChops.multiply(img, _gradient(img.size, *s.light))
    img = ImageChops.add(img, _grain(img.size, s.noise, seed), scale=1.0, offset=-128)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=s.quality)
    return buf.getvalue()
