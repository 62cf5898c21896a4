"""The printable certificate (issue 4 points 1-3): every field comes back out of the PDF as
text, every font is embedded, rare names render through the fallback or fail by name, and
the printed QR decodes from a 150-dpi grey render to the exact text that was signed, for
all 1,000 sample applicants.

Needs poppler-utils (``scripts/system-packages.sh``, run by ``make install``).
"""

from __future__ import annotations

import collections
import io
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops
from reportlab import rl_config

from credential import (
    Sex,
    extract_token,
    qr_url,
)
from issuer.pdf import (
    FieldTooLongError,
    GlyphMissingError,
    LayoutError,
    PdfError,
    PrintItem,
    available_layouts,
    encode_qr,
    render_certificate,
    render_many,
    zh_date,
)
from issuer.pdf._layout import load_layout
from tests.factory import VERIFIER_URL, World, applicants
from tests.factory.pdf import (
    PURPOSE,
    PURPOSE_EXPIRES,
    fixed_world,
    purpose_qr_text,
    qr_text_for,
    sample_certificate,
    tool,
)

MM_PER_INCH = 25.4


# ----------------------------------------------------------------------------- helpers












def pdftotext(pdf: bytes) -> str:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(
            [tool("pdftotext"), "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            check=True,
        )
    return out.stdout.decode("utf-8")


def pdffonts(pdf: bytes) -> list[dict[str, str]]:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(
            [tool("pdffonts"), str(path)], capture_output=True, check=True, text=True
        ).stdout
    lines = out.splitlines()
    assert lines[0].split()[:6] == ["name", "type", "encoding", "emb", "sub", "uni"], out
    rows = []
    for line in lines[2:]:
        # name and type may hold spaces ("Type 1"): read the fixed yes/no columns from the right
        parts = line.split()
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return rows


def render_pages(pdf: bytes, dpi: int, *, png: bool = True) -> list[Image.Image]:
    """Render every page with pdftoppm in grey; return loaded PIL images."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.pdf"
        path.write_bytes(pdf)
        args = [tool("pdftoppm"), "-r", str(dpi), "-gray"] + (["-png"] if png else [])
        subprocess.run([*args, str(path), str(Path(d) / "p")], check=True)
        images = []
        for p in sorted(Path(d).glob("p-*.p?m")) + sorted(Path(d).glob("p-*.png")):
            with Image.open(p) as im:
                images.append(im.convert("L"))
    return images


def decode(image: Image.Image) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


@pytest.fixture(scope="module")
def world() -> World:
    return fixed_world()


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
    (found,) = decode(copy_page)
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


# ----------------------------------------------------------------------------- QR


def test_qr_decodes_from_a_150_dpi_grey_render(world: World) -> None:
    cert = sample_certificate()
    full = world.issue(cert)
    text = qr_url(VERIFIER_URL, full.qr_token)
    pdf = render_certificate(cert, qr_text=text, verifier_url=VERIFIER_URL)
    (page,) = render_pages(pdf, 150)
    assert page.size == (1240, 1754) or page.size == (1241, 1754)
    (found,) = decode(page)
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
            (found,) = decode(img)
            assert found.text == text


def _pages_to_texts(pdf_path: Path, first: int, last: int) -> list[tuple[str, str, str]]:
    """Render pages first..last at 150 dpi grey and decode each; return (text, version, ec).

    Output as PGM, not PNG: the pixels are the same, and poppler spends ~0.2 s per page
    compressing PNGs (measured: 20 pages 4.7 s as PNG, 0.5 s as PGM).
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
                found = decode(im)
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


# ----------------------------------------------------------------------------- the file


def test_render_many_makes_one_page_per_certificate_in_order(world: World) -> None:
    certs = [
        sample_certificate(certificate_number=f"2026110014200000{i}", name=n)
        for i, n in enumerate(["吴鸣", "李𬌗", "王䶮"], start=1)
    ]
    items = [PrintItem(c, qr_text_for(world, c)) for c in certs]
    items.append(PrintItem(certs[0], purpose_qr_text(world, certs[0]), PURPOSE, PURPOSE_EXPIRES))
    pdf = render_many(items, verifier_url=VERIFIER_URL)
    pages = pdftotext(pdf).split("\f")
    assert len([p for p in pages if p.strip()]) == 4
    for page, item in zip(pages, items, strict=False):
        assert item.cert.name in page and item.cert.certificate_number in page
    assert "110***********2469" in pages[3] and "110105197609062469" in pages[0]
    images = render_pages(pdf, 150, png=False)
    assert [decode(im)[0].text for im in images] == [i.qr_text for i in items]


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
    from PIL import ImageDraw

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


@pytest.fixture
def invariant() -> Iterator[None]:
    old = rl_config.invariant
    rl_config.invariant = 1
    try:
        yield
    finally:
        rl_config.invariant = old


def test_invariant_output_is_byte_for_byte_reproducible(invariant: None) -> None:
    cert = sample_certificate(name="李𬌗")
    first = render_certificate(
        cert, qr_text=qr_text_for(fixed_world(), cert), verifier_url=VERIFIER_URL
    )
    second = render_certificate(
        cert, qr_text=qr_text_for(fixed_world(), cert), verifier_url=VERIFIER_URL
    )
    assert first == second


def _font_programs(pdf: bytes) -> dict[str, bytes]:
    """Return each embedded font program (decompressed) by its subset's BaseFont name."""
    from pypdf import PdfReader

    out = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            out[str(font["/BaseFont"])] = font["/FontDescriptor"]["/FontFile2"].get_data()
    return out


def test_fixed_texts_share_one_font_subset_across_certificates(world: World) -> None:
    # the layout's fixed texts are drawn in a subset that is the same for every certificate
    # (made once per process); each certificate's own text in a subset of its own
    a = sample_certificate(name="王小明", subject="数学")
    b = sample_certificate(name="赵丽颖", subject="化学", sex=Sex.FEMALE)
    pa = render_certificate(a, qr_text=qr_text_for(world, a), verifier_url=VERIFIER_URL)
    pb = render_certificate(b, qr_text=qr_text_for(world, b), verifier_url=VERIFIER_URL)
    fa, fb = _font_programs(pa), _font_programs(pb)
    assert set(fa) == set(fb) and len(fa) == 2, (set(fa), set(fb))
    (own,) = [k for k in fa if k.startswith("/AAAAAA+")]  # reportlab's first subset
    (fixed,) = [k for k in fa if k != own]
    assert fa[fixed] == fb[fixed]
    assert fa[own] != fb[own]
    for pdf, cert in ((pa, a), (pb, b)):
        text = pdftotext(pdf)
        for s in (
            "教师资格证书",
            "扫描二维码核验证书真伪",
            "身份证件号码",
            cert.name,
            cert.subject,
        ):
            assert s in text.replace(" ", ""), s


def test_print_file_pages_look_like_each_certificate_alone(world: World) -> None:
    # a print file draws the pages' fixed layer once (a form XObject every page shows):
    # each page must still look exactly like the certificate rendered alone
    certs = [
        sample_certificate(name="吴鸣"),
        sample_certificate(name="李𬌗", ethnicity="蒙古族"),
        sample_certificate(name="王䶮"),
    ]
    items = [PrintItem(c, qr_text_for(world, c)) for c in certs]
    items.append(PrintItem(certs[0], purpose_qr_text(world, certs[0]), PURPOSE, PURPOSE_EXPIRES))
    pages = render_pages(render_many(items, verifier_url=VERIFIER_URL), 72)
    assert len(pages) == len(items)
    for page, item in zip(pages, items, strict=True):
        (alone,) = render_pages(
            render_certificate(
                item.cert,
                qr_text=item.qr_text,
                verifier_url=VERIFIER_URL,
                purpose=item.purpose,
                purpose_expires=item.purpose_expires,
            ),
            72,
        )
        assert ImageChops.difference(page, alone).getbbox() is None, item.cert.name


def test_a_fixed_text_in_the_fallback_face_is_drawn_afresh_in_every_document() -> None:
    # The fixed layer's operators are kept per process only when they use the fixed font
    # alone: a fallback face's resource name and codes belong to each document, so a kept
    # copy would name a font the next PDF does not have (a layout with 𬌗 in its title).
    import copy

    from issuer.pdf import _style

    layout = copy.deepcopy(load_layout("v1"))
    layout["version"] = "v1-rare-title"
    layout["texts"][0]["text"] = layout["texts"][0]["text"] + "𬌗"
    _style.STYLES["v1-rare-title"] = _style.Style(layout)
    try:
        assert not _style.STYLES["v1-rare-title"].fixed_layer_reusable
        assert _style.get_style("v1").fixed_layer_reusable
        world = fixed_world()
        for serial in (1, 2):
            cert = sample_certificate(certificate_number=f"2026110014200000{serial}")
            qr = qr_url(VERIFIER_URL, world.issue(cert).qr_token)
            pdf = render_certificate(
                cert, qr_text=qr, verifier_url=VERIFIER_URL, layout="v1-rare-title"
            )
            out = subprocess.run(
                ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
            )
            assert "𬌗" in out.stdout.decode(), serial
            assert b"Unknown font" not in out.stderr and b"Syntax Error" not in out.stderr
    finally:
        del _style.STYLES["v1-rare-title"]
