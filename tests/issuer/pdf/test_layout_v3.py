"""Layout v3 (issue 15): the holder's photo beside the personal details, a QR big enough
for a phone photo of the whole page, the seal over the date; v1 and v2 draw their
certificates as before (their goldens, test_golden.py).

Needs poppler-utils (``scripts/system-packages.sh``).
"""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest
from PIL import Image

from credential import IdType, qr_url
from issuer.pdf import (
    PrintItem,
    available_layouts,
    encode_qr,
    render_certificate,
    render_many,
    signed_certificate_pdf,
    too_wide,
)
from issuer.pdf._layout import load_layout
from keys import office_document_key, pades_signer
from tests.factory import VERIFIER_URL, World
from tests.factory.pdf import (
    MM_PER_INCH,
    NOW,
    OFFICE,
    make_store,
    pdftotext,
    qr_text_for,
    render_pages,
    sample_certificate,
)
from tests.factory.phone import holder_photo
from tests.issuer.pdf.test_golden import render_png
from tests.issuer.pdf.test_sign import validate
from verifier.extract import extract

V3 = load_layout("v3")
DPI = 100
# the widest values the rows beside the photo may hold: the longest identity document
# and an ethnicity of 20 characters (issuer.fields' limit), a passport number of 20
WIDE = {
    "ethnicity": "蒙" * 20,
    "id_type": IdType.HK_MO_PASS,
    "id_number": "H" * 20,
}


def _v3(world: World, photo: bytes | None, **over: Any) -> bytes:
    cert = sample_certificate(**over)
    return render_certificate(
        cert, qr_text=qr_text_for(world, cert), verifier_url=VERIFIER_URL, layout="v3", photo=photo
    )


def _box(image: Image.Image, box: dict[str, float], inset_mm: float = 0.0) -> Image.Image:
    px = DPI / MM_PER_INCH
    return image.crop(
        (
            round((box["x_mm"] + inset_mm) * px),
            round((box["y_mm"] + inset_mm) * px),
            round((box["x_mm"] + box["width_mm"] - inset_mm) * px),
            round((box["y_mm"] + box["height_mm"] - inset_mm) * px),
        )
    )


def test_v3_is_the_newest_layout_and_has_a_one_inch_photo_box() -> None:
    assert available_layouts() == ["v1", "v2", "v3"]
    box = V3["photo"]
    assert (box["width_mm"], box["height_mm"]) == (25, 35)  # the one-inch photo, 5:7
    assert "photo" not in load_layout("v1") and "photo" not in load_layout("v2")
    # inside the inner frame, right of every shortened row's rule
    inner = V3["border"]["inner_inset_mm"]
    assert box["x_mm"] + box["width_mm"] < V3["page"]["width_mm"] - inner
    f = V3["fields"]
    shortened = [r for r in f["rows"] if r.get("max_mm", f["value_max_mm"]) < f["value_max_mm"]]
    assert shortened and all(f["value_x_mm"] + r["max_mm"] < box["x_mm"] for r in shortened)


@pytest.mark.parametrize("ethnicity", ["蒙" * 20, None])
def test_no_field_runs_under_the_photo_and_no_box_without_one(
    world: World, ethnicity: str | None
) -> None:
    # without a photo nothing is printed where it would be (no empty frame to paste a
    # photo into); with the widest values the rows beside it hold, whether or not the
    # optional ethnicity row moves the others up, the box stays blank paper
    over = {**WIDE, "ethnicity": ethnicity, "name": "欧阳" * 20}
    (page,) = render_pages(_v3(world, None, **over), DPI)
    lo, hi = _box(page.convert("L"), V3["photo"], inset_mm=-1.0).getextrema()
    assert lo == hi == 255, (lo, hi)
    text = pdftotext(_v3(world, None, **over))
    assert "欧阳" * 20 in text.replace("\n", "").replace(" ", "")


def test_the_photo_is_printed_in_its_box(world: World) -> None:
    pdf = _v3(world, holder_photo())
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    assert len(page.images) == 2  # the QR and the photo
    image = render_png(pdf)  # 72 dpi, colour
    px = 72 / MM_PER_INCH
    box = V3["photo"]
    # the synthetic photo's blue background in its top corner, its dark coat at the bottom
    r, g, b = image.getpixel((round((box["x_mm"] + 2) * px), round((box["y_mm"] + 2) * px)))
    assert b > r + 40 and b > 180, (r, g, b)
    bottom = box["y_mm"] + box["height_mm"] - 2
    coat = image.getpixel((round((box["x_mm"] + 12.5) * px), round(bottom * px)))
    assert max(coat) < 90, coat


