"""Click's own messages (usage errors, --help headings) in the command's language (issue 15
point 3): Chinese under ``--lang zh``, JIAOZI_LANG=zh or a Chinese locale, click's English
otherwise; a usage error exits 64 in both."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from jiaozi._clicktext import CLICK_PLURAL_ZH, CLICK_ZH
from jiaozi.cli import EXIT_USAGE, main
from tests.factory.language import output_faults

# (arguments, what click says in Chinese, what it says in English)
USAGE_ERRORS = [
    (["nosuch"], "错误：没有命令 'nosuch'。", "Error: No such command 'nosuch'."),
    (["feed", "follow"], "错误：缺少选项 '--registry'", "Error: Missing option '--registry'"),
    (["registry", "migrate", "--bogus"], "错误：没有选项 '--bogus'。", "No such option"),
    (
        ["registry", "accounts", "deactivate", "abc"],
        "'ACCOUNT_ID' 的取值无效：'abc' 不是有效的数值。",
        "Invalid value for 'ACCOUNT_ID': 'abc' is not a valid integer.",
    ),
    (
        ["batch", "issue", "/no/such/file.csv"],
        "'/no/such/file.csv' 不存在。",
        "'/no/such/file.csv' does not exist.",
    ),
    (
        ["feed", "follow", "--registry", "x", "--key", "k", "--into", "y", "--limit", "0"],
        "'--limit' 的取值无效：0 不在范围 1<=x<=1000 内。",
        "0 is not in the range 1<=x<=1000.",
    ),
    (
        ["registry", "accounts", "deactivate", "1", "2"],
        "错误：多余的参数（2）",
        "Error: Got unexpected extra argument (2)",
    ),
]
# what a usage message shows as data: the program, its commands and options, values given
DATA = (
    "jiaozi",
    "--help",
    "[OPTIONS]",
    "COMMAND",
    "[ARGS]...",
    "ACCOUNT_ID",
    "/no/such/file.csv",
    "registry accounts deactivate",
    "registry migrate",
    "feed follow",
    "batch issue",
    "--registry",
    "--bogus",
    "--limit",
    "FILE",
    "1<=x<=1000",
    "nosuch",
    "abc",
)


@pytest.mark.parametrize(("args", "zh", "en"), USAGE_ERRORS)
def test_a_usage_error_is_said_in_the_chosen_language_and_exits_64(
    args: list[str], zh: str, en: str
) -> None:
    runner = CliRunner()
    said = runner.invoke(main, ["--lang", "zh", *args], prog_name="jiaozi")
    assert said.exit_code == EXIT_USAGE, said.output
    assert zh in said.output and said.output.startswith("用法："), said.output
    assert output_faults(said.output, "zh", DATA) == [], said.output
    assert "运行 'jiaozi " in said.output and "' 查看帮助。" in said.output
    english = runner.invoke(main, ["--lang", "en", *args], prog_name="jiaozi")
    assert english.exit_code == EXIT_USAGE, english.output
    assert en in english.output and english.output.startswith("Usage:"), english.output
    assert output_faults(english.output, "en", DATA) == [], english.output


def test_the_language_of_clicks_messages_comes_from_the_environment_too() -> None:
    runner = CliRunner()
    said = runner.invoke(main, ["nosuch"], env={"JIAOZI_LANG": "zh"}, prog_name="jiaozi")
    assert said.exit_code == EXIT_USAGE and "错误：没有命令" in said.output, said.output
    said = runner.invoke(
        main, ["nosuch"], env={"JIAOZI_LANG": None, "LC_ALL": "zh_CN.UTF-8"}, prog_name="jiaozi"
    )
    assert "错误：没有命令" in said.output, said.output
    said = runner.invoke(main, ["nosuch"], env={"JIAOZI_LANG": "en"}, prog_name="jiaozi")
    assert "Error: No such command" in said.output, said.output
    # --lang after the command name (jiaozi verify has its own) counts as well
    said = runner.invoke(main, ["verify", "--lang", "zh", "--bogus"], prog_name="jiaozi")
    assert "错误：没有选项 '--bogus'。" in said.output, said.output


def test_help_headings_are_chinese_under_zh_and_nothing_leaks_into_the_next_command() -> None:
    runner = CliRunner()
    zh = runner.invoke(main, ["--lang", "zh", "registry", "--help"], prog_name="jiaozi")
    assert zh.exit_code == 0, zh.output
    assert zh.output.startswith("用法：") and "选项:" in zh.output and "命令:" in zh.output
    assert "显示本帮助并退出。" in zh.output and "Show this message" not in zh.output
    en = runner.invoke(main, ["--lang", "en", "registry", "--help"], prog_name="jiaozi")
    assert en.output.startswith("Usage:") and "Options:" in en.output and "Commands:" in en.output
    assert "用法" not in en.output and "显示" not in en.output
    # a group run on its own (as tests and embedders do) speaks click's English
    from registry.cli import registry_group

    alone = runner.invoke(registry_group, ["--bogus"])
    assert "No such option" in alone.output, alone.output


def test_the_translation_table_keeps_clicks_fields() -> None:
    import string

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    for en, zh in CLICK_ZH.items():
        assert fields(zh) <= fields(en), (en, zh)  # a field click fills, never a new one
        data = ("%(prog)s", "%(version)s", "UUID", *(f"{{{f}!r}}" for f in fields(zh)))
        assert output_faults(zh + "\n", "zh", data) == [], zh
    for (one, many), zh in CLICK_PLURAL_ZH.items():
        assert fields(zh) <= fields(one) | fields(many), zh
