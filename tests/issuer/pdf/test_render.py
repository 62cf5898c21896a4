"""The printable certificate: every field comes back out of the PDF as text, every font
is embedded, rare names render through the fallback or fail by name, values too long fail,
unknown layouts are refused, and the seal is drawn in its place.

Needs poppler-utils (``scripts/system-packages.sh``, run by ``make install``).
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from issuer.pdf import (
    FieldTooLongError,
    GlyphMissingError,
    LayoutError,
    PdfError,
    available_layouts,
    render_certificate,
    render_many,
    zh_date,
)
from issuer.pdf._layout import load_layout
from tests.factory import VERIFIER_URL, World
from tests.factory.pdf import (
    MM_PER_INCH,
    PURPOSE,
    PURPOSE_EXPIRES,
    decode_qr,
    fixed_world,
    pdffonts,
    pdftotext,
    purpose_qr_text,
    qr_text_for,
    render_pages,
    sample_certificate,
    tool,
)

# ----------------------------------------------------------------------------- text


def test_text_gives_back_every_field_exactly(world: World) -> None:
    cert = sample_certificate()
    pdf = render_certificate(cert, qr_text=qr_text_for(world, cert), verifier_url=VERIFIER_URL)
    assert pdf.startswith(b"%PDF-")
    text = pdftotext(pdf)
    lines = {line.strip() for line in text.splitlines()}
    # each value is a line of its own, exactly as the certificate holds it
    for value in (
        "吴鸣",
        "女",
        "汉族",
        "1976年9月6日",
        "居民身份证",
        "110105197609062469",  # the full number, as on the paper certificate
        "高级中学教师资格",
        "思想政治",
        "2026年6月17日",
        "20261100142000001",
        cert.elicence_id,
        "第1版",
        "教师资格证书",
        "扫描二维码核验证书真伪",
        VERIFIER_URL,
    ):
        assert value in lines, (value, text)
    assert "北京市教育委员会教师资格认定中心 （机构代码 11001）" in lines
    assert "北京市教育委员会教师资格认定中心" in lines  # again by the seal
    assert "*" not in text  # nothing masked on the holder's own certificate


def test_labels_are_printed(world: World) -> None:
    cert = sample_certificate()
    text = pdftotext(
        render_certificate(cert, qr_text=qr_text_for(world, cert), verifier_url=VERIFIER_URL)
    )
    squeezed = re.sub(r"\s+", "", text)
    for label in (
        "姓名",
        "性别",
        "民族",
        "出生日期",
        "证件类型",
        "身份证件号码",
        "资格种类",
        "任教学科",
        "认定机构",
        "认定日期",
        "证书号码",
        "电子证照标识",
        "版本",
    ):
        assert label in squeezed, label


def test_ethnicity_row_only_when_given(world: World) -> None:
    cert = sample_certificate(ethnicity=None)
    text = pdftotext(
        render_certificate(cert, qr_text=qr_text_for(world, cert), verifier_url=VERIFIER_URL)
    )
    squeezed = re.sub(r"\s+", "", text)
    assert "民族" not in squeezed and "汉族" not in squeezed
    assert "110105197609062469" in text


def test_layout_prints_every_contract_field() -> None:
    # contract section 3: name, sex, birth date, ethnicity, identity document type and
    # number, qualification, subject, certification date, office, certificate number,
    # e-licence identifier, version
    keys = {row["key"] for row in load_layout("v1")["fields"]["rows"]}
    assert keys == {
        "name",
        "sex",
        "ethnicity",
        "birth_date",
        "id_type",
        "id_number",
        "qualification",
        "subject",
        "office",
        "certified_on",
        "certificate_number",
        "elicence_id",
        "version",
    }
    assert "v1" in available_layouts()


def test_purpose_bound_copy_masks_the_id_and_states_its_purpose(world: World) -> None:
    cert = sample_certificate()
    pdf = render_certificate(
        cert,
        qr_text=purpose_qr_text(world, cert),
        verifier_url=VERIFIER_URL,
        purpose=PURPOSE,
        purpose_expires=PURPOSE_EXPIRES,
    )
    text = pdftotext(pdf)
    lines = {line.strip() for line in text.splitlines()}
    assert "110***********2469" in lines
    assert "110105197609062469" not in text
    assert f"加注件：仅用于{PURPOSE}，有效期至{zh_date(PURPOSE_EXPIRES)}" in lines
    # the diagonal purpose is drawn as outlines, so it never mixes into the fields' text
    assert text.count(PURPOSE) == 1
    for value in ("吴鸣", "1976年9月6日", "高级中学教师资格", "20261100142000001"):
        assert value in lines
    # ... but it is printed: the page is darker where it crosses the fields
    plain = render_certificate(
        cert, qr_text=purpose_qr_text(world, cert), verifier_url=VERIFIER_URL
    )
    (copy_page,) = render_pages(pdf, 150)
    (plain_page,) = render_pages(plain, 150)
    band = (300, 500, 1000, 1100)  # the field area, where the diagonal lines run
    darker = sum(ImageChops.subtract(plain_page.crop(band), copy_page.crop(band)).histogram()[21:])
    assert darker > 5000, darker
    (found,) = decode_qr(copy_page)
    assert found.text == purpose_qr_text(world, cert)


@pytest.mark.parametrize(
    "over",
    [
        {"purpose": PURPOSE},
        {"purpose_expires": PURPOSE_EXPIRES},
        {"purpose": " ", "purpose_expires": PURPOSE_EXPIRES},
    ],
)
def test_purpose_needs_both_parts(world: World, over: dict[str, object]) -> None:
    cert = sample_certificate()
    with pytest.raises(PdfError, match="purpose"):
        render_certificate(
            cert, qr_text=qr_text_for(world, cert), verifier_url=VERIFIER_URL, **over
        )  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- fonts


def test_every_font_is_embedded(world: World) -> None:
    cert = sample_certificate(name="李𬌗")
    pdf = render_certificate(cert, qr_text=qr_text_for(world, cert), verifier_url=VERIFIER_URL)
    fonts = pdffonts(pdf)
    assert fonts, "no fonts listed"
    for f in fonts:
        assert f["emb"] == "yes" and f["sub"] == "yes" and f["uni"] == "yes", f
        assert "STSong" not in f["name"] and "Helvetica" not in f["name"], f
    names = {re.sub(r"^[A-Z]{6}\+", "", f["name"]) for f in fonts}
    assert names == {"UMingCN-0", "HanaMinA"}, names


@pytest.mark.parametrize(
    ("name", "fallback"),
    [("王䶮", None), ("李𬌗", "HanaMinA"), ("𠀀𪚥", "HanaMinA")],
)
def test_rare_character_names_render(world: World, name: str, fallback: str | None) -> None:
    cert = sample_certificate(name=name)
    pdf = render_certificate(cert, qr_text=qr_text_for(world, cert), verifier_url=VERIFIER_URL)
    assert name in {line.strip() for line in pdftotext(pdf).splitlines()}
    fonts = {re.sub(r"^[A-Z]{6}\+", "", f["name"]) for f in pdffonts(pdf)}
    assert (fallback in fonts) if fallback else (fonts == {"UMingCN-0"}), fonts


@pytest.mark.parametrize("field", ["name", "subject", "office_name"])
def test_a_character_in_no_font_fails_naming_it(world: World, field: str) -> None:
    nowhere = "\U0010fffd"  # plane 16 private use: in no font
    base = sample_certificate()
    cert = sample_certificate(**{field: getattr(base, field) + nowhere})
    with pytest.raises(GlyphMissingError) as err:
        render_certificate(cert, qr_text=qr_text_for(world, base), verifier_url=VERIFIER_URL)
    assert err.value.char == nowhere
    assert err.value.field == {"office_name": "office"}.get(field, field)
    assert "U+10FFFD" in str(err.value)
    assert isinstance(err.value, PdfError)


def test_a_value_too_long_for_its_line_fails() -> None:
    world = fixed_world()
    cert = sample_certificate(name="王" * 60)
    with pytest.raises(FieldTooLongError) as err:
        render_certificate(cert, qr_text=qr_text_for(world, cert), verifier_url=VERIFIER_URL)
    assert err.value.field == "name"


def test_long_values_shrink_to_fit(world: World) -> None:
    cert = sample_certificate(name="阿卜杜热合曼·买买提艾力·艾合麦提")  # 17 characters
    text = pdftotext(
        render_certificate(cert, qr_text=qr_text_for(world, cert), verifier_url=VERIFIER_URL)
    )
    assert cert.name in text


# ----------------------------------------------------------------------------- layouts and seal


def test_render_many_refuses_nothing() -> None:
    with pytest.raises(PdfError):
        render_many([], verifier_url=VERIFIER_URL)


def test_unknown_layouts_are_refused(world: World) -> None:
    cert = sample_certificate()
    for bad in ("v99", "../v1", "v1/../v1", ""):
        with pytest.raises(LayoutError):
            render_certificate(
                cert, qr_text=qr_text_for(world, cert), verifier_url=VERIFIER_URL, layout=bad
            )


def _seal_png() -> bytes:
    im = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.ellipse((10, 10, 390, 390), outline=(200, 20, 20, 255), width=16)
    d.regular_polygon((200, 200, 60), 5, fill=(200, 20, 20, 255))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_seal_image_is_drawn_in_its_place(world: World) -> None:
    cert = sample_certificate()
    text = qr_text_for(world, cert)
    with_seal = render_certificate(
        cert, qr_text=text, verifier_url=VERIFIER_URL, seal_png=_seal_png()
    )
    without = render_certificate(cert, qr_text=text, verifier_url=VERIFIER_URL)
    seal = load_layout("v1")["seal"]
    px = 72 / MM_PER_INCH
    centre = (round(seal["cx_mm"] * px), round(seal["cy_mm"] * px))  # the star's body
    with tempfile.TemporaryDirectory() as d:
        images = []
        for i, pdf in enumerate((with_seal, without)):
            path = Path(d) / f"{i}.pdf"
            path.write_bytes(pdf)
            subprocess.run(
                [tool("pdftoppm"), "-r", "72", "-png", str(path), str(Path(d) / f"{i}")], check=True
            )
            with Image.open(next(Path(d).glob(f"{i}-*.png"))) as im:
                images.append(im.convert("RGB"))
    r, g, b = images[0].getpixel(centre)
    assert r > 150 and g < 80 and b < 80, (r, g, b)  # red ink
    assert images[1].getpixel(centre) == (255, 255, 255)  # left clear without a seal
    # the seal is drawn over the office name and date, which stay readable as text
    assert "2026年6月17日" in pdftotext(with_seal)


def test_a_bad_seal_image_is_an_error(world: World) -> None:
    cert = sample_certificate()
    with pytest.raises(PdfError, match="seal"):
        render_certificate(
            cert, qr_text=qr_text_for(world, cert), verifier_url=VERIFIER_URL, seal_png=b"not a png"
        )
