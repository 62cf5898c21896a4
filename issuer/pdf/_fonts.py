"""Embedded TrueType fonts with a per-character fallback chain.

The layout names a main face and fallbacks (TrueType outlines only: reportlab embeds
them as subsets; CFF-based OpenType such as Noto CJK cannot be embedded by it, and the
built-in STSong-Light CID font is never embedded at all). Each font is loaded and
registered with reportlab once per process; a text is cut into runs of characters that
one font can draw, the main face first. A character no font has raises
GlyphMissingError instead of printing a blank box.
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfdoc, pdfmetrics, ttfonts
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
    the whole table (17 MB for uming.ttc; most of makeSubset's time, see docs/pdf.md),
    only to slice a few glyphs out of it. It only slices it, so a view that slices to
    bytes gives the same output without the copy.
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


class _Formatted(pdfdoc.PDFObject):  # type: ignore[misc]
    """An object written as bytes formatted once (the fixed subset's /Widths, the
    signature dictionary with its fixed-size placeholders)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document: Any) -> bytes:
        return self.data


# One font subset of the fixed texts: its BaseFont name, the compressed font program and
# its uncompressed length, the compressed ToUnicode CMap, the glyph widths (/Widths, as
# written), the number of glyphs.
_FixedSubset = tuple[str, bytes, int, bytes, _Formatted, int]


class _FixedTextFont(TTFont):  # type: ignore[misc]
    """The main face under a second name, for a layout's fixed texts (title, labels,
    captions, footer): the same glyphs at the same places, in a subset of its own.

    Every document starts that subset with the same characters in the same order (all
    the layout's fixed characters), so its font program, ToUnicode CMap and widths are the
    same for every certificate: they are made and compressed once per process and written
    as they are. The names, numbers and dates of a certificate go on in the main face's
    subset, which is made per document as before. (reportlab maps a second registration
    of a face to the first font object, one subset for both: this object is put in its
    font table directly, sharing the loaded face.)
    """

    def __init__(self, name: str, base: TTFont, chars: str) -> None:
        from weakref import WeakKeyDictionary

        self.fontName = name
        self.face = base.face
        self.encoding = base.encoding
        self.state: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()
        self._asciiReadable = 0  # just the glyphs of the fixed texts
        self.shapable = False
        self.fixed_chars = chars
        self._tag = hashlib.sha256(f"{name}\0{chars}".encode()).hexdigest()
        self._made: dict[tuple[tuple[int, ...], ...], list[_FixedSubset]] = {}

    def splitString(self, text: str, doc: Any, encoding: str = "utf-8") -> Any:
        if doc not in self.state:  # the first use in a document: the fixed order first
            TTFont.splitString(self, self.fixed_chars, doc)
        return TTFont.splitString(self, text, doc, encoding)

    def _subsets(self, subsets: list[list[int]]) -> list[_FixedSubset]:
        key = tuple(tuple(s) for s in subsets)
        made = self._made.get(key)
        if made is None:
            face = self.face
            made = []
            for n, subset in enumerate(subsets):
                # a subset tag of six capitals of its own (the main face's are AAAAAA, ...)
                tag = "".join(chr(65 + int(c, 16) % 26) for c in self._tag[n * 6 : n * 6 + 6])
                base_name = tag + "+" + (face.name + face.subfontNameX).decode("pdfdoc")
                program = face.makeSubset(subset)
                cmap = ttfonts.makeToUnicodeCMap(base_name, subset)
                made.append(
                    (
                        base_name,
                        zlib.compress(program),
                        len(program),
                        zlib.compress(cmap.encode("latin-1")),
                        _Formatted(
                            pdfdoc.PDFArray(list(map(face.getCharWidth, subset))).format(None)
                        ),
                        len(subset),
                    )
                )
            if len(self._made) > 16:  # only a text outside the fixed set makes another
                self._made.clear()
            self._made[key] = made
        return made

    def addObjects(self, doc: Any) -> None:
        """``TTFont.addObjects`` with the subsets' streams made once (see the class)."""
        state = self.state[doc]
        state.frozen = 1
        face = self.face
        flate = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
        for n, (base_name, program, length1, cmap, widths, count) in enumerate(
            self._subsets(state.subsets)
        ):
            internal = self.getSubsetInternalName(n, doc)[1:]
            font = pdfdoc.PDFTrueTypeFont()
            font.Name = internal
            font.BaseFont = base_name
            font.FirstChar = 0
            font.LastChar = count - 1
            font.Widths = widths
            font.ToUnicode = doc.Reference(
                pdfdoc.PDFStream(pdfdoc.PDFDictionary({"Filter": flate}), cmap),
                "toUnicodeCMap:" + base_name,
            )
            program_ref = doc.Reference(
                pdfdoc.PDFStream(
                    pdfdoc.PDFDictionary({"Length1": length1, "Filter": flate}), program
                ),
                f"fontFile:{face.filename}({base_name})",
            )
            flags = (face.flags & ~ttfonts.FF_NONSYMBOLIC) | ttfonts.FF_SYMBOLIC
            descriptor = pdfdoc.PDFDictionary(
                {
                    "Type": "/FontDescriptor",
                    "Ascent": face.ascent,
                    "CapHeight": face.capHeight,
                    "Descent": face.descent,
                    "Flags": flags,
                    "FontBBox": pdfdoc.PDFArray(face.bbox),
                    "FontName": pdfdoc.PDFName(base_name),
                    "ItalicAngle": face.italicAngle,
                    "StemV": face.stemV,
                    "FontFile2": program_ref,
                    "MissingWidth": face.defaultWidth,
                }
            )
            font.FontDescriptor = doc.Reference(descriptor, "fontDescriptor:" + base_name)
            doc.Reference(font, internal)
            doc.idToObject["BasicFonts"].dict[internal] = font
        del self.state[doc]


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
        self._fixed: dict[str, str] = {}  # fixed characters -> their font's name

    def fixed_font(self, chars: str) -> str:
        """Return the name of the main face's second registration for texts made only of
        ``chars`` (a layout's fixed texts; see _FixedTextFont), registered once."""
        chars = "".join(sorted({ch for ch in chars if ord(ch) in self._main_cmap}))
        name = self._fixed.get(chars)
        if name is None:
            with _LOCK:
                name = self._fixed.get(chars)
                if name is None:
                    digest = hashlib.sha256(chars.encode()).hexdigest()[:8]
                    name = f"{self.main}-fixed-{digest}"
                    pdfmetrics._fonts[name] = _FixedTextFont(name, self.fonts[0], chars)
                    self._fixed[chars] = name
        return name

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
