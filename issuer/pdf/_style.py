"""A layout loaded for drawing: its fonts, colours, page size and the fixed texts' runs.

A layout is loaded once per process and version (``get_style``); every page drawn in it
shares the one ``Style``.
"""

from __future__ import annotations

import threading
from typing import Any

from reportlab.lib.colors import Color, HexColor

from ._errors import LayoutError
from ._fonts import FontChain, font_chain
from ._layout import load_layout

__all__ = ["MM", "STYLES", "Runs", "Style", "get_style"]

MM = 72 / 25.4
Runs = tuple[tuple[str, str], ...]


class Style:
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
        # the vector seal's content-stream operators and their compressed stream by
        # (office name, seal text, centre, radius): the same for every certificate of an
        # office (Page._seal_code)
        self.seal_code: dict[tuple[Any, ...], tuple[list[str], bytes] | None] = {}
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


STYLES: dict[str, Style] = {}
_STYLE_LOCK = threading.Lock()


def get_style(version: str) -> Style:
    style = STYLES.get(version)
    if style is None:
        layout = load_layout(version)
        with _STYLE_LOCK:
            style = STYLES.get(version) or Style(layout)
            STYLES[version] = style
    return style
