"""Embedded TrueType fonts with a per-character fallback chain.

The layout names a main face and fallbacks (TrueType outlines only: reportlab embeds
them as subsets; CFF-based OpenType such as Noto CJK cannot be embedded by it, and the
built-in STSong-Light CID font is never embedded at all). Each font is loaded and
registered with reportlab once per process; a text is cut into runs of characters that
one font can draw, the main face first. A character no font has raises
GlyphMissingError instead of printing a blank box.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont

from ._errors import FontUnavailableError, GlyphMissingError

__all__ = ["FontChain", "font_chain"]

_LOCK = threading.Lock()
_CHAINS: dict[tuple[tuple[str, str, int], ...], FontChain] = {}
_RUN_CACHE_MAX = 50_000


@dataclass(frozen=True, slots=True)
class FontSpec:
    name: str
    file: str
    subfont: int = 0


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap, with characters beyond the BMP written as UTF-16
    surrogate pairs as the PDF specification requires (reportlab writes ``<2C317>``
    for 𬌗, which readers take as U+2C31: ``pdftotext`` and copy-paste gave 李ⰱ)."""
    return "\n".join(
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo",
            f"<< /Registry ({fontname})",
            f"/Ordering ({fontname})",
            "/Supplement 0",
            ">> def",
            f"/CMapName /{fontname} def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            f"<00> <{len(subset) - 1:02X}>",
            "endcodespacerange",
            f"{len(subset)} beginbfchar",
            *(
                f"<{i:02X}> <{chr(v).encode('utf-16-be').hex().upper()}>"
                for i, v in enumerate(subset)
            ),
            "endbfchar",
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
    )


def _patch_to_unicode() -> None:
    # only where reportlab still has the bug: a fixed release keeps its own function
    if "D870DF17" not in ttfonts.makeToUnicodeCMap("X", [0x2C317]).upper():
        ttfonts.makeToUnicodeCMap = _to_unicode_cmap


_patch_to_unicode()


class _GlyfSlices:
    """The ``glyf`` table without copying it: slicing gives bytes of just that slice."""

    __slots__ = ("_view",)

    def __init__(self, view: memoryview) -> None:
        self._view = view

    def __getitem__(self, key: slice) -> bytes:
        return self._view[key].tobytes()

    def __len__(self) -> int:
        return len(self._view)


def _share_glyf(font: TTFont) -> None:
    """Make reportlab's subsetting read glyphs in place.

    ``makeSubset`` (once per font subset per PDF) takes ``get_table("glyf")``, a copy of
    the whole table (17 MB for uming.ttc: makeSubset measured 1.8 ms of CPU against 0.15 ms
    without the copy, and 5-9 ms against 0.5 ms of wall time on a busy machine), only to
    slice a few glyphs out of it.
    It only slices it, so a view that slices to bytes gives the same output for free.
    """
    face = font.face
    if "get_table" in vars(face):  # already done (or replaced by someone else)
        return
    original = face.get_table
    data = face._ttf_data
    if not isinstance(data, bytes):
        return
    view = memoryview(data)

    def get_table(tag: str) -> Any:
        if tag == "glyf":
            pos, length = face.get_table_pos(tag)
            return _GlyfSlices(view[pos : pos + length])
        return original(tag)

    face.get_table = get_table


def _load(spec: FontSpec) -> TTFont:
    if spec.name in pdfmetrics.getRegisteredFontNames():
        return pdfmetrics.getFont(spec.name)
    if not Path(spec.file).is_file():
        raise FontUnavailableError(
            f"font file {spec.file} is missing: run scripts/system-packages.sh "
            "(installs fonts-arphic-uming and fonts-hanazono)"
        )
    pdfmetrics.registerFont(TTFont(spec.name, spec.file, subfontIndex=spec.subfont))
    # reportlab maps a second font of an already registered face to the first font object:
    # keep (and speed up) the object it will draw with
    font = pdfmetrics.getFont(spec.name)
    _share_glyf(font)
    return font


class FontChain:
    """The main face and its fallbacks, with their character maps."""

    def __init__(self, specs: list[FontSpec]) -> None:
        self.fonts = [_load(s) for s in specs]
        self.names = [s.name for s in specs]
        self.by_name = dict(zip(self.names, self.fonts, strict=True))
        self.main = self.names[0]
        self._cmaps = [f.face.charToGlyph for f in self.fonts]
        self._main_cmap = self._cmaps[0]
        self._runs: dict[str, tuple[tuple[str, str], ...]] = {}

    def runs(self, text: str, field: str) -> tuple[tuple[str, str], ...]:
        """Return ``text`` as (font name, characters) runs, or raise GlyphMissingError."""
        cached = self._runs.get(text)
        if cached is not None:
            return cached
        main = self._main_cmap
        if all(ord(ch) in main for ch in text):
            out: tuple[tuple[str, str], ...] = ((self.main, text),)
        else:
            pieces: list[tuple[str, str]] = []
            for ch in text:
                name = self.covers(ch)
                if name is None:
                    raise GlyphMissingError(ch, field)
                if pieces and pieces[-1][0] == name:
                    pieces[-1] = (name, pieces[-1][1] + ch)
                else:
                    pieces.append((name, ch))
            out = tuple(pieces)
        if len(self._runs) < _RUN_CACHE_MAX:
            self._runs[text] = out
        return out

    def width(self, runs: tuple[tuple[str, str], ...], size: float) -> float:
        """Return the advance width in points of ``runs`` at ``size`` (no character spacing)."""
        return float(sum(pdfmetrics.stringWidth(s, name, size) for name, s in runs))

    def covers(self, char: str) -> str | None:
        """Return the name of the first font that has ``char``, or None."""
        for name, cmap in zip(self.names, self._cmaps, strict=True):
            if ord(char) in cmap:
                return name
        return None


def font_chain(spec: dict[str, Any]) -> FontChain:
    """Return the (process-wide, loaded once) chain a layout's ``fonts`` section describes."""
    specs = [FontSpec(**spec["main"])] + [FontSpec(**f) for f in spec.get("fallback", [])]
    key = tuple((s.name, s.file, s.subfont) for s in specs)
    chain = _CHAINS.get(key)
    if chain is None:
        with _LOCK:
            chain = _CHAINS.get(key)
            if chain is None:
                chain = FontChain(specs)
                _CHAINS[key] = chain
    return chain
