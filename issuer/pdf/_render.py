"""Drawing a certificate page from a layout description (see templates/certificate/)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from credential import Certificate

from ._errors import FieldTooLongError, LayoutError, PdfError
from ._fonts import FontChain, font_chain
from ._layout import load_layout
from ._outline import draw_outlined
from ._qr import QrMatrix, draw_qr, encode_qr

__all__ = ["PrintItem", "render_certificate", "render_many", "unprintable_character"]

MM = 72 / 25.4

# Binary (Flate only) streams instead of ASCII85 on top: smaller and measurably faster
# (docs/pdf.md). reportlab reads this process-wide setting; nothing needs ASCII-only PDFs.
rl_config.useA85 = 0
Runs = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class PrintItem:
    """One page of a print file: a certificate, its QR text and how to print it."""

    cert: Certificate
    qr_text: str
    purpose: str | None = None
    purpose_expires: dt.date | None = None
    seal_png: bytes | None = None
    layout: str | None = None


def zh_date(d: dt.date) -> str:
    """Return ``d`` as printed: ``2025年6月18日``."""
    return f"{d.year}年{d.month}月{d.day}日"


def _is_purpose_copy(item: PrintItem) -> bool:
    if (item.purpose is None) != (item.purpose_expires is None):
        raise PdfError("a purpose-bound copy needs both purpose and purpose_expires")
    if item.purpose is not None and not item.purpose.strip():
        raise PdfError("the purpose of a purpose-bound copy is empty")
    return item.purpose is not None


def field_values(item: PrintItem) -> dict[str, str]:
    """Return the printed text of every field key a layout may name."""
    c = item.cert
    purpose_copy = _is_purpose_copy(item)
    values = {
        "name": c.name,
        "sex": c.sex.name_zh,
        "birth_date": zh_date(c.birth_date),
        "id_type": c.id_type.name_zh,
        # the paper certificate shows the full number; a copy handed to a third party does not
        "id_number": c.id_number_masked if purpose_copy else c.id_number,
        "qualification": c.qualification_type.name_zh,
        "subject": c.subject,
        "office": c.office_name,
        "office_code": c.office_code,
        "certified_on": zh_date(c.certified_on),
        "certificate_number": c.certificate_number,
        "elicence_id": c.elicence_id,
        "version": f"第{c.version}版",
    }
    if c.ethnicity:
        values["ethnicity"] = c.ethnicity
    if purpose_copy:
        assert item.purpose is not None and item.purpose_expires is not None
        values["purpose"] = item.purpose.strip()
        values["expires"] = zh_date(item.purpose_expires)
    return values


class _Style:
    """A loaded layout: its fonts, colours and the points it draws at."""

    def __init__(self, layout: dict[str, Any]) -> None:
        self.layout = layout
        self.version: str = layout["version"]
        self.fonts: FontChain = font_chain(layout["fonts"])
        self.colors: dict[str, Color] = {k: HexColor(v) for k, v in layout["colors"].items()}
        self.width = layout["page"]["width_mm"] * MM
        self.height = layout["page"]["height_mm"] * MM
        # static texts are checked once, here, rather than on every page
        for spec in layout.get("texts", []):
            self.fonts.runs(spec["text"], "layout")
        for row in layout["fields"]["rows"]:
            self.fonts.runs(row["label"], "layout")
        # The fixed texts (no {field} in them) are drawn in a second registration of the
        # main face whose subset is the same in every document, made once per process
        # (_fonts._FixedTextFont); the certificate's own text stays in the main face.
        fixed = [row["label"] for row in layout["fields"]["rows"]]
        for part in ("texts", "qr_caption", "signature", "footer", "purpose_line"):
            specs = layout.get(part, [])
            for spec in [specs] if isinstance(specs, dict) else specs:
                if "{" not in spec["text"]:
                    fixed.append(spec["text"])
        self.fixed_chars = "".join(fixed)
        self.fixed_font = self.fonts.fixed_font(self.fixed_chars)
        self._office_fonts: dict[str, str] = {}
        self.fixed_runs: dict[str, Runs] = {}
        for text in fixed:
            runs = self.fonts.runs(text, "layout")
            if runs == ((self.fonts.main, text),):  # else its fallback runs, as before
                runs = ((self.fixed_font, text),)
            self.fixed_runs[text] = runs
        # A fixed layer drawn wholly in the fixed font reads the same in every document, so
        # its operators can be kept; one that needs a fallback face cannot (that face's
        # resource name and codes are the document's own).
        self.fixed_layer_reusable = all(
            runs == ((self.fixed_font, text),) for text, runs in self.fixed_runs.items()
        )
        self.label_runs = {
            row["key"]: self._label(row["label"]) for row in layout["fields"]["rows"]
        }

    def office_font(self, office: str) -> str:
        """Return the fixed texts' font extended with ``office`` (the issuing office's
        name, the same on every certificate of a batch, so its subset is made once per
        process too); the layout's own for more than a few offices in one process."""
        name = self._office_fonts.get(office)
        if name is None:
            if len(self._office_fonts) >= 8:
                return self.fixed_font
            name = self.fonts.fixed_font(self.fixed_chars + office)
            self._office_fonts[office] = name
        return name

    def color(self, name: str) -> Color:
        try:
            return self.colors[name]
        except KeyError:
            raise LayoutError(f"layout {self.version} has no colour {name!r}") from None

    def y(self, y_mm: float) -> float:
        return float(self.height - y_mm * MM)

    def _label(self, label: str) -> tuple[Runs, float]:
        f = self.layout["fields"]
        runs = self.fixed_runs[label]
        natural = self.fonts.width(runs, f["label_size"])
        n = len(label)
        space = (f["label_width_mm"] * MM - natural) / (n - 1) if n > 1 else 0.0
        return runs, max(space, 0.0)


