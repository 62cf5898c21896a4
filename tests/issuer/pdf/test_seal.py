"""Layout v2 (issue 15): the vector official seal over the issue date, the readable
e-licence identifier, one verb (核验) and one wording of a purpose copy's expiry; layout
v1 still draws old certificates exactly as before.

Needs poppler-utils (``scripts/system-packages.sh``).
"""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from reportlab import rl_config

from credential import qr_url
from issuer.pdf import (
    FieldTooLongError,
    available_layouts,
    render_certificate,
    signed_certificate_pdf,
    zh_date,
)
from issuer.pdf._layout import load_layout
from keys import office_document_key, pades_signer
from tests.factory import VERIFIER_URL, World
from tests.factory.pdf import (
    MM_PER_INCH,
    NOW,
    OFFICE,
    PURPOSE,
    PURPOSE_EXPIRES,
    make_store,
    pdftotext,
    purpose_qr_text,
    qr_text_for,
    sample_certificate,
)
from tests.issuer.pdf.test_golden import render_png
from tests.issuer.pdf.test_render import _seal_png
from tests.issuer.pdf.test_sign import validate
from verifier.extract import extract

SHORTEST = "教育"  # 2 characters
LONGEST = "北京市海淀区教育委员会教师资格认定指导中心办公室"  # 24 ...
LONGEST = LONGEST + "甲"  # ... 25 characters, the longest an office name may be


def _page_stream(pdf: bytes) -> bytes:
    """The page's own content stream, decompressed (no form XObjects)."""
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    return bytes(page.get_contents().get_data())  # type: ignore[union-attr]


def _images(pdf: bytes) -> int:
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    return len(page.images)


def _seal_forms(pdf: bytes) -> int:
    """The vector seals' form XObjects page 1 shows."""
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    names = page["/Resources"]["/XObject"].keys()
    return sum("JiaoziSeal" in str(n) for n in names)


def _seal_stream(pdf: bytes) -> bytes:
    """The vector seal's operators: its form XObject's content stream."""
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    (form,) = [v for k, v in page["/Resources"]["/XObject"].items() if "JiaoziSeal" in k]
    return bytes(form.get_object().get_data())


def _red_at(pdf: bytes, x_mm: float, y_mm: float) -> bool:
    image = render_png(pdf)  # in colour (render_pages gives grey)
    px = 72 / MM_PER_INCH
    r, g, b = image.getpixel((round(x_mm * px), round(y_mm * px)))
    return r > 150 and g < 110 and b < 110


def _v2(world: World, **over: object) -> bytes:
    cert = sample_certificate(**over)
    return render_certificate(
        cert, qr_text=qr_text_for(world, cert), verifier_url=VERIFIER_URL, layout="v2"
    )


def test_v2_is_a_new_layout_and_v1_is_unchanged() -> None:
    assert available_layouts()[:2] == ["v1", "v2"]
    assert load_layout("v1")["seal"].get("style") is None  # still the dashed placeholder
    assert load_layout("v2")["seal"]["style"] == "vector"


def test_v2_draws_the_seal_in_vectors_by_default(world: World) -> None:
    pdf = _v2(world)
    seal = load_layout("v2")["seal"]
    # the star's centre and a point of the ring are red ink; no image but the QR
    # (the star's upper arm, between the office name and the date it overlaps)
    assert _red_at(pdf, seal["cx_mm"], seal["cy_mm"] - seal["star_dy_mm"] - 3)
    assert _red_at(pdf, seal["cx_mm"] - seal["diameter_mm"] / 2 + 0.4, seal["cy_mm"])
    assert _images(pdf) == 1  # the QR alone
    stream = _page_stream(pdf)
    assert b"/Multiply" in pdf and b" cm" in stream
    # the name and purpose on the seal are outlines: the text layer has the office once
    # (the signature line and the field), never in stray rotated characters
    text = pdftotext(pdf)
    assert "专用章" not in text
    assert text.count("北京市教育委员会教师资格认定中心") == 2


def test_v2_draws_the_configured_image_instead(world: World) -> None:
    cert = sample_certificate()
    text = qr_text_for(world, cert)
    vector = render_certificate(cert, qr_text=text, verifier_url=VERIFIER_URL, layout="v2")
    image = render_certificate(
        cert, qr_text=text, verifier_url=VERIFIER_URL, layout="v2", seal_png=_seal_png()
    )
    assert _images(vector) == 1 and _images(image) == 2
    # the vector seal is a form XObject the page shows; the image seal draws none
    assert _seal_forms(vector) == 1 and _seal_forms(image) == 0


