"""One certificate page drawn on a canvas: border, texts, fields, QR, seal, watermark.

A page is drawn whole, or in two layers: the fixed layer (border, rules, the layout's
fixed texts), which a print file draws once as a form XObject every page shows, and the
page's own text over it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import zlib
from typing import Any

from reportlab.lib.colors import Color
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from ._errors import FieldTooLongError, LayoutError, PdfError
from ._outline import draw_outlined
from ._qr import QrMatrix, draw_qr, encode_qr
from ._style import MM, Runs, Style
from ._values import PrintItem, field_values

__all__ = ["Page"]

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
# font's resource name in the document): see Page.draw.
_FIXED_LAYERS: dict[tuple[Any, ...], list[str]] = {}


class _CompressedForm(pdfdoc.PDFFormXObject):  # type: ignore[misc]  # reportlab is untyped
    """A form XObject whose content stream is already Flate-compressed (the vector
    seal's, made once per process; reportlab would compress it again in every document).
    It names no resources but the basic ones every form lists."""

    def __init__(self, width: float, height: float, stream: bytes) -> None:
        super().__init__(0, 0, width, height)
        contents = pdfdoc.PDFStream(content=stream)
        contents.dictionary["Filter"] = pdfdoc.PDFName("FlateDecode")  # applied: not again
        self.Contents = contents


class Page:
    def __init__(self, canvas: Canvas, style: Style) -> None:
        self.c = canvas
        self.s = style
        self.fonts = style.fonts
        self.char_space = 0.0
        self.fixed = style.fixed_font  # the fixed texts' font on this page (see draw)
        self.office: tuple[str, Runs] | None = None  # the office's name and its runs
        self._office_name = ""  # the issuing office's name (the seal's arc)
        # a print file's form XObjects by key (see draw), None for a page drawn whole
        self._forms: dict[tuple[Any, ...], str] | None = None
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
            # a row may reach further right than the others (v2's e-licence identifier)
            vmax = row["max_mm"] * MM if "max_mm" in row else f["value_max_mm"] * MM
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
                min_size=row.get("min_size", f["min_value_size"]),
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

    def photo(self, jpeg: bytes | None) -> None:
        """Draw the holder's photo in the layout's photo box (x_mm, y_mm: its top-left;
        width_mm, height_mm), framed by a hairline; without a photo, nothing (a certificate
        made without one)."""
        if jpeg is None:
            return
        box, c = self.s.layout["photo"], self.c
        w, h = box["width_mm"] * MM, box["height_mm"] * MM
        x, y = box["x_mm"] * MM, self.s.y(box["y_mm"]) - h
        try:
            reader = ImageReader(io.BytesIO(jpeg))
            reader.getSize()
        except Exception as exc:  # PIL raises many kinds for a bad image
            raise PdfError(f"photo is not a readable image: {exc}") from exc
        c.drawImage(reader, x, y, w, h, preserveAspectRatio=True, anchor="c")
        if box.get("frame_pt"):
            c.saveState()
            c.setStrokeColor(self.s.color(box.get("frame_color", "hairline")))
            c.setLineWidth(box["frame_pt"])
            c.rect(x, y, w, h, stroke=1, fill=0)
            c.restoreState()

    def seal(self, png: bytes | None, seal_text: str | None = None) -> None:
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
        if sl.get("style") == "vector":
            self.vector_seal(cx, cy, r, seal_text)
            return
        c.saveState()
        c.setStrokeColor(self.s.color(sl["placeholder_color"]))
        c.setLineWidth(sl["placeholder_width_pt"])
        c.setDash(*sl["placeholder_dash"])
        c.circle(cx, cy, r, stroke=1, fill=0)
        c.restoreState()

    def vector_seal(self, cx: float, cy: float, r: float, seal_text: str | None) -> None:
        """Draw the office's official seal in vectors: red ring, five-pointed star, the
        office name along the upper arc and the purpose text beneath the star, all in
        outlines (not extractable text: the name would come out of pdftotext as stray
        characters among the fields). Raises FieldTooLongError when the name or the
        purpose does not fit even at the layout's smallest size.

        The seal is the same on every certificate of an office: its operators (paths
        and colours only, no resource names) are computed once per (layout, office name,
        seal text) and kept on the Style; in a print file (``forms``) it is drawn once
        per document as a form XObject that every page of that office shows."""
        text = (seal_text or self.s.layout["seal"]["purpose_text"]).strip()
        code = self._seal_code(cx, cy, r, text)  # raises before anything is drawn
        c, forms = self.c, self._forms
        c.saveState()
        # ink multiplied over the date and the office name, as a stamp on paper. (The
        # layouts' "opacity" was never in effect: reportlab's setFillColor and
        # setStrokeColor reset the alpha to the colour's own, 1, right after it was set;
        # v2's pages, and so its goldens, show the seal opaque, and v3 keeps that look.)
        c.setBlendMode("Multiply")
        if code is None:  # operators naming document resources: drawn afresh
            self._seal_body(cx, cy, r, text)
        elif forms is not None:
            # A form XObject painted in the page's graphics state (not a transparency
            # group): the blend mode above applies to each of its paths as if inline.
            # Its stream is compressed once per process, not once per document.
            key = ("seal", self.s.version, self._office_name, text)
            name = forms.get(key)
            if name is None:
                name = f"JiaoziSeal{sum(1 for k in forms if k[0] == 'seal') + 1}"
                width, height = c._pagesize
                c._doc.addForm(name, _CompressedForm(width, height, code[1]))
                forms[key] = name
            c.doForm(name)
        else:
            c._code.extend(code[0])
        c.restoreState()

    def _seal_code(
        self, cx: float, cy: float, r: float, text: str
    ) -> tuple[list[str], bytes] | None:
        """Return the seal's operators (colours, paths, transforms) and the same as a
        Flate-compressed stream, from the Style's memo when it has them; None when they
        name a resource of the document (an ExtGState: a colour with an alpha of its
        own), which another document would not have."""
        key = (self._office_name, text, cx, cy, r)
        memo = self.s.seal_code
        if key in memo:
            return memo[key]
        c = self.c
        start = len(c._code)
        c.saveState()
        try:
            self._seal_body(cx, cy, r, text)
            ops = c._code[start + 1 :]
        finally:  # the page as it was: the caller draws the operators
            c.restoreState()
            del c._code[start:]
        code = None
        if not any(op.endswith(" gs") for op in ops):
            code = (ops, zlib.compress(pdfdoc.pdfdocEnc("\n".join(ops))))
        if len(memo) >= 64:
            memo.clear()
        memo[key] = code
        return code

    def _seal_body(self, cx: float, cy: float, r: float, text: str) -> None:
        """Ring, star, the office name on the arc and ``text`` under the star (colours,
        paths and transforms: all in the caller's saved state)."""
        sl, c = self.s.layout["seal"], self.c
        color = self.s.color(sl["color"])
        c.setStrokeColor(color)
        c.setFillColor(color)
        ring = sl["ring_pt"]
        c.setLineWidth(ring)
        c.circle(cx, cy, r - ring / 2, stroke=1, fill=0)
        # the star: ten points alternating between the outer and the inner radius
        # (the inner one of a regular pentagram, 0.382 of the outer)
        outer = sl["star_mm"] * MM
        inner = outer * (math.sin(math.radians(18)) / math.sin(math.radians(126)))
        sy = cy + sl["star_dy_mm"] * MM
        p = c.beginPath()
        for i in range(10):
            a = math.radians(90 + 36 * i)
            rad = outer if i % 2 == 0 else inner
            x, y = cx + rad * math.cos(a), sy + rad * math.sin(a)
            if i == 0:
                p.moveTo(x, y)
            else:
                p.lineTo(x, y)
        p.close()
        c.drawPath(p, stroke=0, fill=1)
        self._seal_name(self._office_name, cx, cy, r - ring)
        if text:
            runs = self.fonts.runs(text, "seal_text")
            size = sl["purpose_size"]
            width = self.fonts.width(runs, size)
            limit = sl["purpose_max_mm"] * MM
            if width > limit:
                if size * limit / width < sl["purpose_min_size"]:
                    raise FieldTooLongError(
                        "seal_text", width * sl["purpose_min_size"] / size, limit
                    )
                size, width = size * limit / width, limit
            c.saveState()
            c.translate(cx - width / 2, cy - sl["purpose_dy_mm"] * MM)
            draw_outlined(c, runs, self.fonts.by_name, size)
            c.restoreState()

    def _seal_name(self, office: str, cx: float, cy: float, inside: float) -> None:
        """The office name along the upper arc, each character upright to the ring: a
        short name spreads over at least the layout's minimum angle, a long one shrinks
        until it fits the maximum angle."""
        sl, c = self.s.layout["seal"], self.c
        chars = [ch for ch in office if not ch.isspace()]
        n = len(chars)
        if n == 0:
            return
        size = sl["name_size"]
        gap = sl["name_gap_mm"] * MM
        spacing = sl["name_spacing"]
        widest = math.radians(sl["name_arc_max_deg"])

        def baseline(sz: float) -> float:  # the characters' tops just inside the ring
            return float(inside - gap - sz * 0.9)

        if n > 1 and size * spacing * (n - 1) > widest * baseline(size):
            # shrink so that (n - 1) steps fill the widest arc: s * k * (n-1) = A * (R - 0.9 s)
            size = widest * (inside - gap) / (spacing * (n - 1) + widest * 0.9)
            if size < sl["name_min_size"] - 1e-9:
                raise FieldTooLongError("office", n * sl["name_min_size"], widest * inside)
        radius = baseline(size)
        step = size * spacing / radius if n > 1 else 0.0
        if n > 1:
            step = max(step, math.radians(sl["name_arc_min_deg"]) / (n - 1))
            step = min(step, 2 * size * spacing / radius, widest / (n - 1))
        first = math.pi / 2 + step * (n - 1) / 2
        for i, ch in enumerate(chars):
            a = first - i * step
            runs = self.fonts.runs(ch, "office")
            w = self.fonts.width(runs, size)
            c.saveState()
            c.translate(cx + radius * math.cos(a), cy + radius * math.sin(a))
            c.rotate(math.degrees(a) - 90)
            c.translate(-w / 2, 0)
            draw_outlined(c, runs, self.fonts.by_name, size)
            c.restoreState()

    def draw(
        self, item: PrintItem, verifier_url: str, forms: dict[tuple[Any, ...], str] | None = None
    ) -> None:
        """Draw the page of ``item``. With ``forms`` (a print file's), the fixed layer is
        drawn once per document as a form XObject (per layout, fixed font and set of rows
        printed), named in ``forms``, and each page shows it and draws the rest."""
        self._forms = forms
        values = field_values(item)
        values["verifier_url"] = verifier_url.rstrip("/")
        office = values["office"]
        self._office_name = office
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
        if own and "photo" in lay:
            self.photo(item.photo)
        if own:
            self.seal(item.seal_png, item.seal_text)
