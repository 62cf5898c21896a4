"""Print files (``render_many``): one page per certificate in order, pages that look like
each certificate alone, the fixed layer and its font subset shared between pages and
documents, and byte-for-byte reproducible output in reportlab's invariant mode.

Needs poppler-utils (``scripts/system-packages.sh``, run by ``make install``).
"""

from __future__ import annotations

import copy
import io
import subprocess
from collections.abc import Iterator

import pytest
from PIL import ImageChops
from reportlab import rl_config

from credential import (
    Sex,
    qr_url,
)
from issuer.pdf import (
    PrintItem,
    _style,
    render_certificate,
    render_many,
)
from issuer.pdf._layout import load_layout
from tests.factory import VERIFIER_URL, World
from tests.factory.pdf import (
    PURPOSE,
    PURPOSE_EXPIRES,
    decode_qr,
    fixed_world,
    pdftotext,
    purpose_qr_text,
    qr_text_for,
    render_pages,
    sample_certificate,
)


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
    assert [decode_qr(im)[0].text for im in images] == [i.qr_text for i in items]


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


def _seal_forms(pdf: bytes) -> set[str]:
    """The names of the vector seals' form XObjects the pages of ``pdf`` show."""
    from pypdf import PdfReader

    names: set[str] = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        names.update(k for k in page["/Resources"]["/XObject"] if "JiaoziSeal" in k)
    return names


def test_a_print_file_draws_each_offices_seal_once(world: World) -> None:
    # the vector seal (layout v2 on) is the same on every certificate of an office: a
    # print file draws it once per office and seal text, as a form XObject its pages
    # show, and each page still looks exactly like the certificate rendered alone
    other = "上海市教育委员会"
    certs = [
        sample_certificate(certificate_number=f"2026110014200000{i}", name=n, **over)
        for i, (n, over) in enumerate(
            [("吴鸣", {}), ("李娜", {"office_name": other}), ("王䶮", {}), ("张三", {})], 1
        )
    ]
    items = [PrintItem(c, qr_text_for(world, c), layout="v2") for c in certs]
    items.append(PrintItem(certs[2], qr_text_for(world, certs[2]), layout="v2", seal_text="专用章"))
    pdf = render_many(items, verifier_url=VERIFIER_URL)
    assert len(_seal_forms(pdf)) == 3  # two offices, and one office with another text
    pages = render_pages(pdf, 72)
    for page, item in zip(pages, items, strict=True):
        (alone,) = render_pages(
            render_certificate(
                item.cert,
                qr_text=item.qr_text,
                verifier_url=VERIFIER_URL,
                layout="v2",
                seal_text=item.seal_text,
            ),
            72,
        )
        assert ImageChops.difference(page, alone).getbbox() is None, item.cert.name


def test_the_seal_is_computed_once_and_drawn_the_same(world: World, invariant: None) -> None:
    # the seal's operators are kept per layout and office: a page drawn from the memo is
    # byte for byte the page drawn with the seal computed afresh
    cert = sample_certificate()
    qr = qr_text_for(world, cert)

    def page() -> bytes:
        return render_certificate(cert, qr_text=qr, verifier_url=VERIFIER_URL, layout="v2")

    style = _style.get_style("v2")
    style.seal_code.clear()
    fresh = page()
    assert [k[0] for k in style.seal_code] == [cert.office_name]
    kept = style.seal_code[next(iter(style.seal_code))]
    assert kept is not None  # its operators name nothing of one document
    assert kept[0] and not any(op.endswith(" gs") for op in kept[0])
    assert page() == fresh
