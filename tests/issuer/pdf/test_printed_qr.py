"""The printed QR: it decodes from a 150-dpi grey render to the exact text that was signed,
for all 1,000 sample applicants; it is 30-45 mm wide with its quiet zone; both encoders
agree.

Needs poppler-utils (``scripts/system-packages.sh``, run by ``make install``).
"""

from __future__ import annotations

import collections
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from credential import (
    extract_token,
    qr_url,
)
from issuer.pdf import (
    PrintItem,
    encode_qr,
    render_certificate,
    render_many,
)
from issuer.pdf._layout import load_layout
from tests.factory import VERIFIER_URL, World, applicants
from tests.factory.pdf import (
    MM_PER_INCH,
    decode_qr,
    fixed_world,
    qr_text_for,
    render_pages,
    sample_certificate,
    tool,
)


def test_qr_decodes_from_a_150_dpi_grey_render(world: World) -> None:
    cert = sample_certificate()
    full = world.issue(cert)
    text = qr_url(VERIFIER_URL, full.qr_token)
    pdf = render_certificate(cert, qr_text=text, verifier_url=VERIFIER_URL)
    (page,) = render_pages(pdf, 150)
    assert page.size == (1240, 1754) or page.size == (1241, 1754)
    (found,) = decode_qr(page)
    assert found.text == text
    assert extract_token(found.text, verifier_origin=VERIFIER_URL) == full.qr_token
    assert found.ec_level == "Q"


def test_qr_is_printed_30_to_45_mm_wide_with_a_quiet_zone(world: World) -> None:
    q = load_layout("v1")["qr"]
    cert = sample_certificate()
    text = qr_text_for(world, cert)
    modules = encode_qr(text, error=q["error"], mask=q.get("mask"), engine=q["engine"]).modules
    assert q["quiet_modules"] >= 4
    symbol_mm = q["size_mm"] * modules / (modules + 2 * q["quiet_modules"])
    assert 30 <= symbol_mm <= 45 and 30 <= q["size_mm"] <= 45
    # and measured on a 300-dpi render: the dark extent of the symbol, then the quiet zone
    (page,) = render_pages(render_certificate(cert, qr_text=text, verifier_url=VERIFIER_URL), 300)
    px_per_mm = 300 / MM_PER_INCH
    box = (
        round(q["x_mm"] * px_per_mm),
        round(q["y_mm"] * px_per_mm),
        round((q["x_mm"] + q["size_mm"]) * px_per_mm),
        round((q["y_mm"] + q["size_mm"]) * px_per_mm),
    )
    region = page.crop(box).point(lambda v: 255 if v < 128 else 0)
    left, top, right, bottom = region.getbbox()
    width_mm, height_mm = (right - left) / px_per_mm, (bottom - top) / px_per_mm
    assert 30 <= width_mm <= 45 and abs(width_mm - symbol_mm) < 0.5, width_mm
    assert abs(height_mm - width_mm) < 0.5
    quiet_mm = q["quiet_modules"] * q["size_mm"] / (modules + 2 * q["quiet_modules"])
    assert left / px_per_mm >= quiet_mm - 0.3 and top / px_per_mm >= quiet_mm - 0.3
    # nothing else printed in a band of one quiet zone around the image
    pad = round(quiet_mm * px_per_mm)
    ring = page.crop((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad))
    inner = Image.new("L", (box[2] - box[0], box[3] - box[1]), 255)
    ring.paste(inner, (pad, pad))
    assert ring.getextrema()[0] > 200, "something printed in the QR's quiet zone"


def test_qr_engines_agree_on_version_and_both_decode() -> None:
    world = fixed_world()
    for row in applicants()[:20]:
        text = qr_text_for(world, world.certificate(row))
        a = encode_qr(text, mask=0)
        b = encode_qr(text, engine="zxing")
        assert a.version == b.version <= 18
        for m in (a, b):
            n = m.modules + 8
            raw = bytearray([255]) * (n * n)
            for r, row_bits in enumerate(m.rows):
                for c, dark in enumerate(row_bits):
                    if dark:
                        raw[(r + 4) * n + c + 4] = 0
            img = Image.frombytes("L", (n, n), bytes(raw)).resize((n * 4, n * 4), Image.NEAREST)
            (found,) = decode_qr(img)
            assert found.text == text


def _pages_to_texts(pdf_path: Path, first: int, last: int) -> list[tuple[str, str, str]]:
    """Render pages first..last at 150 dpi grey and decode each; return (text, version, ec).

    Output as PGM, not PNG: the pixels are the same, and compressing PNGs is most of
    poppler's time per page.
    """
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(
            [
                tool("pdftoppm"),
                "-r",
                "150",
                "-gray",
                "-f",
                str(first),
                "-l",
                str(last),
                str(pdf_path),
                str(Path(d) / "p"),
            ],
            check=True,
        )
        out = []
        for p in sorted(Path(d).glob("p-*.pgm")):
            with Image.open(p) as im:
                found = decode_qr(im)
            out.append(
                (found[0].text, found[0].extra.get("Version", "?"), found[0].ec_level)
                if len(found) == 1
                else (f"<{len(found)} codes>", "?", "?")
            )
    return out


def test_every_sample_applicant_qr_fits_and_decodes_from_its_page(tmp_path: Path) -> None:
    started = time.perf_counter()
    world = World()
    rows = applicants()
    assert len(rows) == 1000
    items: list[PrintItem] = []
    tokens: list[str] = []
    for row in rows:
        cert = world.certificate(row)
        token = world.issue(cert).qr_token
        tokens.append(token)
        items.append(PrintItem(cert, qr_url(VERIFIER_URL, token)))
    pdf_path = tmp_path / "all.pdf"
    t = time.perf_counter()
    pdf_path.write_bytes(render_many(items, verifier_url=VERIFIER_URL))
    render_s = time.perf_counter() - t
    chunk = 50
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = pool.map(
            lambda first: _pages_to_texts(pdf_path, first, min(first + chunk - 1, len(items))),
            range(1, len(items) + 1, chunk),
        )
        decoded = [x for part in parts for x in part]
    assert len(decoded) == len(items)
    failures = [
        (i, item.cert.certificate_number)
        for i, (item, (text, _, _)) in enumerate(zip(items, decoded, strict=True))
        if text != item.qr_text
    ]
    assert not failures, failures[:10]
    for token, (text, _, ec) in zip(tokens, decoded, strict=True):
        assert extract_token(text, verifier_origin=VERIFIER_URL) == token
        assert ec == "Q"
    versions = collections.Counter(int(v) for _, v, _ in decoded)
    print(
        f"\nQR versions at level Q, as printed and decoded: {dict(sorted(versions.items()))}"
        f" (median {statistics.median(int(v) for _, v, _ in decoded)});"
        f" render_many {render_s:.1f} s, whole test {time.perf_counter() - started:.1f} s"
    )
    assert max(versions) <= 18
