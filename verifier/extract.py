"""Finding what to verify in an uploaded file: the QR in a photo or on a PDF's first page,
and the e-licence embedded in a PDF.

- PDF: an attached file whose name ends ``.vc.jwt`` or ``.jws`` (or an e-licence ``.json``
  with a ``jws`` member) is the credential; a dual-signed one's ``.vc.jws.json`` (the JWS
  JSON serialization, or a ``.json`` with ``jws_json``) is preferred, sorting first; one
  named ``photo.jpg`` is the holder's photo (judged against the digest the credential
  binds, ``credential.photo_check``); the QR is decoded from the first page's image
  XObjects (the issuer draws it 1 pixel per
  module, so this is fast), and only if none decodes, from a greyscale render of the
  first page by ``pdftoppm`` when that is installed.
- PNG/JPEG: zxing-cpp on the image, then on a greyscale copy scaled down to 1600 pixels,
  then (a photo of a whole page, where the QR is small) on the region with the most fine
  detail, enlarged and sharpened; a photo still unread is told how to take a better one.

Every cost is bounded, and judged before it is paid (issue 11 point 1): the structure of a
PDF is read without decoding any stream, and a file is refused (``UnreadableFile``, a 422)
when it is encrypted, has too many pages, attachments or images, a first page larger than
three A3 sheets (``UserUnit`` counted), an image declaring too many pixels, an attachment
declaring or carrying more than 64 KiB, or a stream compressed twice. Streams are then
inflated here with a cap (``zlib`` ``max_length``: cap + 1 bytes is a refusal), pypdf runs
under tight limits of its own, PNG chunks are walked and image dimensions read from the
header before any pixel is decoded, and the render is made at a bounded size with a memory
and time limit. ``verifier.sandbox`` runs all of this in worker processes with limits.
"""

from __future__ import annotations

import io
import json
import logging
import math
import resource
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image, ImageOps

from ._photo import read_dense_region

__all__ = ["Extracted", "UnreadableFile", "extract", "sniff", "too_costly"]

log = logging.getLogger("jiaozi.verifier.extract")
MAX_PIXELS = 36_000_000  # a photo (a 12 MP phone takes 4000 x 3000)
MAX_PDF_IMAGE_PIXELS = 20_000_000  # an image in a PDF (an A3 scan at 300 dpi is 17.4 MP)
MAX_IMAGES = 20  # image XObjects decoded on page 1
MAX_XOBJECTS = 64  # XObjects page 1 may name (forms included), else refused
MAX_FORM_DEPTH = 3
MAX_PAGES = 100
MAX_PAGE_SIDE = 3 * 1191.0  # points: three A3 sheets long (A4 is 595 x 842)
MAX_ATTACHMENT = 64 * 1024
MAX_ATTACHMENTS = 16
MAX_NAME_TREE_DEPTH = 8
MAX_CONTENT = 4 * 1024 * 1024  # page 1's content streams, inflated
MAX_CONTENT_STREAMS = 16
MAX_PNG_CHUNKS = 20_000
MAX_PNG_TEXT = 1024 * 1024  # all text and ICC chunks of a PNG, compressed
MAX_JPEG_SCANS = 64  # a progressive JPEG has about ten; each more is a pass over all pixels
RENDER_SIDE = 1800  # pixels on the render's longer side (A4 at about 150 dpi)
RENDER_TIMEOUT = 1.5  # seconds; the worker running it has its own wall-clock limit
RENDER_MEMORY = 512 * 1024 * 1024
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
_CREDENTIAL_SUFFIXES = (".vc.jwt", ".jws", ".jwt")
_FLATE = ("/FlateDecode", "/Fl")
_ASCII = ("/ASCII85Decode", "/A85", "/ASCIIHexDecode", "/AHx")
_IMAGE_FILTERS = (*_FLATE, *_ASCII, "/DCTDecode", "/DCT")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT_CHUNKS = {b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"eXIf"}

