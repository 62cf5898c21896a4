"""Text drawn as glyph outlines (vector paths), for the diagonal purpose text.

A purpose-bound copy carries its purpose diagonally across the page. Drawn as PDF text,
those slanted characters are mixed by text extractors into the horizontal lines they cross
(``pdftotext`` returned the fields interleaved with reversed purpose characters), so
copy-paste and search of the fields break. As outlines the purpose is printed the same
but is not text; the purpose line near the title carries it as text.

The outlines come from the same embedded TrueType faces (reportlab's parsed font file:
``glyf``/``loca``); quadratic TrueType curves become cubic PDF curves.
"""

from __future__ import annotations

import struct
import threading
from typing import Any

from reportlab.pdfgen.canvas import FILL_NON_ZERO, Canvas
from reportlab.pdfgen.pathobject import PDFPathObject

__all__ = ["draw_outlined"]

_ON_CURVE, _X_SHORT, _Y_SHORT, _REPEAT, _X_SAME, _Y_SAME = 1, 2, 4, 8, 16, 32
_ARGS_WORDS, _ARGS_XY, _SCALE, _MORE, _XY_SCALE, _TWO_BY_TWO = 1, 2, 8, 32, 64, 128

Point = tuple[float, float, bool]
_LOCK = threading.Lock()
_PATHS: dict[tuple[int, int], PDFPathObject | None] = {}


def _contours(face: Any, gid: int, depth: int = 0) -> list[list[Point]]:
    """Return the glyph's contours in font units: lists of (x, y, on_curve)."""
    start = face.glyphPos[gid]
    length = face.glyphPos[gid + 1] - start
    if length <= 0 or depth > 8:
        return []
    data = face._ttf_data
    base = face.get_table_pos("glyf")[0] + start
    (n_contours,) = struct.unpack_from(">h", data, base)
    pos = base + 10
    if n_contours >= 0:
        ends = struct.unpack_from(f">{n_contours}H", data, pos)
        pos += 2 * n_contours
        (n_instr,) = struct.unpack_from(">H", data, pos)
        pos += 2 + n_instr
        n_points = ends[-1] + 1 if ends else 0
        flags: list[int] = []
        while len(flags) < n_points:
            flag = data[pos]
            pos += 1
            flags.append(flag)
            if flag & _REPEAT:
                flags.extend([flag] * data[pos])
                pos += 1
        coords: list[list[float]] = [[], []]
        for axis, short, same in ((0, _X_SHORT, _X_SAME), (1, _Y_SHORT, _Y_SAME)):
            value = 0.0
            for flag in flags[:n_points]:
                if flag & short:
                    delta = data[pos]
                    pos += 1
                    value += delta if flag & same else -delta
                elif not flag & same:
                    value += struct.unpack_from(">h", data, pos)[0]
                    pos += 2
                coords[axis].append(value)
        points = [(coords[0][i], coords[1][i], bool(flags[i] & _ON_CURVE)) for i in range(n_points)]
        out, first = [], 0
        for end in ends:
            out.append(points[first : end + 1])
            first = end + 1
        return out
    # composite glyph: components placed by offset (and an optional linear transform)
    result: list[list[Point]] = []
    more = True
    while more:
        flag, child = struct.unpack_from(">HH", data, pos)
        pos += 4
        if flag & _ARGS_WORDS:
            dx, dy = struct.unpack_from(">hh", data, pos)
            pos += 4
        else:
            dx, dy = struct.unpack_from(">bb", data, pos)
            pos += 2
        if not flag & _ARGS_XY:
            dx = dy = 0  # point-matching placement: rare in CJK faces, drawn unshifted
        a, b, c, d = 1.0, 0.0, 0.0, 1.0
        if flag & _SCALE:
            a = d = struct.unpack_from(">h", data, pos)[0] / 16384
            pos += 2
        elif flag & _XY_SCALE:
            a, d = (v / 16384 for v in struct.unpack_from(">hh", data, pos))
            pos += 4
        elif flag & _TWO_BY_TWO:
            a, b, c, d = (v / 16384 for v in struct.unpack_from(">hhhh", data, pos))
            pos += 8
        for contour in _contours(face, child, depth + 1):
            result.append([(a * x + c * y + dx, b * x + d * y + dy, on) for x, y, on in contour])
        more = bool(flag & _MORE)
    return result


def _path(face: Any, gid: int) -> PDFPathObject | None:
    """Return the glyph as a path in font units (None for an empty glyph), cached."""
    key = (id(face), gid)
    if key in _PATHS:
        return _PATHS[key]
    path = PDFPathObject()
    drawn = False
    for contour in _contours(face, gid):
        if len(contour) < 2:
            continue
        # start at an on-curve point (or the midpoint of two off-curve ones)
        k = next((i for i, p in enumerate(contour) if p[2]), None)
        if k is None:
            (x0, y0, _), (x1, y1, _) = contour[0], contour[1]
            pts = [((x0 + x1) / 2, (y0 + y1) / 2, True), *contour[1:], contour[0]]
        else:
            pts = contour[k:] + contour[:k]
        cx, cy = pts[0][0], pts[0][1]
        path.moveTo(cx, cy)
        pending: tuple[float, float] | None = None
        for x, y, on in [*pts[1:], pts[0]]:
            if on:
                if pending is None:
                    path.lineTo(x, y)
                else:
                    _quad(path, cx, cy, *pending, x, y)
                    pending = None
                cx, cy = x, y
            elif pending is None:
                pending = (x, y)
            else:  # two off-curve points: an implied on-curve point between them
                mx, my = (pending[0] + x) / 2, (pending[1] + y) / 2
                _quad(path, cx, cy, *pending, mx, my)
                cx, cy = mx, my
                pending = (x, y)
        path.close()
        drawn = True
    result = path if drawn else None
    with _LOCK:
        _PATHS[key] = result
    return result


def _quad(
    path: PDFPathObject, x0: float, y0: float, qx: float, qy: float, x: float, y: float
) -> None:
    path.curveTo(
        x0 + 2 / 3 * (qx - x0),
        y0 + 2 / 3 * (qy - y0),
        x + 2 / 3 * (qx - x),
        y + 2 / 3 * (qy - y),
        x,
        y,
    )


def draw_outlined(
    canvas: Canvas, runs: tuple[tuple[str, str], ...], fonts: dict[str, Any], size: float
) -> None:
    """Fill ``runs`` (font name, characters) as outlines, starting at the current origin,
    in the current fill colour. ``fonts`` maps a font name to its reportlab TTFont."""
    x = 0.0
    for name, text in runs:
        font = fonts[name]
        face = font.face
        scale = size / face.unitsPerEm
        for ch in text:
            path = _path(face, face.charToGlyph[ord(ch)])
            if path is not None:
                canvas.saveState()
                canvas.transform(scale, 0, 0, scale, x, 0)
                canvas.drawPath(path, stroke=0, fill=1, fillMode=FILL_NON_ZERO)
                canvas.restoreState()
            # the same advance as the text (reportlab's hmetrics mixes units)
            x += font.stringWidth(ch, size)
