"""Wrapping Chinese help by display width: a CJK character takes two columns of a terminal,
and a line of Chinese may break between any two characters (not only at spaces).

Click wraps help at spaces and counts characters, so a Chinese paragraph comes out as one
line twice the terminal's width, or broken after ``width`` characters. ``wrap_text`` takes
the place of ``click.formatting.wrap_text`` (same arguments, same paragraph rules: a blank
line ends a paragraph, a paragraph whose first line is ``\\b`` is kept as written) while a
``jiaozi`` command speaks Chinese. Pure text: nothing here imports click.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["display_width", "wrap_text"]

# a line does not start with these (they close what came before) ...
_NO_BREAK_BEFORE = frozenset("，。、；：？！）」』】》〉”’…·,.;:?!)]}%")
# ... nor end with these (they open what comes after)
_NO_BREAK_AFTER = frozenset("（「『【《〈“‘([{")
_CHUNK = re.compile(r"\s+|[^\s]")


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def display_width(text: str) -> int:
    """Return the columns ``text`` takes on a terminal: 2 for a wide (CJK) character, 0 for
    a combining mark, 1 for any other."""
    return sum(2 if _wide(c) else 0 if unicodedata.combining(c) else 1 for c in text if c != "\b")


def _units(text: str) -> list[str]:
    """Split ``text`` into what a line may not break inside: a run of spaces, a wide
    character, a run of other characters (a word, a path, an option), what is between
    backticks up to a space (a command or a file name, even with Chinese in it), each with
    the punctuation that may not start or end a line bound to it."""
    units: list[str] = []
    glue_next = quoted = False
    for match in _CHUNK.finditer(text):
        piece = match.group()
        if piece.isspace():
            units.append(" " if "\n" in piece else piece)
            glue_next = False
            continue
        after_word = bool(units) and not units[-1].isspace()
        joins = glue_next or piece in _NO_BREAK_BEFORE or (quoted and piece != "`")
        joins = joins or (not _wide(piece) and not _wide(units[-1][-1])) if after_word else False
        if joins:
            units[-1] += piece
        else:
            units.append(piece)
        if piece == "`":
            quoted = not quoted
            glue_next = quoted  # an opening backtick stays with what it quotes
        else:
            glue_next = piece in _NO_BREAK_AFTER
    return units


def _fill(text: str, width: int, initial_indent: str, subsequent_indent: str) -> list[str]:
    lines: list[str] = []
    line, used, empty, space = initial_indent, display_width(initial_indent), True, ""

    def new_line() -> None:
        nonlocal line, used, empty, space
        lines.append(line)
        line, used, empty, space = subsequent_indent, display_width(subsequent_indent), True, ""

    for unit in _units(text):
        if unit.isspace():
            space = "" if empty else unit  # spaces at the start of a line are dropped
            continue
        size = display_width(unit)
        if not empty and used + len(space) + size > width:
            new_line()
        if empty and used + size > width:  # longer than a line: cut it where it reaches the end
            for char in unit:
                if not empty and used + display_width(char) > width:
                    new_line()
                line, used, empty = line + char, used + display_width(char), False
            continue
        line, used, empty = line + space + unit, used + len(space) + size, False
        space = ""
    if not empty:
        lines.append(line)
    return lines


def _join(lines: list[str]) -> str:
    """Join a paragraph's lines: with a space, but none between two wide characters (a
    Chinese sentence written across lines)."""
    text = ""
    for line in lines:
        if text and not (_wide(text[-1]) and _wide(line[0])):
            text += " "
        text += line
    return text


def wrap_text(
    text: str,
    width: int = 78,
    initial_indent: str = "",
    subsequent_indent: str = "",
    preserve_paragraphs: bool = False,
) -> str:
    """Wrap ``text`` to ``width`` display columns, as ``click.formatting.wrap_text`` does with
    characters: one paragraph, or with ``preserve_paragraphs`` each paragraph (lines up to
    a blank one) rewrapped at the indent of its first line, or kept as written when it
    starts with a line of ``\\b``."""
    text = text.expandtabs()
    if not preserve_paragraphs:
        return "\n".join(_fill(text, width, initial_indent, subsequent_indent))
    paragraphs: list[tuple[int, bool, list[str]]] = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            continue
        if lines[0].strip() == "\b":
            paragraphs.append((0, True, lines[1:]))
        else:
            indent = len(lines[0]) - len(lines[0].lstrip())
            paragraphs.append((indent, False, [line.strip() for line in lines]))
    out = []
    for indent, raw, lines in paragraphs:
        first, rest = initial_indent + " " * indent, subsequent_indent + " " * indent
        if raw:
            out.append("\n".join((first if i == 0 else rest) + x for i, x in enumerate(lines)))
        else:
            out.append("\n".join(_fill(_join(lines), width, first, rest)))
    return "\n\n".join(out)