# pypdf's own limits while it parses (it inflates object and xref streams itself): far
# below its 75 MB defaults, far above what an issued certificate needs.
_PYPDF_LIMITS: dict[str, int] = {
    "maximum_declared_stream_length": 12 * 1024 * 1024,
    "array_based_stream_maximum_output_length": MAX_CONTENT,
    "array_maximum_element_count": 10_000,
    "dictionary_maximum_element_count": 10_000,
    "jbig2_maximum_output_length": 8 * 1024 * 1024,
    "lzw_maximum_output_length": 8 * 1024 * 1024,
    "run_length_maximum_output_length": 8 * 1024 * 1024,
    "zlib_maximum_output_length": 24 * 1024 * 1024,
    "zlib_maximum_recovery_input_length": 256 * 1024,
    "brotli_maximum_output_length": 8 * 1024 * 1024,
    "image_maximum_buffer_size": 64 * 1024 * 1024,
    "stream_filters_maximum_length": 2,
    "stream_decoding_work_maximum_length": 64 * 1024 * 1024,
    "stream_parsing_work_maximum_count": 200_000,
    "page_tree_maximum_entries": 4 * MAX_PAGES,
    "page_tree_maximum_depth": 16,
    "page_tree_maximum_page_entries": 10_000,
}


#: what a photo in which no QR could be read is told (en, zh): how to take a better one
NO_QR_ADVICE = (
    "no QR code could be read in the image. Take the photo again with the QR code filling "
    "most of the picture, the phone held steady and in focus, in even light without glare "
    "or shadow; or upload the PDF certificate itself",
    "图片中未能识别出二维码。请重新拍摄：让二维码占画面的大部分，保持手机稳定、对焦清晰，"
    "光线均匀、避免反光和阴影；也可以直接上传PDF证书。",
)


class UnreadableFile(Exception):
    """The file is not a PDF/PNG/JPEG we can read, holds nothing to verify, or would cost
    more to read than any certificate does."""

    def __init__(self, code: str, en: str, zh: str) -> None:
        super().__init__(en)
        self.code = code
        self.en = en
        self.zh = zh


def too_costly() -> UnreadableFile:
    """Return the refusal of a file that needs more time or memory than it may have."""
    return UnreadableFile(
        "file_too_costly",
        "reading the file would take too much time or memory",
        "读取该文件所需的时间或内存过多",
    )


def _refuse(code: str, en: str, zh: str) -> UnreadableFile:
    return UnreadableFile(code, en, zh)


def _too_large_image() -> UnreadableFile:
    return _refuse("too_many_pixels", "the image is too large", "图片尺寸过大")


def _unreadable_pdf() -> UnreadableFile:
    return _refuse("unreadable_pdf", "the PDF cannot be read", "无法读取该PDF")


PHOTO_ATTACHMENT = "photo.jpg"  # the holder's photo, beside the credential in a PDF


@dataclass(frozen=True, slots=True)
class Extracted:
    kind: str  # pdf | png | jpeg
    qr: str | None
    credential: str | None
    photo: bytes | None = None  # a PDF's photo.jpg, as attached (never logged or stored)


def sniff(data: bytes) -> str | None:
    """Return ``pdf``, ``png`` or ``jpeg`` from the file's first bytes, else None.

    Raises UnreadableFile (``polyglot_file``) for an image that also declares a PDF.
    """
    pdf = b"%PDF-" in data[:1024]
    if data.startswith(_PNG_MAGIC) or data.startswith(b"\xff\xd8\xff"):
        if pdf:
            raise _refuse(
                "polyglot_file", "the file is both an image and a PDF", "文件同时是图片和PDF"
            )
        return "png" if data.startswith(_PNG_MAGIC) else "jpeg"
    return "pdf" if pdf else None


def inflate(raw: bytes, cap: int) -> bytes:
    """Return ``raw`` inflated (zlib or raw deflate tail tolerated), at most ``cap`` bytes.

    Raises UnreadableFile (``stream_too_large``) when it would inflate to more than ``cap``
    bytes (found after inflating cap + 1, never more), ``unreadable_pdf`` when damaged.
    """
    d = zlib.decompressobj()
    try:
        out = d.decompress(raw, cap + 1)
    except zlib.error:
        raise _unreadable_pdf() from None
    if len(out) > cap:
        raise _refuse("stream_too_large", "a stream in the PDF is too large", "PDF中的数据流过大")
    return out


# --- images ----------------------------------------------------------------------------------