_STYLES: dict[str, _Style] = {}
_STYLE_LOCK = threading.Lock()


def _style(version: str) -> _Style:
    style = _STYLES.get(version)
    if style is None:
        layout = load_layout(version)
        with _STYLE_LOCK:
            style = _STYLES.get(version) or _Style(layout)
            _STYLES[version] = style
    return style


# Characters every layout's fonts are known to draw (tests/issuer/pdf/test_printable.py
# holds each layout to it): ASCII, the middle dot of transliterated names, CJK punctuation,
# the CJK Unified Ideographs block (to 9FEA) and full-width forms. A text made only of these is
# printable without loading a font (~0.2 s), which matters to validation of a batch.
_SURELY_PRINTABLE = (
    (0x20, 0x7E),
    (0xB7, 0xB7),
    (0x3000, 0x3029),  # 302A-302F are combining tone marks no face here has
    (0x3030, 0x303F),
    (0x4E00, 0x9FEA),  # the block's later additions (9FEB-9FFF) are in no face here
    (0xFF01, 0xFF5E),
)


# one regular-expression scan is ~0.3 µs for a name: validation calls this for every row
_NOT_SURELY_PRINTABLE = re.compile(
    "[^" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in _SURELY_PRINTABLE) + "]"
)


def unprintable_character(text: str, *, layout: str = "v1") -> str | None:
    """Return the first character of ``text`` that no font of ``layout`` can draw, or None.

    Raises LayoutError or FontUnavailableError (a font the layout names is missing).
    """
    if _NOT_SURELY_PRINTABLE.search(text) is None:
        return None
    fonts = _style(layout).fonts
    for ch in text:
        if fonts.covers(ch) is None:
            return ch
    return None


# (layout, field) -> (room in points, smallest size, an upper bound of one character's width
# at that size): what too_wide needs of a layout, worked out once
_ROOMS: dict[tuple[str, str], tuple[float, float, float]] = {}


