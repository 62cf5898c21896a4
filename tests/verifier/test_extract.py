"""verifier.extract's bounds, below the API: capped inflation, sniffing polyglots, and
sizes judged from headers and structure before anything is decoded."""

from __future__ import annotations

import zlib

import pytest

from tests.factory.hostile import image_pdf, jpeg, page_pdf, png, zeros_deflated
from verifier.extract import MAX_PAGE_SIDE, UnreadableFile, extract, inflate, sniff


def test_inflate_stops_one_byte_past_the_cap() -> None:
    assert inflate(zlib.compress(b"a" * 1000), 1000) == b"a" * 1000
    with pytest.raises(UnreadableFile) as caught:
        inflate(zeros_deflated(64 * 1024 * 1024), 1000)  # 64 MiB never produced
    assert caught.value.code == "stream_too_large"
    with pytest.raises(UnreadableFile) as damaged:
        inflate(b"not deflate at all", 1000)
    assert damaged.value.code == "unreadable_pdf"


def test_sniff_refuses_an_image_that_is_also_a_pdf() -> None:
    assert sniff(png(4, 4)) == "png" and sniff(jpeg(4, 4)) == "jpeg"
    assert sniff(b"junk\n%PDF-1.7\n") == "pdf" and sniff(b"PK\x03\x04") is None
    with pytest.raises(UnreadableFile) as caught:
        sniff(png(4, 4, [(b"tEXt", b"c\x00%PDF-1.4")]))
    assert caught.value.code == "polyglot_file"


@pytest.mark.parametrize(
    ("side", "unit", "code"),
    [
        (MAX_PAGE_SIDE, 1, "nothing_found"),  # three A3 sheets long: read
        (MAX_PAGE_SIDE + 1, 1, "page_too_large"),
        (1000, 4, "page_too_large"),  # UserUnit multiplies
        (500, 0, "unreadable_pdf"),
    ],
)
def test_page_size_counts_user_unit(side: float, unit: float, code: str) -> None:
    data = page_pdf(b"/MediaBox [0 0 %.1f 100] /UserUnit %g" % (side, unit))
    with pytest.raises(UnreadableFile) as caught:
        extract(data)
    assert caught.value.code == code


def test_an_image_is_judged_by_what_it_declares_not_what_it_holds() -> None:
    # 6,000 x 4,000 declared with 100 bytes of data: 24 MP is over the cap for a PDF image
    with pytest.raises(UnreadableFile) as caught:
        extract(image_pdf(6000, 4000, zlib.compress(bytes(100))))
    assert caught.value.code == "image_too_large"
    # 64 x 64 declared with 64 MiB of zeros: inflated no further than the declared size
    with pytest.raises(UnreadableFile) as bomb:
        extract(image_pdf(64, 64, zeros_deflated(64 * 1024 * 1024)))
    assert bomb.value.code == "stream_too_large"
