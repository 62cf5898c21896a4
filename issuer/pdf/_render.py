"""Certificate PDFs: one page, or a print file of many (see templates/certificate/)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Callable, Iterable
from typing import Any

from reportlab import rl_config
from reportlab.pdfgen.canvas import Canvas

from credential import Certificate

from ._errors import PdfError
from ._page import Page
from ._style import Style, get_style
from ._values import PrintItem

__all__ = ["draw_pdf", "render_certificate", "render_many"]

# Binary (Flate only) streams instead of ASCII85 on top: smaller and faster (docs/pdf.md).
# reportlab reads this process-wide setting; nothing needs ASCII-only PDFs.
rl_config.useA85 = 0


def _canvas(buf: io.BytesIO, style: Style, title: str, author: str) -> Canvas:
    c = Canvas(
        buf,
        pagesize=(style.width, style.height),
        pageCompression=1,
        # the page preamble selects this font: the default (Helvetica) would be listed in
        # the PDF without being embedded
        initialFontName=style.fonts.main,
        initialFontSize=12,
    )
    c.setTitle(title)
    c.setAuthor(author)
    c.setSubject("教师资格证书 / teacher qualification certificate")
    c.setCreator("Jiaozi")
    return c


def render_certificate(
    cert: Certificate,
    *,
    qr_text: str,
    verifier_url: str,
    layout: str = "v1",
    seal_png: bytes | None = None,
    purpose: str | None = None,
    purpose_expires: dt.date | None = None,
    seal_text: str | None = None,
    photo: bytes | None = None,
) -> bytes:
    """Return a one-page A4 PDF of ``cert``.

    ``qr_text`` is what the QR carries (``credential.qr_url(verifier_url, qr_token)``);
    ``verifier_url`` is also printed as text. ``purpose``/``purpose_expires`` make a
    purpose-bound copy (加注件): identity number masked, purpose printed across the page.
    ``seal_png`` is the office's seal image; without one a layout with a vector seal (v2)
    draws it, with ``seal_text`` (default the layout's, 教师资格认定专用章) under the star.
    ``photo`` (a JPEG) is printed where the layout has a photo box (v3 on; older layouts
    have none and print no photo).
    Raises GlyphMissingError for a character no font has, FieldTooLongError, LayoutError,
    and PdfError (all PdfError).
    """
    item = PrintItem(cert, qr_text, purpose, purpose_expires, seal_png, layout, seal_text, photo)
    return draw_pdf([item], verifier_url=verifier_url, layout=layout)


def render_many(
    items: Iterable[PrintItem | tuple[Certificate, str]],
    *,
    verifier_url: str,
    layout: str = "v1",
    seal_png: bytes | None = None,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """Return one PDF with a page per item, in order (a batch's print file).

    An item is a PrintItem or a ``(certificate, qr_text)`` pair; its own ``layout`` and
    ``seal_png`` win over the arguments. Fonts are subset once for the whole file, and
    the pages' fixed layer (border, rules, the layout's fixed texts) is drawn once, as a
    form XObject every page shows.
    """
    return draw_pdf(
        items,
        verifier_url=verifier_url,
        layout=layout,
        seal_png=seal_png,
        progress=progress,
        shared_background=True,
    )


def draw_pdf(
    items: Iterable[PrintItem | tuple[Certificate, str]],
    *,
    verifier_url: str,
    layout: str = "v1",
    seal_png: bytes | None = None,
    progress: Callable[[int], None] | None = None,
    on_first_page: Callable[[Canvas], None] | None = None,
    shared_background: bool = True,
) -> bytes:
    """``render_many``, with ``on_first_page(canvas)`` called once the first page is drawn
    and before it is closed (the signer adds its field and attachment there)."""
    buf = io.BytesIO()
    canvas: Canvas | None = None
    # shared_background: the pages' fixed layer (border, rules, the layout's fixed texts)
    # is a form XObject every page shows, drawn once per document and its operators
    # kept per process (see Page.draw); False draws every page whole
    forms: dict[tuple[Any, ...], str] | None = {} if shared_background else None
    pages = 0
    for raw in items:
        item = raw if isinstance(raw, PrintItem) else PrintItem(raw[0], raw[1])
        style = get_style(item.layout or layout)
        if item.seal_png is None and seal_png is not None:
            item = dataclasses.replace(item, seal_png=seal_png)
        if canvas is None:
            canvas = _canvas(
                buf, style, f"教师资格证书 {item.cert.certificate_number}", item.cert.office_name
            )
        elif (style.width, style.height) != tuple(canvas._pagesize):
            canvas.setPageSize((style.width, style.height))
        Page(canvas, style).draw(item, verifier_url, forms)
        if pages == 0 and on_first_page is not None:
            on_first_page(canvas)
        canvas.showPage()
        pages += 1
        if progress is not None:
            progress(pages)
    if canvas is None:
        raise PdfError("nothing to render")
    if pages > 1:
        canvas.setTitle(f"教师资格证书（{pages} 份）")
    canvas.save()
    return buf.getvalue()