def too_wide(field: str, text: str, *, layout: str = "v1") -> float | None:
    """Return the width in points ``text`` needs at the layout's smallest value size when
    that is more than the room of field ``field``'s line (the certificate could not be
    printed: the renderer would raise FieldTooLongError), else None.

    For a field drawn in the fields table without a note (name, subject, ethnicity) and
    a text every character of which a font has (see ``unprintable_character``; else
    GlyphMissingError). Raises LayoutError for an unknown layout or such a field.
    """
    key = (layout, field)
    got = _ROOMS.get(key)
    if got is None:
        style = _style(layout)
        f = style.layout["fields"]
        rows = [r for r in f["rows"] if r["key"] == field and "note" not in r]
        if not rows:
            raise LayoutError(f"layout {layout} has no line for {field!r} without a note")
        widest = max(
            max(getattr(pdfmetrics.getFont(n).face, "charWidths", {}).values(), default=1000)
            for n in style.fonts.names
        )
        min_size = float(f["min_value_size"])
        got = _ROOMS[key] = (f["value_max_mm"] * MM, min_size, widest / 1000 * min_size)
    room, min_size, bound = got
    if len(text) * bound <= room:  # (a name of up to ~44 characters of any kind)
        return None
    fonts = _style(layout).fonts
    width = fonts.width(fonts.runs(text, field), min_size)
    return width if width > room + 1e-9 else None


def purpose_too_wide(purpose: str, *, layout: str = "v1") -> bool:
    """Return True if a purpose-bound copy with ``purpose`` could not be printed: its
    purpose line or its watermark would not fit even at their smallest sizes (whatever
    the expiry date: the widest is assumed). ``purpose`` must be drawable (see
    ``unprintable_character``; else GlyphMissingError). Raises LayoutError."""
    style = _style(layout)
    values = {"purpose": purpose, "expires": zh_date(dt.date(2099, 12, 28))}
    for spec in (style.layout["purpose_line"], style.layout["watermark"]):
        runs = style.fonts.runs(spec["text"].format(**values), "purpose")
        min_size = spec.get("min_size", spec["size"] * 0.6)  # as the renderer draws it
        if style.fonts.width(runs, min_size) > spec["max_mm"] * MM + 1e-9:
            return True
    return False


_SEALS: dict[bytes, ImageReader] = {}


def _seal_reader(png: bytes) -> ImageReader:
    key = hashlib.sha256(png).digest()
    reader = _SEALS.get(key)
    if reader is None:
        try:
            reader = ImageReader(io.BytesIO(png))
            reader.getSize()
        except Exception as exc:  # PIL raises many kinds for a bad image
            raise PdfError(f"seal image is not a readable PNG: {exc}") from exc
        if len(_SEALS) > 64:
            _SEALS.clear()
        _SEALS[key] = reader
    return reader


# A batch part draws each page twice (its signed PDF, then the print file, after the
# part's last PDF): the QR encoder is about half of the second drawing, so the matrices
# of the last pages drawn (more than a default part's 100) are kept; a matrix is frozen,
# a pure function of these arguments.
@functools.lru_cache(maxsize=256)
def _qr_matrix(text: str, error: str, mask: int | None, engine: str) -> QrMatrix:
    return encode_qr(text, error=error, mask=mask, engine=engine)


# The fixed layer's content-stream operators by (layout, fixed font, rows printed, the
# font's resource name in the document): see _Page.draw.
_FIXED_LAYERS: dict[tuple[Any, ...], list[str]] = {}


