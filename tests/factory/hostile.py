"""A battery of hostile uploads (issue 11 point 1): each file built here in code, small,
named after the defect it carries, with the problem code the verifier must answer.

PDFs are assembled object by object (``_pdf``) so that every defect is exactly the one
named: a page or UserUnit too large, images or attachments declaring huge sizes, Flate
bombs, nested Flate, too many pages, images, streams or attachments, encryption, loops,
truncation; and images whose headers declare more than they hold, chunk bombs, polyglots.
``battery()`` returns them all; ``bench/hostile.py`` posts the same files.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

__all__ = [
    "Hostile",
    "battery",
    "image_pdf",
    "jpeg",
    "page_pdf",
    "png",
    "png_rgb_zeros",
    "raw_pdf",
    "zeros_deflated",
]

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Hostile:
    name: str
    code: str  # the problem type the verifier answers (its status is 422)
    build: Callable[[], bytes]


# --- building blocks ----------------------------------------------------------------------


def raw_pdf(objects: list[bytes], trailer: bytes = b"", header: bytes = b"%PDF-1.7\n") -> bytes:
    """A PDF of ``objects`` (numbered from 1; 1 is the catalog) with a correct xref table."""
    out = bytearray(header + b"%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\n" % (len(objects) + 1, trailer)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def stream(entries: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n" % (entries, len(data)) + data + b"\nendstream"


def zeros_deflated(size: int, prefix: bytes = b"") -> bytes:
    """``prefix`` and ``size`` zero bytes deflated (zeros shrink about 1,000 times), built
    a MiB at a time."""
    c = zlib.compressobj(9)
    block = bytes(MIB)
    parts = [c.compress(prefix)]
    parts += [c.compress(block) for _ in range(size // MIB)]
    parts.append(c.compress(bytes(size % MIB)))
    parts.append(c.flush())
    return b"".join(parts)


def deflated(data: bytes, times: int = 1) -> bytes:
    for _ in range(times):
        data = zlib.compress(data, 9)
    return data


A4 = b"/MediaBox [0 0 595 842]"
CONTENT = stream(b"", b"BT /F1 12 Tf 72 770 Td (Certificate) Tj ET")


def page_pdf(
    page: bytes = A4,
    *,
    resources: bytes = b"",
    content: bytes = CONTENT,
    catalog: bytes = b"",
    pages: bytes = b"",
    more: list[bytes] | None = None,
) -> bytes:
    """One page (object 3, content object 4); ``more`` are objects 5, 6, ..."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R %s >>" % catalog,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 %s >>" % pages,
            b"<< /Type /Page /Parent 2 0 R %s /Resources << %s >> /Contents 4 0 R >>"
            % (page, resources),
            content,
            *(more or []),
        ]
    )


def image_pdf(width: int, height: int, data: bytes, filters: bytes = b"/FlateDecode") -> bytes:
    """A page drawing one grey image XObject (object 5) declaring ``width`` x ``height``."""
    entries = b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray " % (
        width,
        height,
    )
    entries += b"/BitsPerComponent 8 /Filter [%s]" % filters
    return page_pdf(
        resources=b"/XObject << /Im0 5 0 R >>",
        content=stream(b"", b"q 100 0 0 100 72 72 cm /Im0 Do Q"),
        more=[stream(entries, data)],
    )


def attachments_pdf(files: list[tuple[bytes, bytes, bytes]]) -> bytes:
    """A page with embedded files: (name, stream dictionary entries, stored bytes) each."""
    more: list[bytes] = []
    names = []
    for i, (name, entries, data) in enumerate(files):
        spec, body = 5 + 2 * i, 6 + 2 * i
        names.append(b"(%s) %d 0 R" % (name, spec))
        more.append(
            b"<< /Type /Filespec /F (%s) /UF (%s) /EF << /F %d 0 R >> >>" % (name, name, body)
        )
        more.append(stream(b"/Type /EmbeddedFile " + entries, data))
    tree = b"/Names << /EmbeddedFiles << /Names [%s] >> >>" % b" ".join(names)
    return page_pdf(catalog=tree, more=more)