def test_the_seal_purpose_text_is_configurable(world: World) -> None:
    cert = sample_certificate()
    qr = qr_text_for(world, cert)
    default = render_certificate(cert, qr_text=qr, verifier_url=VERIFIER_URL, layout="v2")
    other = render_certificate(
        cert, qr_text=qr, verifier_url=VERIFIER_URL, layout="v2", seal_text="专用章"
    )
    assert _seal_stream(default) != _seal_stream(other)


@pytest.mark.parametrize("office", [SHORTEST, LONGEST])
def test_shortest_and_longest_office_names_fit_the_arc(world: World, office: str) -> None:
    assert len(LONGEST) == 25
    pdf = _v2(world, office_name=office)
    text = pdftotext(pdf)
    assert office in text
    seal = load_layout("v2")["seal"]
    # nothing of the seal strays outside its circle: the page is white just outside it
    r = seal["diameter_mm"] / 2
    for dx, dy in ((0, -r - 1.5), (-r - 1.5, 0), (r + 1.5, 0)):
        assert not _red_at(pdf, seal["cx_mm"] + dx, seal["cy_mm"] + dy)


def test_a_name_too_long_for_the_arc_is_refused(world: World) -> None:
    with pytest.raises(FieldTooLongError):
        _v2(world, office_name="教" * 60)


def test_the_elicence_identifier_is_printed_at_a_readable_size(world: World) -> None:
    cert = sample_certificate()
    pdf = _v2(world)
    assert cert.elicence_id in {line.strip() for line in pdftotext(pdf).splitlines()}
    # the identifier's font size: Tf operators in the page, the one before its text
    stream = _page_stream(pdf)
    sizes = [float(m) for m in re.findall(rb"/F\d+\+?\d* ([0-9.]+) Tf", stream)]
    row = next(r for r in load_layout("v2")["fields"]["rows"] if r["key"] == "elicence_id")
    assert row["min_size"] >= 8
    assert any(row["min_size"] <= s <= row["size"] for s in sizes), sizes
    # and not clipped: it ends inside the inner frame
    right_mm = 68 + row["max_mm"]
    assert right_mm < 210 - load_layout("v2")["border"]["inner_inset_mm"]


def test_the_verb_is_hekan_and_the_copy_expiry_reads_the_same(world: World) -> None:
    cert = sample_certificate()
    copy = render_certificate(
        cert,
        qr_text=purpose_qr_text(world, cert),
        verifier_url=VERIFIER_URL,
        layout="v2",
        purpose=PURPOSE,
        purpose_expires=PURPOSE_EXPIRES,
    )
    text = pdftotext(copy)
    flat = text.replace("\n", "")
    # 核验 only: 验证 and 查验 are nowhere (核验证书 is 核验 + 证书)
    assert "核验" in flat and not re.search("(?<!核)验证", flat) and "查验" not in flat
    last_day = f"有效期至{zh_date(PURPOSE_EXPIRES)}（含当日）"
    assert last_day in flat
    assert "前有效" not in flat
    # the watermark is outlines (not text): its words are the layout's, the same phrase
    layout = load_layout("v2")
    assert "前有效" not in layout["watermark"]["text"]
    for template in (layout["watermark"]["text"], layout["purpose_line"]["text"]):
        assert "有效期至{expires}（含当日）" in template


def test_an_old_certificate_renders_as_before(world: World) -> None:
    """v1 is pinned byte for byte (invariant mode) by its own render: the default layout
    of the renderer and an explicit v1 agree, and differ from v2."""
    old = rl_config.invariant
    rl_config.invariant = 1
    try:
        cert = sample_certificate()
        qr = qr_text_for(world, cert)
        default = render_certificate(cert, qr_text=qr, verifier_url=VERIFIER_URL)
        v1 = render_certificate(cert, qr_text=qr, verifier_url=VERIFIER_URL, layout="v1")
        v2 = render_certificate(cert, qr_text=qr, verifier_url=VERIFIER_URL, layout="v2")
    finally:
        rl_config.invariant = old
    assert default == v1 != v2
    assert b"[2 2] 0 d" in _page_stream(v1)  # the dashed placeholder circle


@pytest.mark.parametrize("layout", ["v1", "v2"])
def test_both_versions_are_signed_and_verify(
    world: World, layout: str, tmp_path_factory: pytest.TempPathFactory
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
        layout=layout,
    )
    status = validate(pdf, key.chain_der[0])
    assert status.intact and status.valid and status.bottom_line
    found = extract(pdf)  # what the verifier reads from the upload: the QR and credential
    assert found.credential == issued.credential
    assert found.qr == qr_url(VERIFIER_URL, issued.qr_token)