class _Page:
    def __init__(self, canvas: Canvas, style: _Style) -> None:
        self.c = canvas
        self.s = style
        self.fonts = style.fonts
        self.char_space = 0.0
        self.fixed = style.fixed_font  # the fixed texts' font on this page (see draw)
        self.office: tuple[str, Runs] | None = None  # the office's name and its runs
        # what draw() draws: "all"; or "fixed" (border, rules, the layout's fixed texts:
        # the background a print file shares between its pages) or "own" (the rest)
        self.layer = "all"

    def fixed_runs(self, text: str) -> Runs:
        runs = self.s.fixed_runs[text]
        if len(runs) == 1 and runs[0][0] == self.s.fixed_font:
            return ((self.fixed, text),)
        return runs

    def text(
        self,
        text: str,
        field: str,
        x: float,
        y: float,
        size: float,
        *,
        color: Color,
        align: str = "left",
        char_space: float = 0.0,
        max_width: float | None = None,
        min_size: float | None = None,
        bold: bool = False,
        runs: Runs | None = None,
    ) -> float:
        """Draw one line; shrink it to ``max_width`` if needed; return its width."""
        if runs is None:
            if self.office is not None and text == self.office[0]:
                runs = self.office[1]
            else:
                runs = self.fonts.runs(text, field)
        n = sum(len(s) for _, s in runs)
        width = self.fonts.width(runs, size) + char_space * (n - 1)
        if max_width is not None and width > max_width:
            shrink = max_width / width
            if min_size is not None and size * shrink < min_size - 1e-9:
                raise FieldTooLongError(field, width * min_size / size, max_width)
            size, char_space, width = size * shrink, char_space * shrink, max_width
        if align == "center":
            x -= width / 2
        elif align == "right":
            x -= width
        c = self.c
        if bold:  # fill and stroke the outline (the face has no bold), then restore
            c.saveState()
            c.setStrokeColor(color)
            c.setLineWidth(size * 0.025)
        t = c.beginText(x, y)
        t.setFillColor(color)
        # character spacing is graphics state: it outlives the text object, so set it
        # whenever it differs from what the page has now
        before = self.char_space
        if char_space != before:
            t.setCharSpace(char_space)
            self.char_space = char_space
        if bold:
            t.setTextRenderMode(2)
        for name, s in runs:
            t.setFont(name, size)
            t.textOut(s)
        c.drawText(t)
        if bold:
            c.restoreState()
            self.char_space = before
        return width

    def spec_text(self, spec: dict[str, Any], values: dict[str, str], field: str) -> None:
        if self.layer != "all" and (self.layer == "fixed") != ("{" not in spec["text"]):
            return
        text = spec["text"].format(**values)
        size = spec["size"]
        self.text(
            text,
            field,
            spec["x_mm"] * MM,
            self.s.y(spec["y_mm"]),
            size,
            color=self.s.color(spec.get("color", "text")),
            align=spec.get("align", "left"),
            char_space=spec.get("char_space", 0.0),
            max_width=spec["max_mm"] * MM if "max_mm" in spec else None,
            min_size=spec.get("min_size", size * 0.6),
            bold=spec.get("bold", False),
            runs=self.fixed_runs(spec["text"]) if "{" not in spec["text"] else None,
        )

    def border(self) -> None:
        b, c, s = self.s.layout["border"], self.c, self.s
        w, h = s.width, s.height
        o, i = b["outer_inset_mm"] * MM, b["inner_inset_mm"] * MM
        c.setStrokeColor(s.color(b["outer_color"]))
        c.setLineWidth(b["outer_width_pt"])
        c.rect(o, o, w - 2 * o, h - 2 * o, stroke=1, fill=0)
        c.setStrokeColor(s.color(b["inner_color"]))
        c.setLineWidth(b["inner_width_pt"])
        c.rect(i, i, w - 2 * i, h - 2 * i, stroke=1, fill=0)
        k = b["corner_mm"] * MM
        if k:  # a small square ornament in each corner, between the two frames
            c.setFillColor(s.color(b["outer_color"]))
            for x, y in ((i, i), (w - i, i), (i, h - i), (w - i, h - i)):
                dx = k if x < w / 2 else -k
                dy = k if y < h / 2 else -k
                p = c.beginPath()
                p.moveTo(x, y + dy)
                p.lineTo(x, y)
                p.lineTo(x + dx, y)
                c.setLineWidth(b["outer_width_pt"] * 0.6)
                c.setStrokeColor(s.color(b["outer_color"]))
                c.drawPath(p, stroke=1, fill=0)
                c.rect(x + dx * 0.25 - 1.2, y + dy * 0.25 - 1.2, 2.4, 2.4, stroke=0, fill=1)

    def watermark(self, values: dict[str, str]) -> None:
        """The purpose across the page, as outlines (see _outline: not extractable text)."""
        wm = self.s.layout["watermark"]
        text = wm["text"].format(**values)
        runs = self.fonts.runs(text, "purpose")
        size = wm["size"]
        width = self.fonts.width(runs, size)
        limit = wm["max_mm"] * MM
        if width > limit:
            if size * limit / width < wm["min_size"]:
                raise FieldTooLongError("purpose", width * wm["min_size"] / size, limit)
            size, width = size * limit / width, limit
        self.c.setFillColor(self.s.color(wm["color"]))
        for cx, cy in wm["centres_mm"]:
            self.c.saveState()
            self.c.translate(cx * MM, self.s.y(cy))
            self.c.rotate(wm["angle"])
            self.c.translate(-width / 2, -size * 0.35)
            draw_outlined(self.c, runs, self.fonts.by_name, size)
            self.c.restoreState()

    def fields(self, values: dict[str, str]) -> None:
        f, s = self.s.layout["fields"], self.s
        label_color, value_color = s.color(f["label_color"]), s.color(f["value_color"])
        rule_color, note_color = s.color(f["rule_color"]), s.color(f["note_color"])
        lx, vx = f["label_x_mm"] * MM, f["value_x_mm"] * MM
        vmax = f["value_max_mm"] * MM
        y_mm = f["top_mm"]
        c = self.c
        for row in f["rows"]:
            key = row["key"]
            value = values.get(key)
            if value is None:
                if row.get("optional"):
                    continue
                raise LayoutError(f"layout {s.version} prints unknown field {key!r}")
            y = s.y(y_mm)
            y_mm += f["pitch_mm"]
            if self.layer != "own":
                _runs, space = s.label_runs[key]
                self.text(
                    row["label"],
                    "layout",
                    lx,
                    y,
                    f["label_size"],
                    color=label_color,
                    char_space=space,
                    runs=self.fixed_runs(row["label"]),
                )
                c.setStrokeColor(rule_color)
                c.setLineWidth(f["rule_width_pt"])
                ry = y - f["rule_below_mm"] * MM
                c.line(vx, ry, vx + vmax, ry)
            if self.layer == "fixed":
                continue
            room = vmax
            note = row["note"].format(**values) if "note" in row else None
            note_runs: Runs = ()
            if note:
                note_runs = self.fonts.runs(note, key)
                room -= self.fonts.width(note_runs, f["note_size"]) + 2
            size = row.get("size", f["value_size"])
            width = self.text(
                value,
                key,
                vx,
                y,
                size,
                color=value_color,
                max_width=room,
                min_size=f["min_value_size"],
            )
            if note:
                self.text(
                    note, key, vx + width + 2, y, f["note_size"], color=note_color, runs=note_runs
                )

    def qr(self, qr_text: str) -> None:
        q = self.s.layout["qr"]
        matrix = _qr_matrix(qr_text, q["error"], q.get("mask"), q.get("engine", "segno"))
        if matrix.version > q.get("max_version", 40):
            raise PdfError(
                f"QR version {matrix.version} exceeds the layout's {q['max_version']}: "
                "too dense to print at this size"
            )
        size = q["size_mm"] * MM
        draw_qr(
            self.c,
            matrix,
            q["x_mm"] * MM,
            self.s.y(q["y_mm"]) - size,
            size,
            quiet=q["quiet_modules"],
        )

    def seal(self, png: bytes | None) -> None:
        sl, c = self.s.layout["seal"], self.c
        r = sl["diameter_mm"] * MM / 2
        cx, cy = sl["cx_mm"] * MM, self.s.y(sl["cy_mm"])
        if png:
            # multiplied like ink: the office name and date under the seal stay legible
            c.saveState()
            c.setBlendMode("Multiply")
            c.drawImage(
                _seal_reader(png),
                cx - r,
                cy - r,
                2 * r,
                2 * r,
                mask="auto",
                preserveAspectRatio=True,
            )
            c.restoreState()
            return
        c.saveState()
        c.setStrokeColor(self.s.color(sl["placeholder_color"]))
        c.setLineWidth(sl["placeholder_width_pt"])
        c.setDash(*sl["placeholder_dash"])
        c.circle(cx, cy, r, stroke=1, fill=0)
        c.restoreState()

    def draw(
        self, item: PrintItem, verifier_url: str, forms: dict[tuple[Any, ...], str] | None = None
    ) -> None:
        """Draw the page of ``item``. With ``forms`` (a print file's), the fixed layer is
        drawn once per document as a form XObject (per layout, fixed font and set of rows
        printed), named in ``forms``, and each page shows it and draws the rest."""
        values = field_values(item)
        values["verifier_url"] = verifier_url.rstrip("/")
        office = values["office"]
        runs = self.fonts.runs(office, "office")
        if runs == ((self.fonts.main, office),):  # else its fallback runs, as always
            self.fixed = self.s.office_font(office)
            if self.fixed != self.s.fixed_font:
                self.office = (office, ((self.fixed, office),))
        if "purpose" in values:
            self.watermark(values)
        if forms is None:
            self.layer = "all"
            self._draw(item, values)
            return
        rows = self.s.layout["fields"]["rows"]
        key = (self.s.version, self.fixed, tuple(r["key"] for r in rows if r["key"] in values))
        name = forms.get(key)
        if name is None:
            name = f"JiaoziPage{len(forms) + 1}"
            # The layer's operators are the same in every document where its font has the
            # same resource name: kept per process, they are not drawn again. The fixed
            # font's subset is filled in the fixed order at its first use (_FixedTextFont).
            doc = self.c._doc
            font = pdfmetrics.getFont(self.fixed)
            font.splitString("", doc)
            known = (*key, font.getSubsetInternalName(0, doc))
            before, self.char_space = self.char_space, 0.0
            self.c.beginForm(name)
            reusable = self.s.fixed_layer_reusable
            code = _FIXED_LAYERS.get(known) if reusable else None
            if code is None:
                self.layer = "fixed"
                self._draw(item, values)
                if reusable:
                    if len(_FIXED_LAYERS) > 64:
                        _FIXED_LAYERS.clear()
                    _FIXED_LAYERS[known] = list(self.c._code)
            else:
                self.c._code.extend(code)
            self.c.endForm()
            self.char_space = before
            forms[key] = name
        self.c.doForm(name)
        self.layer = "own"
        self._draw(item, values)

    def _draw(self, item: PrintItem, values: dict[str, str]) -> None:
        lay = self.s.layout
        purpose_copy = "purpose" in values
        own, fixed = self.layer != "fixed", self.layer != "own"
        if fixed:
            self.border()
        for spec in lay.get("texts", []):
            self.spec_text(spec, values, "layout")
        if "title_rule" in lay and fixed:
            r = lay["title_rule"]
            self.c.setStrokeColor(self.s.color(r["color"]))
            self.c.setLineWidth(r["width_pt"])
            y = self.s.y(r["y_mm"])
            self.c.line(r["x1_mm"] * MM, y, r["x2_mm"] * MM, y)
        if purpose_copy:
            self.spec_text(lay["purpose_line"], values, "purpose")
        self.fields(values)
        if own:
            self.qr(item.qr_text)
        for spec in lay.get("qr_caption", []):
            self.spec_text(spec, values, "verifier_url")
        for spec in lay.get("signature", []):
            self.spec_text(spec, values, "office")
        if "footer" in lay:
            self.spec_text(lay["footer"], values, "footer")
        if own:
            self.seal(item.seal_png)


