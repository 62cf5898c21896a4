"""The holder's photo made into the one JPEG that is stored, printed, attached and hashed:
judged by content, sized, cut to 5:7, stripped of metadata; every refusal names its rule in
both languages and nothing hostile is decoded."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

from issuer.photos import (
    MAX_BYTES,
    OUT_SIZE,
    Photo,
    PhotoError,
    digest_sri,
    normalise_photo,
    sniff_photo,
)
from tests.factory.photos import GPS_MAKER, jpeg_with_gps, png_bomb, synthetic_photo


def _image(jpeg: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(jpeg))
    img.load()
    return img


def _refused(data: bytes) -> PhotoError:
    with pytest.raises(PhotoError) as info:
        normalise_photo(data)
    err = info.value
    assert err.field == "photo"
    assert err.message and err.message_zh and err.message != err.message_zh
    return err


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_jpeg_or_png_becomes_a_295_by_413_baseline_jpeg(fmt: str) -> None:
    photo = normalise_photo(synthetic_photo(1, fmt=fmt))
    img = _image(photo.jpeg)
    assert img.format == "JPEG" and img.size == OUT_SIZE and img.mode == "RGB"
    assert not img.info.get("progressive") and not img.info.get("progression")
    assert photo.sha256 == hashlib.sha256(photo.jpeg).digest()
    assert photo == Photo.of(photo.jpeg)


def test_the_digest_is_the_vc_digest_sri_form() -> None:
    photo = normalise_photo(synthetic_photo(2))

    assert photo.digest_sri == "sha256-" + base64.b64encode(photo.sha256).decode()
    assert digest_sri(photo.jpeg) == photo.digest_sri


def test_normalising_twice_gives_the_same_bytes() -> None:
    data = synthetic_photo(3)
    assert normalise_photo(data).jpeg == normalise_photo(data).jpeg


def test_a_photo_with_exif_gps_is_stripped() -> None:
    data = jpeg_with_gps(4)
    assert GPS_MAKER.encode() in data and b"Exif" in data
    out = normalise_photo(data).jpeg
    img = _image(out)
    assert GPS_MAKER.encode() not in out and b"Exif" not in out and b"taken at home" not in out
    assert not img.getexif() and "icc_profile" not in img.info and "comment" not in img.info


def test_the_exif_orientation_is_applied_before_judging_and_cutting() -> None:
    # stored turned (landscape pixels), shown upright: a portrait photo, accepted upright
    turned = jpeg_with_gps(5, orientation=6)
    assert _image(turned).width > _image(turned).height
    img = _image(normalise_photo(turned).jpeg)
    upright = _image(normalise_photo(synthetic_photo(5)).jpeg)
    # the same picture: pixels close (both re-encoded), not a rotated one
    diff = ImageStat.Stat(ImageChops.difference(img.convert("L"), upright.convert("L")))
    assert diff.mean[0] < 8


def test_a_png_with_transparency_is_laid_on_white() -> None:
    img = Image.new("RGBA", (300, 420), (0, 0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    out = _image(normalise_photo(buf.getvalue()).jpeg)
    assert min(out.getpixel((10, 10))) > 245  # type: ignore[arg-type]


def test_a_3_to_4_phone_portrait_is_cut_to_5_to_7_from_the_middle() -> None:
    out = _image(normalise_photo(synthetic_photo(6, size=(600, 800))).jpeg)
    assert out.size == OUT_SIZE


def test_the_type_is_judged_by_content_not_by_name() -> None:
    assert sniff_photo(synthetic_photo(7, fmt="PNG")) == "png"
    assert sniff_photo(synthetic_photo(7)) == "jpeg"
    gif = io.BytesIO()
    Image.new("RGB", (300, 420)).save(gif, "GIF")
    assert _refused(gif.getvalue()).code == "photo_not_image"
    assert _refused(b"%PDF-1.7 photo.jpg").code == "photo_not_image"


def test_an_empty_file_is_refused() -> None:
    assert _refused(b"").code == "photo_empty"


def test_a_file_over_2_mib_is_refused_before_reading() -> None:
    err = _refused(b"\xff\xd8\xff" + b"\x00" * MAX_BYTES)
    assert err.code == "photo_too_large" and "2 MiB" in err.message and "2兆字节" in err.message_zh


def test_a_photo_below_260_by_364_is_refused() -> None:
    err = _refused(synthetic_photo(8, size=(250, 350)))
    assert (
        err.code == "photo_too_small" and "250 x 350" in err.message and "250×350" in err.message_zh
    )


@pytest.mark.parametrize("size", [(600, 600), (800, 600), (300, 600)])
def test_a_square_landscape_or_strip_photo_is_refused(size: tuple[int, int]) -> None:
    assert _refused(synthetic_photo(9, size=size)).code == "photo_proportions"


def test_a_photo_over_6000_pixels_on_a_side_is_refused() -> None:
    assert (
        _refused(synthetic_photo(10, size=(4400, 6100), fmt="PNG")).code == "photo_too_many_pixels"
    )


def test_a_png_bomb_is_refused_without_decoding_it() -> None:
    bomb = png_bomb()
    assert len(bomb) < MAX_BYTES
    assert _refused(bomb).code == "photo_too_many_pixels"


def test_a_truncated_jpeg_is_refused_not_crashed() -> None:
    data = synthetic_photo(11)
    assert _refused(data[: len(data) // 3]).code == "photo_unreadable"
    assert _refused(b"\xff\xd8\xff\xe0garbage").code == "photo_unreadable"


def _full_decode_reference(data: bytes) -> Image.Image:
    """The photo made the slow way: every pixel decoded, turned, cut, one LANCZOS resize."""
    img = ImageOps.exif_transpose(_image(data)).convert("RGB")
    w, h = img.size
    cw, ch = (h * 295 // 413, h) if w * 413 > h * 295 else (w, w * 413 // 295)
    box = ((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch)
    return img.resize(OUT_SIZE, Image.Resampling.LANCZOS, box=box)


@pytest.mark.parametrize(
    ("size", "orientation"), [((3024, 4032), 6), ((2448, 3264), 1), ((1500, 2000), 1)]
)
def test_a_large_jpeg_decoded_at_a_reduced_scale_looks_as_a_full_decode(
    size: tuple[int, int], orientation: int
) -> None:
    # a phone's 12 MP (stored turned), 8 MP and 3 MP portraits: decoded at 1/4 or 1/2
    # scale from the DCT, never below twice the output size, then resized
    data = jpeg_with_gps(12, orientation=orientation, size=size)
    out = _image(normalise_photo(data).jpeg)
    assert out.size == OUT_SIZE and out.mode == "RGB" and not out.getexif()
    diff = ImageStat.Stat(ImageChops.difference(out, _full_decode_reference(data)))
    assert max(diff.mean) < 3, diff.mean  # re-encoding alone differs by about 1


def test_a_large_jpeg_is_judged_by_its_sent_size_not_the_reduced_one() -> None:
    assert _refused(synthetic_photo(13, size=(3000, 3000))).code == "photo_proportions"
    turned = jpeg_with_gps(13, orientation=6, size=(2400, 3200))  # stored 3200 x 2400
    assert _image(normalise_photo(turned).jpeg).size == OUT_SIZE