def _decode_qr(img: Image.Image) -> str | None:
    results = zxingcpp.read_barcodes(img, formats=_QR_ONLY)
    for r in results:
        if r.valid and r.text:
            return str(r.text)
    return None


def _small_module_image(img: Image.Image) -> Image.Image:
    """Return a 1-pixel-per-module QR image scaled up with a quiet zone (zxing likes it)."""
    grey = img.convert("L")
    scale = max(1, 600 // max(grey.size))
    if scale > 1:
        grey = grey.resize((grey.width * scale, grey.height * scale), Image.Resampling.NEAREST)
    return ImageOps.expand(grey, border=8 * scale, fill=255)


def decode_image(img: Image.Image) -> str | None:
    """Return the text of the first QR code found in ``img``, trying a few copies.

    Raises UnreadableFile (``too_many_pixels``) over MAX_PIXELS."""
    if img.width * img.height > MAX_PIXELS:
        raise _too_large_image()
    if img.mode not in ("L", "RGB", "RGBA", "1"):
        img = img.convert("RGB")
    if max(img.size) <= 300:
        text = _decode_qr(_small_module_image(img))
        if text:
            return text
    text = _decode_qr(img)
    if text:
        return text
    grey = ImageOps.exif_transpose(img).convert("L")
    if max(grey.size) > 1600:
        grey.thumbnail((1600, 1600), Image.Resampling.LANCZOS)
    text = _decode_qr(grey)
    if text:
        return text
    text = _decode_qr(ImageOps.autocontrast(grey))
    if text:
        return text
    return read_dense_region(ImageOps.exif_transpose(img).convert("L"), _decode_qr)


def _check_png(data: bytes) -> None:
    """Walk a PNG's chunks without inflating any: refuse a declared size over MAX_PIXELS,
    too many chunks, or more than MAX_PNG_TEXT of text/ICC chunks (zTXt/iCCP bombs)."""
    pos, chunks, text = 8, 0, 0
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if chunks == 0:
            if kind != b"IHDR" or length < 8 or pos + 16 > len(data):
                raise _refuse("unreadable_image", "the image cannot be read", "无法读取该图片")
            width, height = struct.unpack(">II", data[pos + 8 : pos + 16])
            if width * height > MAX_PIXELS:
                raise _too_large_image()
        chunks += 1
        if chunks > MAX_PNG_CHUNKS:
            raise _refuse("too_many_chunks", "the image has too many parts", "图片数据块过多")
        if kind in _PNG_TEXT_CHUNKS:
            text += length
            if text > MAX_PNG_TEXT:
                raise _refuse(
                    "metadata_too_large", "the image's metadata is too large", "图片元数据过大"
                )
        if kind == b"IEND":
            return
        pos += 12 + length


def _open_image(data: bytes, kind: str) -> Image.Image:
    """Return the decoded image; its size is judged from the header before any decoding.

    Raises UnreadableFile (``too_many_pixels``, ``unreadable_image`` and the PNG refusals).
    """
    if kind == "png":
        _check_png(data)
    elif data.count(b"\xff\xda") > MAX_JPEG_SCANS:  # start-of-scan markers (0xFF is
        # stuffed as FF 00 inside the coded data, so every FF DA is a marker)
        raise _refuse("too_many_scans", "the image has too many parts", "图片数据块过多")
    try:
        img = Image.open(io.BytesIO(data), formats=["PNG"] if kind == "png" else ["JPEG"])
        if img.width * img.height > MAX_PIXELS:
            raise _too_large_image()
        if kind == "jpeg" and max(img.size) > 3200:
            img.draft("RGB", (img.width // 2, img.height // 2))  # DCT scaling: less to decode
        img.load()
        return img
    except UnreadableFile:
        raise
    except Image.DecompressionBombError:  # Pillow's own check of the header, in open()
        raise _too_large_image() from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise _refuse("unreadable_image", "the image cannot be read", "无法读取该图片") from exc


# --- PDF structure, read without decoding ---------------------------------------------------


def _filters(stream: Any) -> list[str]:
    """Return a stream's filter chain; refuse a chain that inflates twice (nested Flate) or
    is longer than two."""
    value = stream.get("/Filter")
    if value is None:
        return []
    value = value.get_object()
    names = [str(f) for f in value] if isinstance(value, list) else [str(value)]
    if len(names) > 2 or sum(n in _FLATE for n in names) > 1:
        raise _refuse(
            "nested_compression",
            "a stream in the PDF is compressed more than once",
            "PDF中的数据流被多重压缩",
        )
    return names


def _raw(stream: Any) -> bytes:
    data = getattr(stream, "_data", b"")  # pypdf keeps a stream's bytes as read, undecoded
    return data if isinstance(data, bytes) else data.encode("latin-1")


def _decoded(stream: Any, cap: int) -> bytes:
    """Return a stream's data decoded with at most ``cap`` bytes inflated; refuse filters
    other than Flate, or Flate with a predictor (neither is written by the issuer)."""
    names = _filters(stream)
    if not names:
        data = _raw(stream)
    elif names in (["/FlateDecode"], ["/Fl"]) and stream.get("/DecodeParms") is None:
        data = inflate(_raw(stream), cap)
    else:
        raise _refuse(
            "unsupported_filter", "a stream in the PDF cannot be read", "无法读取PDF中的数据流"
        )
    if len(data) > cap:
        raise _refuse("stream_too_large", "a stream in the PDF is too large", "PDF中的数据流过大")
    return data


def _number(value: Any) -> float:
    number = float(value.get_object() if hasattr(value, "get_object") else value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _check_page(page: Any) -> tuple[float, float]:
    """Return page 1's width and height in points (UserUnit counted), refusing a page
    larger than MAX_PAGE_SIDE on a side or a UserUnit that is not a small positive number."""
    unit = _number(page.get("/UserUnit", 1))
    if not 0 < unit <= 75_000:
        raise ValueError("UserUnit")
    sides: list[float] = []
    for box in (page.mediabox, page.cropbox):
        width, height = abs(_number(box.width)) * unit, abs(_number(box.height)) * unit
        if width > MAX_PAGE_SIDE or height > MAX_PAGE_SIDE:
            raise _refuse("page_too_large", "the PDF's page is too large", "PDF页面尺寸过大")
        sides = sides or [width, height]
    return sides[0], sides[1]


def _check_contents(page: Any) -> None:
    """Inflate page 1's content streams with a cap (what the render will draw)."""
    contents = page.get("/Contents")
    if contents is None:
        return
    contents = contents.get_object()
    streams = list(contents) if isinstance(contents, list) else [contents]
    if len(streams) > MAX_CONTENT_STREAMS:
        raise _refuse(
            "too_many_streams", "the PDF's page has too many parts", "PDF页面组成部分过多"
        )
    total = 0
    for ref in streams:
        stream = ref.get_object()
        names = _filters(stream)
        if any(n in _FLATE for n in names):
            raw = _raw(stream)
            if names[0] in _ASCII:
                continue  # ASCII armour first: left to pypdf's and the renderer's limits
            total += len(inflate(raw, MAX_CONTENT - total))
        else:
            total += len(_raw(stream))
        if total > MAX_CONTENT:
            raise _refuse(
                "stream_too_large", "a stream in the PDF is too large", "PDF中的数据流过大"
            )


def _images(resources: Any, depth: int, seen: set[int], count: list[int]) -> Iterator[Any]:
    """Yield the image XObjects of ``resources`` (forms followed MAX_FORM_DEPTH deep), each
    checked: at most MAX_XOBJECTS named, no image declaring over MAX_PDF_IMAGE_PIXELS."""
    if resources is None or depth > MAX_FORM_DEPTH:
        return
    xobjects = resources.get_object().get("/XObject")
    if xobjects is None:
        return
    for ref in xobjects.get_object().values():
        count[0] += 1
        if count[0] > MAX_XOBJECTS:
            raise _refuse(
                "too_many_images", "the PDF's page has too many images", "PDF页面图片过多"
            )
        key = getattr(ref, "idnum", None)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        xobj = ref.get_object()
        subtype = xobj.get("/Subtype")
        _filters(xobj)
        if subtype == "/Image":
            width, height = (
                int(_number(xobj.get("/Width", 0))),
                int(_number(xobj.get("/Height", 0))),
            )
            if width <= 0 or height <= 0:
                continue
            if width * height > MAX_PDF_IMAGE_PIXELS:
                raise _refuse(
                    "image_too_large", "an image in the PDF is too large", "PDF中的图片尺寸过大"
                )
            yield xobj
        elif subtype == "/Form":
            yield from _images(xobj.get("/Resources"), depth + 1, seen, count)


def _attachments(root: Any) -> Iterator[tuple[str, Any]]:
    """Yield (name, file spec) of the EmbeddedFiles name tree, at most MAX_ATTACHMENTS and
    MAX_NAME_TREE_DEPTH deep, each checked: declared and stored sizes under MAX_ATTACHMENT."""
    names = root.get("/Names")
    tree = names.get_object().get("/EmbeddedFiles") if names is not None else None
    stack, count, seen = [(tree, 0)] if tree is not None else [], 0, set()
    while stack:
        node_ref, depth = stack.pop()
        key = getattr(node_ref, "idnum", None)
        if depth > MAX_NAME_TREE_DEPTH or (key is not None and key in seen):
            raise _unreadable_pdf()
        seen.add(key)
        node = node_ref.get_object()
        stack.extend((kid, depth + 1) for kid in reversed(node.get("/Kids", [])))
        pairs = list(node.get("/Names", []))
        for i in range(0, len(pairs) - 1, 2):
            count += 1
            if count > MAX_ATTACHMENTS:
                raise _refuse(
                    "too_many_attachments", "the PDF has too many attachments", "PDF附件过多"
                )
            spec = pairs[i + 1].get_object()
            name = str(spec.get("/UF") or spec.get("/F") or pairs[i])
            ef = spec.get("/EF")
            stream = ef.get_object().get("/F") if ef is not None else None
            if stream is None:
                continue
            stream = stream.get_object()
            params = stream.get("/Params")
            size = params.get_object().get("/Size") if params is not None else None
            _filters(stream)
            if (size is not None and _number(size) > MAX_ATTACHMENT) or len(
                _raw(stream)
            ) > MAX_ATTACHMENT:
                raise _refuse(
                    "attachment_too_large", "an attachment in the PDF is too large", "PDF附件过大"
                )
            yield name, stream


def _credential_from_attachment(name: str, content: bytes) -> str | None:
    lower = name.lower()
    if len(content) > MAX_ATTACHMENT:
        return None
    try:
        text = content.decode("ascii").strip()
    except UnicodeDecodeError:
        text = ""
    if lower.endswith(_CREDENTIAL_SUFFIXES) and text:
        return text
    if lower.endswith(".json"):
        try:
            doc: Any = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        if not isinstance(doc, dict):
            return None
        # a dual-signed e-licence (issue 16): the JWS JSON serialization itself
        # (<number>.vc.jws.json), or the holder's .json naming it as jws_json
        if set(doc) == {"payload", "signatures"}:
            return content.decode("utf-8").strip()
        for member in ("jws_json", "jws"):
            jws = doc.get(member)
            if isinstance(jws, str):
                return jws
        return None
    return None


def _pdf_image(xobj: Any) -> Image.Image | None:
    """Return an image XObject decoded (its data inflated with a cap), or None for one we
    leave to the render (another filter, a mask-only or odd image)."""
    names = _filters(xobj)
    if any(n not in _IMAGE_FILTERS for n in names):
        return None
    width, height = int(_number(xobj["/Width"])), int(_number(xobj["/Height"]))
    bits = int(_number(xobj.get("/BitsPerComponent", 8)))
    if names and names[-1] in _FLATE and names[0] in _FLATE:
        # The decoded size is known from the header: inflate no more than that (+ predictor
        # bytes); pypdf then unpacks the pixels from the bytes we give it.
        need = (width * max(bits, 1) * 4 + 7) // 8 * height + height + 1024
        inflate(_raw(xobj), need)
    pil = xobj.decode_as_image()
    return pil if isinstance(pil, Image.Image) else None


# --- the render -------------------------------------------------------------------------------


def _render_limits() -> None:  # pragma: no cover - runs in the renderer's child process
    resource.setrlimit(resource.RLIMIT_AS, (RENDER_MEMORY, RENDER_MEMORY))
    cpu = math.ceil(RENDER_TIMEOUT)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _render_first_page(data: bytes) -> Image.Image | None:
    """Return page 1 rendered in grey, RENDER_SIDE pixels on its longer side, or None when
    pdftoppm is missing, fails, or passes its memory or time limit."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        return None
    with tempfile.TemporaryDirectory(prefix="jiaozi-render-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(data)
        args = ["-scale-to", str(RENDER_SIDE), "-gray", "-f", "1", "-l", "1", "-png"]
        try:
            subprocess.run(  # noqa: S603 - fixed arguments, our own temp files
                [exe, *args, str(src), str(Path(tmp) / "p")],
                check=True,
                capture_output=True,
                timeout=RENDER_TIMEOUT,
                preexec_fn=_render_limits,  # the worker calling it runs no other thread
            )
        except (subprocess.SubprocessError, OSError):
            return None
        pages = sorted(Path(tmp).glob("p*.png"))
        if not pages:
            return None
        img = Image.open(pages[0])
        if img.width * img.height > MAX_PIXELS:
            return None
        img.load()
        return img


def _extract_pdf(data: bytes) -> Extracted:
    import pypdf
    from pypdf.errors import PyPdfError

    try:
        limits = pypdf.get_configuration().with_overwrites(**_PYPDF_LIMITS)
        with pypdf.apply_configuration(limits):
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise _refuse("encrypted_pdf", "the PDF is encrypted", "该PDF已加密，无法读取")
            root: Any = reader.trailer["/Root"]
            root = root.get_object()
            declared = root["/Pages"].get_object().get("/Count", 0)
            if _number(declared) > MAX_PAGES:
                raise _refuse("too_many_pages", "the PDF has too many pages", "PDF页数过多")
            credential, photo = None, None
            for name, stream in sorted(_attachments(root), key=lambda a: a[0]):
                lower = name.lower()
                if credential is None and lower.endswith((*_CREDENTIAL_SUFFIXES, ".json")):
                    credential = _credential_from_attachment(name, _decoded(stream, MAX_ATTACHMENT))
                elif photo is None and lower == PHOTO_ATTACHMENT:
                    photo = _decoded(stream, MAX_ATTACHMENT)
            qr = None
            page = reader.pages[0] if len(reader.pages) > 0 else None
            if page is not None:
                _check_page(page)
                _check_contents(page)
                images = list(_images(page.get("/Resources"), 0, set(), [0]))
                for xobj in images[:MAX_IMAGES]:
                    try:
                        pil = _pdf_image(xobj)
                    except (PyPdfError, OSError, ValueError, KeyError, TypeError):
                        continue  # an undecodable image is skipped: the render may read it
                    if pil is not None and (qr := decode_image(pil)):
                        break
    except UnreadableFile:
        raise
    except (
        PyPdfError,
        OSError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        RecursionError,
        AssertionError,
        IndexError,
        ZeroDivisionError,
        OverflowError,
        zlib.error,
        struct.error,
    ) as exc:
        raise _unreadable_pdf() from exc
    if qr is None and page is not None:
        page_img = _render_first_page(data)
        if page_img is not None:
            qr = decode_image(page_img)
    return Extracted("pdf", qr, credential, photo)


def extract(data: bytes) -> Extracted:
    """Return the QR text and/or credential in a PDF, PNG or JPEG file.

    Raises UnreadableFile for another type, a damaged file, one with nothing to verify, or
    one that would cost more to read than any certificate (its ``code`` says which).
    """
    try:
        return _extract(data)
    except MemoryError:  # past the worker's address-space limit (verifier/sandbox.py)
        raise too_costly() from None


def _extract(data: bytes) -> Extracted:
    kind = sniff(data)
    if kind is None:
        raise UnreadableFile(
            "unsupported_file",
            "the file is not a PDF, PNG or JPEG",
            "文件不是PDF、PNG或JPEG格式",
        )
    if kind == "pdf":
        found = _extract_pdf(data)
        if found.qr is None and found.credential is None:
            raise UnreadableFile(
                "nothing_found",
                "no QR code or e-licence was found in the PDF",
                "PDF中没有找到二维码或电子证照",
            )
        return found
    text = decode_image(_open_image(data, kind))
    if text is None:
        raise UnreadableFile("no_qr", *NO_QR_ADVICE)
    return Extracted(kind, text, None)
