"""Claim letters (领取通知): one A4 page per teacher with their claim code and how to use it.

A batch's letters are one PDF (``render_claim_letters``), in Chinese, drawn with the
certificate layout's embedded fonts and their fallback chain (so any name a certificate
prints prints here too, and a character no font has raises GlyphMissingError rather than
printing a blank box). The letter is paper for the teacher: it names them, their
certificate numbers, the claim code and its last day, the holder pages' address and the
steps to download the certificate, and says that the code is secret.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.colors import HexColor
from reportlab.pdfgen.canvas import Canvas

from ._errors import PdfError
from ._fonts import FontChain
from ._style import MM, Runs, get_style
from ._values import zh_date

__all__ = ["ClaimLetter", "render_claim_letters"]

_WIDTH, _HEIGHT = 210 * MM, 297 * MM  # A4 portrait
_LEFT = 25 * MM
_TEXT_WIDTH = _WIDTH - 2 * _LEFT
_INK = HexColor("#1a1a1a")
_MUTED = HexColor("#555555")
_RULE = HexColor("#888888")
# closing punctuation never begins a line: it stays with the line before (a little wider)
_NO_LINE_START = frozenset("，。、；：！？）》」』”’")


@dataclass(frozen=True, slots=True)
class ClaimLetter:
    """What one teacher's letter says."""

    name: str
    certificate_numbers: tuple[str, ...]
    claim_code: str  # formatted: ABCD-EFGH-JKMN-PQRS
    expires_on: dt.date  # the code's last day (Beijing)
    office_name: str


class _Writer:
    """Lines of text on a canvas, top down, wrapped at the text width (Chinese breaks
    between any two characters; runs of Latin letters and digits are kept whole)."""

    def __init__(self, canvas: Canvas, fonts: FontChain) -> None:
        self.c = canvas
        self.fonts = fonts
        self.y = 0.0
        self._wrapped: dict[tuple[str, float, float], list[str]] = {}

    def runs(self, text: str, field: str) -> Runs:
        return self.fonts.runs(text, field)

    def line(
        self,
        text: str,
        size: float,
        *,
        x: float = _LEFT,
        field: str = "letter",
        align: str = "left",
        color: object = _INK,
        gap: float = 1.6,
    ) -> None:
        runs = self.runs(text, field)
        if align == "center":
            x = (_WIDTH - self.fonts.width(runs, size)) / 2
        self.y -= size * gap
        t = self.c.beginText(x, self.y)
        t.setFillColor(color)
        for name, s in runs:
            t.setFont(name, size)
            t.textOut(s)
        self.c.drawText(t)

    def pair(self, label: str, value: str, size: float, *, field: str, gap: float) -> None:
        """Draw a label and its value on one baseline (the value at ``size``)."""
        self.y -= size * gap
        for text, x, sz, f in (
            (label, _LEFT + 8 * MM, 12.0, "letter"),
            (value, _LEFT + 40 * MM, size, field),
        ):
            t = self.c.beginText(x, self.y)
            t.setFillColor(_INK)
            for name, s in self.runs(text, f):
                t.setFont(name, sz)
                t.textOut(s)
            self.c.drawText(t)

    def paragraph(
        self, text: str, size: float, *, indent: float = 0.0, hanging: str = "", gap: float = 1.6
    ) -> None:
        """Draw ``text`` wrapped; ``hanging`` (a step number) stands before the first line
        and the following lines align after it."""
        x = _LEFT + indent
        lead = self.fonts.width(self.runs(hanging, "letter"), size) if hanging else 0.0
        width = _TEXT_WIDTH - indent - lead
        first = True
        for piece in self._wrap(text, size, width):
            if first and hanging:
                self.line(hanging + piece, size, x=x, gap=gap)
            else:
                self.line(piece, size, x=x + lead, gap=gap)
            first = False

    def _wrap(self, text: str, size: float, width: float) -> list[str]:
        # every page repeats the same steps and notes: wrap each once per document
        key = (text, size, width)
        lines = self._wrapped.get(key)
        if lines is None:
            lines = self._wrapped[key] = self._wrap_now(text, size, width)
        return lines

    def _wrap_now(self, text: str, size: float, width: float) -> list[str]:
        tokens: list[str] = []
        for ch in text:  # ASCII words stay together (an address, a code, a number)
            if tokens and ch.isascii() and ch != " " and tokens[-1][-1:].isascii():
                if tokens[-1][-1] != " ":
                    tokens[-1] += ch
                    continue
            tokens.append(ch)
        lines: list[str] = []
        current = ""
        for tok in tokens:
            trial = current + tok
            if (
                current
                and tok not in _NO_LINE_START
                and self.fonts.width(self.runs(trial, "letter"), size) > width
            ):
                lines.append(current.rstrip())
                current = tok.lstrip()
            else:
                current = trial
        if current:
            lines.append(current)
        return lines

    def rule(self, below: float = 4.0) -> None:
        self.y -= below
        self.c.setStrokeColor(_RULE)
        self.c.setLineWidth(0.6)
        self.c.line(_LEFT, self.y, _WIDTH - _LEFT, self.y)