def test_the_qr_is_bigger_and_within_the_contracts_budget(world: World) -> None:
    q, q2 = V3["qr"], load_layout("v2")["qr"]
    assert q["size_mm"] > q2["size_mm"] and q["quiet_modules"] >= 4
    assert q["error"] == "Q"
    cert = sample_certificate()
    matrix = encode_qr(qr_text_for(world, cert), error="Q", engine=q["engine"])
    assert matrix.version <= 18  # a typical certificate: the contract's budget (section 4)
    module_mm = q["size_mm"] / (matrix.modules + 2 * q["quiet_modules"])
    assert module_mm > 0.6  # v2's was about 0.5 mm
    # even at the most the layout prints, a module is larger than v2's sample's
    largest = 17 + 4 * q["max_version"] + 2 * q["quiet_modules"]
    assert q["size_mm"] / largest > 40 / (matrix.modules + 8)
    # the caption beside it, not shrunk below a readable size, left of the signature
    right = q["x_mm"] + q["size_mm"]
    sig_left = min(s["x_mm"] - s["max_mm"] / 2 for s in V3["signature"])
    for spec in V3["qr_caption"]:
        assert right <= spec["x_mm"] and spec["x_mm"] + spec["max_mm"] <= sig_left + 1
    # the page decodes, QR read from a 150-dpi render
    from tests.factory.pdf import decode_qr

    (page,) = render_pages(_v3(world, holder_photo()), 150, png=False)
    assert [b.text for b in decode_qr(page)] == [qr_text_for(world, cert)]


def test_the_seal_is_over_the_date(world: World) -> None:
    seal, (office, date) = V3["seal"], V3["signature"]
    r = seal["diameter_mm"] / 2
    assert date["text"] == "{certified_on}" and office["text"] == "{office}"
    assert abs(date["x_mm"] - seal["cx_mm"]) < 1 and abs(date["y_mm"] - seal["cy_mm"]) < r / 2
    assert seal["style"] == "vector"
    # the e-licence identifier at a size readable at 100 % (as v2)
    row = next(r for r in V3["fields"]["rows"] if r["key"] == "elicence_id")
    assert row["min_size"] >= 8.5
    cert = sample_certificate()
    assert cert.elicence_id in pdftotext(_v3(world, holder_photo()))


def test_too_wide_asks_the_rows_own_line_and_every_layout() -> None:
    f = V3["fields"]
    room = next(r for r in f["rows"] if r["key"] == "ethnicity")["max_mm"] / MM_PER_INCH * 72
    n = int(room // f["min_value_size"]) + 1  # CJK characters are 1 em wide
    assert too_wide("ethnicity", "蒙" * n, layout="v3") == pytest.approx(n * 7)
    assert too_wide("ethnicity", "蒙" * n, layout="v2") is None  # v2's line is 112 mm
    assert too_wide("ethnicity", "蒙" * n) == pytest.approx(n * 7)  # any layout: refused
    assert too_wide("ethnicity", "蒙" * 20) is None  # what validation lets through fits


def test_a_v3_page_with_its_photo_is_signed_and_verifies(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    store = make_store(tmp_path_factory.mktemp("home"))
    key = office_document_key(store, OFFICE, now=NOW)
    cert = sample_certificate()
    issued = world.issue(cert)
    pdf = signed_certificate_pdf(
        cert,
        qr_text=qr_url(VERIFIER_URL, issued.qr_token),
        verifier_url=VERIFIER_URL,
        signer=pades_signer(key),
        credential_jws=issued.credential,
        layout="v3",
        photo=holder_photo(),
    )
    status = validate(pdf, key.chain_der[0])
    assert status.intact and status.valid and status.bottom_line
    found = extract(pdf)
    assert found.credential == issued.credential
    assert found.qr == qr_url(VERIFIER_URL, issued.qr_token)


def test_v3_print_file_pages_look_like_each_certificate_alone(world: World) -> None:
    certs = [sample_certificate(name="吴鸣"), sample_certificate(name="李𬌗", ethnicity=None)]
    photos = [holder_photo(), holder_photo(background="#F2F2F2")]
    items = [
        PrintItem(c, qr_text_for(world, c), layout="v3", photo=p)
        for c, p in zip(certs, photos, strict=True)
    ]
    items.append(PrintItem(certs[0], qr_text_for(world, certs[0]), layout="v3"))  # no photo
    pages = render_pages(render_many(items, verifier_url=VERIFIER_URL), 72)
    for page, item in zip(pages, items, strict=True):
        (alone,) = render_pages(
            render_certificate(
                item.cert,
                qr_text=item.qr_text,
                verifier_url=VERIFIER_URL,
                layout="v3",
                photo=item.photo,
            ),
            72,
        )
        assert page.tobytes() == alone.tobytes(), item.cert.name