def _canvas(buf: io.BytesIO, style: _Style, title: str, author: str) -> Canvas:
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
) -> bytes:
    """Return a one-page A4 PDF of ``cert``.

    ``qr_text`` is what the QR carries (``credential.qr_url(verifier_url, qr_token)``);
    ``verifier_url`` is also printed as text. ``purpose``/``purpose_expires`` make a
    purpose-bound copy (加注件): identity number masked, purpose printed across the page.
    Raises GlyphMissingError for a character no font has, FieldTooLongError, LayoutError,
    and PdfError (all PdfError).
    """
    item = PrintItem(cert, qr_text, purpose, purpose_expires, seal_png, layout)
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
    # kept per process (see _Page.draw); False draws every page whole
    forms: dict[tuple[Any, ...], str] | None = {} if shared_background else None
    pages = 0
    for raw in items:
        item = raw if isinstance(raw, PrintItem) else PrintItem(raw[0], raw[1])
        style = _style(item.layout or layout)
        if item.seal_png is None and seal_png is not None:
            item = PrintItem(
                item.cert, item.qr_text, item.purpose, item.purpose_expires, seal_png, item.layout
            )
        if canvas is None:
            canvas = _canvas(
                buf, style, f"教师资格证书 {item.cert.certificate_number}", item.cert.office_name
            )
        elif (style.width, style.height) != tuple(canvas._pagesize):
            canvas.setPageSize((style.width, style.height))
        _Page(canvas, style).draw(item, verifier_url, forms)
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
