"""Chinese help wrapped by display width (``jiaozi._wrap``): two columns per CJK character,
breaks between characters as well as at spaces, never before a closing mark nor after an
opening one, and click's paragraph rules kept."""

from __future__ import annotations

from jiaozi._wrap import display_width, wrap_text


def test_display_width_counts_two_columns_for_a_cjk_character() -> None:
    assert display_width("核验") == 4
    assert display_width("核验 JSON，") == 11
    assert display_width("abc") == 3


def test_a_chinese_sentence_breaks_between_characters_by_display_width() -> None:
    text = "用本机构的有效密钥换发密钥签署的每份证书"  # 20 characters, 40 columns
    lines = wrap_text(text, 16).splitlines()
    assert lines == ["用本机构的有效密", "钥换发密钥签署的", "每份证书"]
    assert "".join(lines) == text


def test_a_line_does_not_start_with_a_closing_mark_nor_end_with_an_opening_one() -> None:
    lines = wrap_text("一二三四五六，七八（九十）", 12).splitlines()
    assert lines == ["一二三四五", "六，七八（九", "十）"]
    assert not any(line.startswith(("，", "）")) or line.endswith("（") for line in lines)


def test_latin_words_and_commands_break_only_at_spaces() -> None:
    lines = wrap_text("请运行 `jiaozi keys rotate --office ID` 然后重试", 20).splitlines()
    assert all(display_width(line) <= 20 for line in lines), lines
    for word in ("`jiaozi", "keys", "rotate", "--office", "ID`"):
        assert any(word in line.split() for line in lines), (word, lines)


def test_indents_count_and_paragraphs_are_kept() -> None:
    text = "第一段的文字比较长需要换行\n\n\b\n  原样\n  保留"
    out = wrap_text(text, 14, "  ", "  ", preserve_paragraphs=True)
    assert out == "  第一段的文字\n  比较长需要换\n  行\n\n    原样\n    保留"
    # a word longer than a line is cut where the line ends
    assert wrap_text("x" * 12, 5).splitlines() == ["xxxxx", "xxxxx", "xx"]


def test_what_backticks_quote_breaks_only_at_its_spaces() -> None:
    lines = wrap_text("每份证书写为 `DIR/<证书编号>.pdf`，另写一份打印文件", 24).splitlines()
    assert any(line.startswith("`DIR/<证书编号>.pdf`，") for line in lines), lines
    assert all(display_width(line) <= 24 for line in lines), lines
