"""Which characters a certificate can print: the shortcut set (no font loaded) is really
covered by every layout's fonts, and a character no font has is named, never printed as a
blank box."""

from __future__ import annotations

import pytest

from issuer.pdf import _printable, _style, available_layouts, unprintable_character


@pytest.mark.parametrize("layout", available_layouts())
def test_every_surely_printable_character_is_in_the_layouts_fonts(layout: str) -> None:
    fonts = _style.get_style(layout).fonts
    missing = [
        f"U+{o:04X}"
        for lo, hi in _printable._SURELY_PRINTABLE
        for o in range(lo, hi + 1)
        if fonts.covers(chr(o)) is None
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("张伟", None),
        ("阿依古丽·买买提", None),
        ("䶮", None),  # CJK extension A, through the fallback face
        ("王𬌗", None),  # extension E (生僻字), through the fallback face
        ("李𓀀", "𓀀"),  # an Egyptian hieroglyph: no face has it
        ("\u9ffb", "\u9ffb"),  # a late addition to the basic block
    ],
)
def test_unprintable_character_names_the_first_one(text: str, expected: str | None) -> None:
    assert unprintable_character(text) == expected
