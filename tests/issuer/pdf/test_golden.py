"""Golden images of the certificate page: a layout regression shows up as
pixels that moved.

Three fixed certificates (fixed fields, keys from fixed bytes, fixed dates, reportlab's
invariant mode) are rendered to 72-dpi colour PNGs with pdftoppm and compared with
``tests/golden/*.png``. Regenerate after an intended change of the look with

    JIAOZI_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/issuer/pdf/test_golden.py

which rewrites the goldens and their copies in ``docs/img/`` (shown in docs/pdf.md); look
at them before committing.

Tolerance. Two numbers, both in 0-255 levels averaged over the colour channels: the mean
absolute difference over the page must stay below 0.25, and no 24x24-pixel tile (a third
of an inch) may differ by more than 8 on average. Measured on the sample page when the
goldens were made (page mean / worst tile):

    re-rendering, same machine ........ 0 / 0 (poppler is deterministic)
    fields 0.3 mm lower ............... 1.93 / 29      fields 1 mm lower ..... 2.63 / 35
    QR 1 mm to the right .............. 2.01 / 98      QR with another mask .. 1.69 / 93
    value font 13.5 -> 13 pt .......... 0.95 / 30      accent red -> blue .... 1.86 / 33
    version row gone .................. 0.09 / 23      footer gone ........... 0.13 / 10.5
    one character of the name changed . 0.03 / 13

A diffuse change (a shift, a size, a colour) moves the page mean; a local one (a row or a
line gone) only shows in its tile, so each bound catches what the other misses. Both leave
room for anti-aliasing differences of a few levels on glyph edges between poppler/freetype
builds. Content is not what this guards (one digit of the identity number changed is only
0.005 / 2.2): the text tests in test_pdf.py check every value exactly.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat
from reportlab import rl_config

from credential import QualificationType, Sex
from issuer.pdf import render_certificate
from tests.factory import REPO, VERIFIER_URL
from tests.factory.pdf import (
    PURPOSE,
    PURPOSE_EXPIRES,
    fixed_world,
    purpose_qr_text,
    qr_text_for,
    sample_certificate,
    tool,
)
from tests.factory.phone import holder_photo

GOLDEN = REPO / "tests" / "golden"
DOCS_IMG = REPO / "docs" / "img"
UPDATE = os.environ.get("JIAOZI_UPDATE_GOLDEN") == "1"
PAGE_MEAN_MAX = 0.25
TILE = 24
TILE_MEAN_MAX = 8.0


@pytest.fixture(autouse=True)
def invariant() -> Iterator[None]:
    old = rl_config.invariant
    rl_config.invariant = 1
    try:
        yield
    finally:
        rl_config.invariant = old


def _pdf(case: str, layout: str = "v1") -> bytes:
    """The golden case's page; from v3 on with the synthetic holder's photo
    (tests.factory.phone.holder_photo), except in the case "no-photo" (a certificate
    made without one: no box is printed)."""
    world = fixed_world()
    photo = holder_photo() if layout not in ("v1", "v2") and case != "no-photo" else None
    if case in ("sample", "no-photo"):
        cert = sample_certificate()
        return render_certificate(
            cert,
            qr_text=qr_text_for(world, cert),
            verifier_url=VERIFIER_URL,
            layout=layout,
            photo=photo,
        )
    if case == "rare-name":
        cert = sample_certificate(
            certificate_number="20261100121000002",
            name="李𬌗",
            sex=Sex.MALE,
            birth_date=dt.date(1990, 3, 7),
            id_number="110105199003070033",
            qualification_type=QualificationType.PRIMARY,
            subject="数学",
            ethnicity=None,
        )
        return render_certificate(
            cert,
            qr_text=qr_text_for(world, cert),
            verifier_url=VERIFIER_URL,
            layout=layout,
            photo=photo,
        )
    if case == "purpose-copy":
        cert = sample_certificate()
        return render_certificate(
            cert,
            qr_text=purpose_qr_text(world, cert),
            verifier_url=VERIFIER_URL,
            purpose=PURPOSE,
            purpose_expires=PURPOSE_EXPIRES,
            layout=layout,
            photo=photo,
        )
    raise AssertionError(case)


def render_png(pdf: bytes, dpi: int = 72) -> Image.Image:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.pdf"
        path.write_bytes(pdf)
        subprocess.run(
            [
                tool("pdftoppm"),
                "-r",
                str(dpi),
                "-png",
                "-singlefile",
                str(path),
                str(Path(d) / "p"),
            ],
            check=True,
        )
        with Image.open(Path(d) / "p.png") as im:
            return im.convert("RGB")


def difference(a: Image.Image, b: Image.Image) -> tuple[float, float, tuple[int, int]]:
    """Return (page mean, worst tile mean, worst tile's top-left) of |a - b| in 0-255 levels,
    averaged over the three colour channels."""
    assert a.size == b.size, (a.size, b.size)
    diff = ImageChops.difference(a, b).convert("L", (1 / 3, 1 / 3, 1 / 3, 0))
    page = ImageStat.Stat(diff).mean[0]
    tiles = diff.reduce(TILE)  # each pixel the mean of one tile
    worst = tiles.getextrema()[1]
    flat = tiles.tobytes()
    i = flat.index(worst)
    return page, float(worst), ((i % tiles.width) * TILE, (i // tiles.width) * TILE)


# Each layout version has its goldens: v1's (certificate-<case>.png, made before v2) pin
# how certificates issued in v1 still print; the newest layout's are also docs/img's
# certificate-<case>.png, the look docs/pdf.md shows. v3 prints the holder's photo: its
# cases carry the synthetic one, and "no-photo" is a v3 certificate made without one.
GOLDEN_NAMES = {
    "v1": "certificate-{case}.png",
    "v2": "certificate-v2-{case}.png",
    "v3": "certificate-v3-{case}.png",
}
NEWEST = "v3"
CASES = [
    (layout, case)
    for layout in sorted(GOLDEN_NAMES)
    for case in ["sample", "rare-name", "purpose-copy"]
    + (["no-photo"] if layout not in ("v1", "v2") else [])
]


@pytest.mark.parametrize(("layout", "case"), CASES)
def test_page_matches_its_golden_image(case: str, layout: str) -> None:
    image = render_png(_pdf(case, layout))
    assert image.size in ((595, 842), (596, 842))  # A4 at 72 dpi, rounded by pdftoppm
    golden = GOLDEN / GOLDEN_NAMES[layout].format(case=case)
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        image.save(golden, optimize=True)
        if layout == NEWEST:
            shutil.copyfile(golden, DOCS_IMG / f"certificate-{case}.png")
    assert golden.is_file(), f"{golden} missing: run with JIAOZI_UPDATE_GOLDEN=1"
    with Image.open(golden) as g:
        page, tile, where = difference(image, g.convert("RGB"))
    assert page < PAGE_MEAN_MAX and tile < TILE_MEAN_MAX, (
        f"{case}: page mean |diff| {page:.3f} (max {PAGE_MEAN_MAX}), worst {TILE}px tile "
        f"{tile:.1f} at {where} (max {TILE_MEAN_MAX}); if the change is intended, "
        "regenerate with JIAOZI_UPDATE_GOLDEN=1 and look at the images"
    )


def test_the_tolerance_catches_small_regressions() -> None:
    """The thresholds above are not too loose: one changed character fails them."""
    base = render_png(_pdf("sample"))
    world = fixed_world()
    cert = sample_certificate(name="吴明")  # one character of the name changed
    changed = render_png(
        render_certificate(
            cert, qr_text=qr_text_for(world, sample_certificate()), verifier_url=VERIFIER_URL
        )
    )
    page, tile, _ = difference(base, changed)
    assert page < PAGE_MEAN_MAX and tile > TILE_MEAN_MAX, (page, tile)
