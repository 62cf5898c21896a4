"""Synthetic holder photos for tests: a plain background and an abstract head-and-shoulders
shape drawn with Pillow, colours varied by a seed. No real face is ever used.

Also the hostile ones the photo rules must refuse: a PNG declaring far more pixels than it
carries (a decompression bomb), a JPEG with EXIF GPS and a device id, and zips of photos
(folders, ``../`` names, a zip bomb).
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from collections.abc import Mapping

from PIL import Image

from jiaozi.demo.photos import portrait

__all__ = [
    "GPS_MAKER",
    "jpeg_with_gps",
    "photo_zip",
    "png_bomb",
    "synthetic_photo",
    "zip_bomb",
]

GPS_MAKER = "JiaoziTestPhone SN-4711"  # the device id written into jpeg_with_gps's EXIF


def synthetic_photo(
    seed: int = 0, *, size: tuple[int, int] = (354, 496), fmt: str = "JPEG", mode: str = "RGB"
) -> bytes:
    """Return a portrait photo (default 354 x 496, 5:7) as JPEG or PNG bytes: a plain
    background, an oval head, a neck and shoulders, in colours chosen by ``seed``."""
    img = portrait(seed, size)  # the demo's drawing: one way to draw a holder
    if mode != "RGB":
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def jpeg_with_gps(
    seed: int = 0, *, orientation: int = 1, size: tuple[int, int] = (354, 496)
) -> bytes:
    """Return a synthetic JPEG whose EXIF holds a GPS position, a device id and
    ``orientation`` (6: the pixels are stored turned, a phone held upright)."""
    if orientation in (6, 8):
        size = (size[1], size[0])
    img = Image.open(io.BytesIO(synthetic_photo(seed, size=size)))
    if orientation in (6, 8):  # draw it upright, store it turned as the phone does
        upright = Image.open(io.BytesIO(synthetic_photo(seed, size=(size[1], size[0]))))
        img = upright.rotate(90 if orientation == 6 else -90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = GPS_MAKER  # Make
    exif[0xA431] = GPS_MAKER  # BodySerialNumber
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif.tobytes(), comment=b"taken at home")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.lru_cache(maxsize=4)
def png_bomb(side: int = 12_000) -> bytes:
    """Return a small PNG declaring ``side`` x ``side`` grey pixels, all zero: a few hundred
    KB on disk, ``side``**2 bytes (144 MB by default, past Pillow's own bomb limit) once decoded."""
    rows = (b"\x00" * (side + 1)) * 100  # filter byte + one grey byte a pixel, 100 rows
    comp = zlib.compressobj(6)
    body = b"".join(comp.compress(rows) for _ in range(side // 100)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")
    )


def photo_zip(files: Mapping[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """Return a zip holding ``files`` (name -> bytes), names as given (folders, ``../``)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data, compress_type=compression)
    return buf.getvalue()


@functools.lru_cache(maxsize=4)
def zip_bomb(name: str = "R-0001.jpg", size: int = 200 * 1024 * 1024) -> bytes:
    """Return a zip whose one entry ``name`` inflates to ``size`` zero bytes (about
    1,000 : 1)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w") as f:
            block = b"\x00" * (1024 * 1024)
            for _ in range(size // len(block)):
                f.write(block)
    return buf.getvalue()
