"""Synthetic holders' photos for the demo (issue 15 point 1): a plain background and an
abstract head-and-shoulders shape drawn with Pillow, colours chosen by a seed. No real face
is ever used. tests/factory/photos.py draws its photos with ``portrait`` too.

``synthetic_photo(seed)`` is one portrait JPEG of 354 x 496 (5:7); ``photos_zip(names)``
a zip of such photos, one per name (``<request_id>.jpg``), as a clerk sends with a batch.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterable
from typing import Any

__all__ = ["photos_zip", "portrait", "synthetic_photo"]


def portrait(seed: int = 0, size: tuple[int, int] = (354, 496)) -> Any:
    """Return a PIL RGB image of ``size``: a plain background, an oval head, a neck and
    shoulders, in colours chosen by ``seed``."""
    from PIL import Image, ImageDraw  # the issuer extra (the demo runs the issuer)

    rnd = random.Random(seed)  # noqa: S311 - the colours of a drawing
    w, h = size
    bg = rnd.choice([(235, 240, 250), (200, 220, 245), (250, 250, 250), (180, 40, 40)])
    skin = (rnd.randint(150, 235), rnd.randint(110, 190), rnd.randint(90, 160))
    hair = (rnd.randint(10, 70), rnd.randint(10, 50), rnd.randint(0, 40))
    cloth = (rnd.randint(0, 200), rnd.randint(0, 200), rnd.randint(0, 200))
    img = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(img)
    cx = w // 2 + rnd.randint(-w // 40, w // 40)
    hw, hh = int(w * 0.22), int(h * 0.20)
    top = int(h * 0.16)
    d.ellipse((cx - hw - 6, top - 10, cx + hw + 6, top + hh * 2 - 30), fill=hair)
    d.ellipse((cx - hw, top, cx + hw, top + hh * 2), fill=skin)
    d.rectangle((cx - hw // 3, top + hh * 2 - 10, cx + hw // 3, top + hh * 2 + h // 12), fill=skin)
    d.pieslice((cx - w // 2, int(h * 0.66), cx + w // 2, int(h * 1.4)), 180, 360, fill=cloth)
    for ex in (cx - hw // 2, cx + hw // 3):  # eyes, so the photo is not symmetric
        d.ellipse((ex, top + hh - 6, ex + 10, top + hh + 2), fill=(30, 30, 30))
    return img


def synthetic_photo(seed: int = 0, *, size: tuple[int, int] = (354, 496)) -> bytes:
    """Return ``portrait(seed, size)`` as JPEG bytes (quality 90)."""
    buf = io.BytesIO()
    portrait(seed, size).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def photos_zip(names: Iterable[str], *, seed: int = 0) -> bytes:
    """Return a zip of one synthetic photo per name (``<name>.jpg``), seeds counting up
    from ``seed``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for k, name in enumerate(names):
            zf.writestr(f"{name}.jpg", synthetic_photo(seed + k))
    return buf.getvalue()