def _page(
    w: _Writer,
    letter: ClaimLetter,
    *,
    holder_url: str,
    max_failures: int,
    lockout_minutes: int,
) -> None:
    w.y = _HEIGHT - 22 * MM
    w.line(letter.office_name, 11, align="center", color=_MUTED, field="office_name")
    w.line("教师资格电子证书领取通知", 20, align="center", gap=2.0)
    w.rule(10)
    w.y -= 6
    w.line(f"{letter.name} 老师：", 13, field="name", gap=2.0)
    w.paragraph(
        "您的教师资格证书已签发电子证照。请凭本通知中的证书编号和领取码，"
        "在下列网址查看、下载您本人的电子证书。",
        12,
        indent=24,
    )
    w.y -= 10
    for i, number in enumerate(letter.certificate_numbers):
        w.pair("证书编号" if i == 0 else "", number, 14, field="certificate_number", gap=1.9)
    w.pair("领 取 码", letter.claim_code, 18, field="claim_code", gap=1.9)
    w.pair("有效期至", f"{zh_date(letter.expires_on)}（含当日）", 12, field="letter", gap=2.2)
    w.pair("领取网址", holder_url, 12, field="holder_url", gap=2.0)
    w.rule(12)
    w.y -= 4
    w.line("下载步骤", 13, gap=2.0)
    steps = (
        f"用手机或电脑浏览器打开 {holder_url} 。",
        "输入证书编号（17 位数字）和领取码。领取码不区分大小写，短横线可输可不输。",
        "进入“我的证书”，即可看到以您本人证件签发的全部教师资格证书，并查看其状态。",
        "点击“下载”，保存带电子签名的 PDF 证书和电子证照（JSON/JWS）；"
        "如需向用人单位出示，可在页面上制作注明用途和有效期的加注件。",
        "任何人可扫描证书上的二维码，在核验网站核验证书的真伪和当前状态。",
    )
    for n, step in enumerate(steps, start=1):
        w.paragraph(step, 11.5, indent=6, hanging=f"{n}. ", gap=1.7)
    w.rule(12)
    w.y -= 4
    w.line("请注意", 13, gap=2.0)
    notes = (
        "领取码相当于密码，仅供您本人使用。请妥善保管，不要告诉他人，也不要拍照外传；"
        "认定机构工作人员不会向您索要领取码。",
        "领取码在有效期内可多次使用；过期或遗失，请持本人有效证件向认定机构申请新的领取码，"
        "新领取码生成后，原领取码立即失效。",
        f"连续输错 {max_failures} 次，该证书编号将被锁定 {lockout_minutes} 分钟。",
    )
    for note in notes:
        w.paragraph(note, 11, indent=6, hanging="• ", gap=1.7)
    w.y = 18 * MM
    w.line(
        f"本通知由{letter.office_name}制发", 10, align="center", color=_MUTED, field="office_name"
    )


def render_claim_letters(
    letters: Sequence[ClaimLetter],
    *,
    holder_url: str,
    max_failures: int,
    lockout_minutes: int,
    layout: str = "v1",
) -> bytes:
    """Return one PDF with an A4 page per letter, in order, in the fonts of certificate
    layout ``layout``. ``max_failures``/``lockout_minutes`` are the holder sign-in limits
    the letter states. Raises GlyphMissingError for a character no font has, PdfError
    for no letters."""
    if not letters:
        raise PdfError("nothing to render")
    fonts = get_style(layout).fonts
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(_WIDTH, _HEIGHT), pageCompression=1, initialFontName=fonts.main)
    c.setTitle(f"教师资格电子证书领取通知（{len(letters)} 份）")
    c.setAuthor(letters[0].office_name)
    c.setCreator("Jiaozi")
    w = _Writer(c, fonts)
    for letter in letters:
        _page(
            w,
            letter,
            holder_url=holder_url,
            max_failures=max_failures,
            lockout_minutes=lockout_minutes,
        )
        c.showPage()
    c.save()
    return buf.getvalue()
