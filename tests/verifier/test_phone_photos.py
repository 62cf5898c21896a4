"""Phone photos of a printed certificate (issue 15 point 7): the seeds bench/scan.py found
hardest that the photo reader now reads, made again here from their seeds
(``tests.factory.phone``), of a page in the newest layout (v3: its 56 mm QR) with the
holder's photo on it, and what an unreadable photo is told."""

from __future__ import annotations

import dataclasses
import io

import pytest
from PIL import Image

from credential import qr_url
from issuer.pdf import render_certificate
from tests.factory import VERIFIER_URL
from tests.factory.pdf import fixed_world, qr_text_for, sample_certificate
from tests.factory.phone import holder_photo, page_image, phone_photo, shot
from tests.factory.verifier import Harness, upload
from verifier import _photo as photo_pass
from verifier import extract as ex

# Blur of about 2 px, the most the simulation gives, at about 4 px a module (v3): failures
# of the v2 page (40 mm QR, bench/scan_failures.json before layout v3) that v3's page now
# gives, none read without the dense-region pass (checked below, so that each stays a case
# the pass is needed for).
HARD_SEEDS = [15, 831, 579, 625, 80, 88, 194, 190, 537, 245, 427, 188]
LAYOUT = "v3"
EASY_SEEDS = [1, 3, 4, 10]  # little blur: read by the plain passes


@pytest.fixture(scope="module")
def page() -> tuple[Image.Image, str]:
    """The sample certificate's page at about 2 megapixels, and its QR text."""
    world = fixed_world()
    cert = sample_certificate()
    qr = qr_text_for(world, cert)
    pdf = render_certificate(
        cert, qr_text=qr, verifier_url=VERIFIER_URL, layout=LAYOUT, photo=holder_photo()
    )
    return page_image(pdf), qr


def _read(photo: bytes) -> str | None:
    try:
        return ex.extract(photo).qr
    except ex.UnreadableFile as exc:
        assert exc.code == "no_qr"
        return None


def test_a_photo_is_a_tilted_grey_jpeg_of_about_2_megapixels(
    page: tuple[Image.Image, str],
) -> None:
    photo = phone_photo(page[0], 7)
    assert photo.startswith(b"\xff\xd8\xff") and photo == phone_photo(page[0], 7)  # seeded
    img = Image.open(io.BytesIO(photo))
    assert 1.8e6 < img.width * img.height < 2.6e6 and img.format == "JPEG"
    assert photo != phone_photo(page[0], 8)
    assert abs(shot(7).angle) <= 20 and 0 <= shot(7).blur <= 2


@pytest.mark.parametrize("seed", EASY_SEEDS + HARD_SEEDS)
def test_phone_photos_are_read(page: tuple[Image.Image, str], seed: int) -> None:
    assert _read(phone_photo(page[0], seed)) == page[1]


def test_the_hard_seeds_need_the_dense_region_pass(
    page: tuple[Image.Image, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(photo_pass, "DENSE_MIN_SIDE", 10**9)  # the reader before issue 15
    assert [_read(phone_photo(page[0], s)) for s in HARD_SEEDS[:4]] == [None] * 4


def test_a_photo_of_a_certificate_uploads_as_valid(api: Harness) -> None:
    token = api.world.issue(idx=111).qr_token
    pdf = render_certificate(
        sample_certificate(),
        qr_text=qr_url(VERIFIER_URL, token),
        verifier_url=VERIFIER_URL,
        layout=LAYOUT,
        photo=holder_photo(),
    )
    conditions = dataclasses.replace(shot(11), blur=1.0)
    photo = phone_photo(page_image(pdf), 11, conditions=conditions)
    r = upload(api, photo, "IMG_0001.jpg", "image/jpeg")
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "valid"


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh-CN", ["二维码占画面", "对焦", "光线均匀", "PDF"]),
        ("en", ["filling most of the picture", "in focus", "even light", "PDF"]),
    ],
)
def test_an_unreadable_photo_is_told_how_to_take_a_better_one(
    api: Harness, page: tuple[Image.Image, str], lang: str, words: list[str]
) -> None:
    blurred = dataclasses.replace(shot(7), blur=6.0)
    photo = phone_photo(page[0], 7, conditions=blurred)
    r = upload(api, photo, "IMG_0002.jpg", "image/jpeg", **{"Accept-Language": lang})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/no_qr")
    assert all(w in body["detail"] for w in words), body["detail"]