def png(width: int, height: int, chunks: list[tuple[bytes, bytes]] | None = None) -> bytes:
    """A PNG whose IHDR declares ``width`` x ``height`` (8-bit grey), ``chunks`` before a
    small IDAT: the header says what the data does not hold."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    out = b"\x89PNG\r\n\x1a\n" + chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    )
    for kind, body in chunks or []:
        out += chunk(kind, body)
    return out + chunk(b"IDAT", zlib.compress(bytes(width + 1))) + chunk(b"IEND", b"")


def jpeg(width: int, height: int, comment: bytes | None = None) -> bytes:
    """A small real JPEG whose frame header (SOF) is rewritten to declare ``width`` x ``height``."""
    buf = io.BytesIO()
    Image.new("L", (16, 16), 255).save(buf, format="JPEG")
    data = buf.getvalue()
    sof = data.index(b"\xff\xc0")
    data = data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]
    if comment is not None:
        data = data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]
    return data


def _jpeg_scans(count: int) -> bytes:
    """A real progressive JPEG with its last scan repeated ``count`` times (each scan is a
    pass over every coefficient of the image)."""
    buf = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buf, format="JPEG", progressive=True)
    data = buf.getvalue()
    last = data.rindex(b"\xff\xda")
    return data[:last] + data[last:-2] * count + b"\xff\xd9"


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.bin", bytes(8 * MIB))
    return buf.getvalue()


def _encrypted(algorithm: str) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_attachment("c.vc.jwt", b"eyJhbGciOiJFZERTQSJ9.e30.sig")
    writer.encrypt("", "owner-password", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _many_pages(count: int, declared: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, declared),
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R %s >>" % A4] * count
    return raw_pdf(objects)


def _many_images(count: int) -> bytes:
    names = b" ".join(b"/Im%d %d 0 R" % (i, 5 + i) for i in range(count))
    entries = b"/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray "
    entries += b"/BitsPerComponent 8"
    return page_pdf(resources=b"/XObject << %s >>" % names, more=[stream(entries, b"\x00")] * count)


def _object_stream_bomb() -> bytes:
    """The page dictionary (object 3) lives in an object stream (object 4) that inflates to
    64 MiB: an xref stream (object 5, stored uncompressed) says where."""
    head = b"3 0 "
    objstm = zeros_deflated(64 * MIB, head + b"<< /Type /Page /Parent 2 0 R %s >> " % A4)
    bodies = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        4: stream(b"/Type /ObjStm /N 1 /First %d /Filter /FlateDecode" % len(head), objstm),
    }
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in bodies.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    offsets[5] = len(out)
    rows = struct.pack(">BIH", 0, 0, 65535)
    rows += struct.pack(">BIH", 1, offsets[1], 0) + struct.pack(">BIH", 1, offsets[2], 0)
    rows += struct.pack(">BIH", 2, 4, 0) + struct.pack(">BIH", 1, offsets[4], 0)
    rows += struct.pack(">BIH", 1, offsets[5], 0)
    out += b"5 0 obj\n" + stream(b"/Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R", rows)
    out += b"\nendobj\nstartxref\n%d\n%%%%EOF\n" % offsets[5]
    return bytes(out)


def _xref_stream_bomb() -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    pdf = bytearray(b"%PDF-1.7\n")
    for number, body in enumerate(objects, 1):
        pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(pdf)
    bomb = zeros_deflated(200 * MIB)
    pdf += b"3 0 obj\n" + stream(
        b"/Type /XRef /Size 4 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode", bomb
    )
    pdf += b"\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(pdf)


def _xref_loop() -> bytes:
    pdf = page_pdf()
    start = pdf.rindex(b"startxref")
    xref = int(pdf[start + 10 :].split()[0])
    return pdf.replace(b"/Root 1 0 R ", b"/Root 1 0 R /Prev %d " % xref)


def _deep_nesting() -> bytes:
    depth = 50_000
    return page_pdf(page=A4 + b" /Junk " + b"[" * depth + b"]" * depth)


def _name_tree_loop() -> bytes:
    tree = b"/Names << /EmbeddedFiles 5 0 R >>"
    return page_pdf(catalog=tree, more=[b"<< /Kids [5 0 R] >>"])


def _form_loop() -> bytes:
    form = stream(
        b"/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /F 5 0 R >> >>",
        b"/F Do",
    )
    return page_pdf(
        resources=b"/XObject << /F 5 0 R >>",
        content=stream(b"", b"/F Do"),
        more=[form],
    )


def _truncated() -> bytes:
    pdf = image_pdf(64, 64, deflated(bytes(64 * 64)))
    return pdf[: pdf.index(b"endstream", pdf.index(b"/Im0"))]


def _huge_length() -> bytes:
    return page_pdf(content=b"<< /Length 999999999999 >>\nstream\nBT ET\nendstream")


def _image_in_form_70mp() -> bytes:
    image = stream(
        b"/Type /XObject /Subtype /Image /Width 10000 /Height 7000 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode",
        deflated(bytes(100)),
    )
    form = stream(
        b"/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /I 6 0 R >> >>",
        b"/I Do",
    )
    return page_pdf(
        resources=b"/XObject << /F 5 0 R >>", content=stream(b"", b"/F Do"), more=[form, image]
    )


def _jwt_bomb() -> bytes:
    return attachments_pdf([(b"c.vc.jwt", b"/Filter /FlateDecode", zeros_deflated(48 * MIB))])


def _double_flate(count: int) -> bytes:
    data = deflated(zeros_deflated(64 * MIB))
    entries = b"/Filter [/FlateDecode /FlateDecode] /Params << /Size 1000 >>"
    return attachments_pdf([(b"c%d.vc.jwt" % i, entries, data) for i in range(count)])


def battery() -> list[Hostile]:
    """Every hostile file with the problem code it must get."""
    H = Hostile
    big_text = b"Comment\x00" + bytes(1200 * 1024)
    return [
        # pages
        H("page_14400pt", "page_too_large", lambda: page_pdf(b"/MediaBox [0 0 14400 14400]")),
        H(
            "userunit_75000",
            "page_too_large",
            lambda: page_pdf(b"/MediaBox [0 0 1 1] /UserUnit 75000"),
        ),
        H("userunit_negative", "unreadable_pdf", lambda: page_pdf(A4 + b" /UserUnit -2")),
        H(
            "cropbox_14400pt",
            "page_too_large",
            lambda: page_pdf(A4 + b" /CropBox [0 0 14400 14400]"),
        ),
        H(
            "inherited_mediabox_14400pt",
            "page_too_large",
            lambda: page_pdf(b"", pages=b"/MediaBox [0 0 14400 200]"),
        ),
        H("many_pages_5000", "too_many_pages", lambda: _many_pages(5000, 5000)),
        H("page_count_lies", "unreadable_pdf", lambda: _many_pages(2000, 1)),
        # images in the PDF
        H(
            "image_declares_70mp",
            "image_too_large",
            lambda: image_pdf(10_000, 7_000, deflated(bytes(1000))),
        ),
        H("image_in_form_declares_70mp", "image_too_large", _image_in_form_70mp),
        H(
            "image_flate_bomb_64mib",
            "stream_too_large",
            lambda: image_pdf(64, 64, zeros_deflated(64 * MIB)),
        ),
        H(
            "image_nested_flate_5x",
            "nested_compression",
            lambda: image_pdf(64, 64, deflated(bytes(4096), 5), b"/FlateDecode " * 5),
        ),
        H("many_images_500", "too_many_images", lambda: _many_images(500)),
        # page content
        H(
            "content_flate_bomb_200mib",
            "stream_too_large",
            lambda: page_pdf(content=stream(b"/Filter /FlateDecode", zeros_deflated(200 * MIB))),
        ),
        H(
            "content_nested_flate_3x",
            "nested_compression",
            lambda: page_pdf(
                content=stream(
                    b"/Filter [/FlateDecode /FlateDecode /FlateDecode]", deflated(b"BT ET", 3)
                )
            ),
        ),
        H(
            "many_content_streams_1000",
            "too_many_streams",
            lambda: page_pdf(content=b"[%s]" % b" ".join([b"5 0 R"] * 1000), more=[CONTENT]),
        ),
        # attachments
        H("attachment_bomb_40x_double_flate", "nested_compression", lambda: _double_flate(40)),
        H(
            "attachments_40_small",
            "too_many_attachments",
            lambda: attachments_pdf([(b"n%d.txt" % i, b"", b"x") for i in range(40)]),
        ),
        H(
            "attachment_declares_1gb",
            "attachment_too_large",
            lambda: attachments_pdf([(b"c.vc.jwt", b"/Params << /Size 1000000000 >>", b"e30")]),
        ),
        H(
            "attachment_stored_100kib",
            "attachment_too_large",
            lambda: attachments_pdf([(b"c.vc.jwt", b"", b"A" * 100 * 1024)]),
        ),
        H("attachment_flate_bomb_48mib", "stream_too_large", _jwt_bomb),
        H(
            "attachment_lzw",
            "unsupported_filter",
            lambda: attachments_pdf([(b"c.vc.jwt", b"/Filter /LZWDecode", b"\x80\x0b\x60\x50")]),
        ),
        H(
            "zip_inside_pdf",
            "nothing_found",
            lambda: attachments_pdf([(b"bomb.zip", b"", _zip_bomb())]),
        ),
        H("name_tree_loop", "unreadable_pdf", _name_tree_loop),
        # encryption and structure
        H("encrypted_rc4", "encrypted_pdf", lambda: _encrypted("RC4-128")),
        H("encrypted_aes", "encrypted_pdf", lambda: _encrypted("AES-256")),
        H("deep_nesting_50000", "unreadable_pdf", _deep_nesting),
        H("xref_loop", "nothing_found", _xref_loop),
        H("form_xobject_loop", "nothing_found", _form_loop),
        H("truncated_stream", "unreadable_pdf", _truncated),
        H("huge_length", "unreadable_pdf", _huge_length),
        H("object_stream_bomb", "unreadable_pdf", _object_stream_bomb),
        H("xref_stream_bomb_200mib", "unreadable_pdf", _xref_stream_bomb),
        # images
        H("png_header_70mp", "too_many_pixels", lambda: png(10_000, 7_000)),
        H("png_header_4g_pixels", "too_many_pixels", lambda: png(65_535, 65_535)),
        H("jpeg_header_65000x65000", "too_many_pixels", lambda: jpeg(65_000, 65_000)),
        H(
            "png_ztxt_bomb",
            "unreadable_image",
            lambda: png(16, 16, [(b"zTXt", b"Comment\x00\x00" + zeros_deflated(64 * MIB))]),
        ),
        H(
            "png_iccp_bomb",
            "unreadable_image",
            lambda: png(16, 16, [(b"iCCP", b"icc\x00\x00" + zeros_deflated(64 * MIB))]),
        ),
        H("png_text_1200kib", "metadata_too_large", lambda: png(16, 16, [(b"tEXt", big_text)])),
        H("png_30000_chunks", "too_many_chunks", lambda: png(16, 16, [(b"abCd", b"")] * 30_000)),
        H("jpeg_5000_scans", "too_many_scans", lambda: _jpeg_scans(5000)),
        H("jpeg_truncated", "unreadable_image", lambda: jpeg(2000, 2000)[:-40]),
        # polyglots and other types
        H(
            "pdf_polyglot_png",
            "polyglot_file",
            lambda: png(16, 16, [(b"tEXt", b"Comment\x00%PDF-1.7 1 0 obj")]),
        ),
        H(
            "pdf_in_jpeg_comment",
            "polyglot_file",
            lambda: jpeg(16, 16, b"%PDF-1.7\n" + page_pdf()[:200]),
        ),
        H("zip_file", "unsupported_file", _zip_bomb),
        H("gzip_bomb", "unsupported_file", lambda: b"\x1f\x8b\x08\x00" + zeros_deflated(16 * MIB)),
        H("svg_file", "unsupported_file", lambda: b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
    ]


def png_rgb_zeros(width: int, height: int) -> bytes:
    """A genuine black RGB PNG of ``width`` x ``height`` (its pixels deflate to almost
    nothing: a few KB that cost width x height x 3 bytes to decode)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zeros_deflated((1 + 3 * width) * height)
    out = b"\x89PNG\r\n\x1a\n"
    for kind, body in ((b"IHDR", header), (b"IDAT", idat), (b"IEND", b"")):
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        out += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
    return out
