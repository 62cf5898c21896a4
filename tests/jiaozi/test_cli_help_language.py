"""The commands' own ``--help`` in the chosen language (issue 15 point 3): under ``--lang
zh`` each covered command's description and option help come from ``jiaozi._helptext``,
scanned with the page finders; under ``--lang en`` no Chinese. Covered: ``jiaozi`` itself
and every command of every group (a new group fails until it is added to ``COVERED``);
under zh no line is wider than the terminal (two columns per CJK character)."""

from __future__ import annotations

import re
import unicodedata

import click
import pytest
from click.testing import CliRunner

from jiaozi._helptext import COMMAND_HELP_ZH, OPTION_HELP_ZH
from jiaozi.cli import main
from tests.factory.language import output_faults

COVERED = (
    "backup",
    "restore",
    "audit",
    "reissue",
    "batch",
    "issuer",
    "accounts",
    "verify",
    "verifier",
    "registry",
    "feed",
    "trust",
    "keys",
)
# the words of the commands to run a Chinese help names (in backticks, which --help may wrap)
COMMAND_WORDS = tuple(
    word
    for text in (*(h for pair in COMMAND_HELP_ZH.values() for h in pair), *OPTION_HELP_ZH.values())
    for quoted in re.findall(r"`([^`]+)`", text)
    for word in quoted.split()
)


def _commands(command: click.Command, path: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _commands(sub, (*path, name))


def _covered() -> list[tuple[tuple[str, ...], click.Command]]:
    return [(p, c) for p, c in _commands(main) if not p or p[0] in COVERED]


def _data(output: str) -> tuple[str, ...]:
    """What a --help shows as data: the usage line, options and their metavars, choices,
    defaults and ranges, environment variables, commands to run (in backticks), and the
    names of the commands listed."""
    listed = re.findall(r"^  ([a-z][\w-]*)  ", output, flags=re.MULTILINE)
    return (
        *re.findall(r"(?:用法：|Usage:) (.+)", output),
        *re.findall(r"`[^`]+`", output),
        *re.findall(r"--?[\w-]+", output),
        *re.findall(r"\[[^\]]*\|[^\]]*\]", output),
        *re.findall(r"(?:默认：|default: )([^;\]]+)", output),
        *re.findall(r"\b[A-Z][A-Z_]{2,}\b", output),  # metavars and variables
        *(f"  {name}  " for name in listed),
        "zh",
        "en",
        "KID",
        *COMMAND_WORDS,
    )


def test_every_command_group_is_covered() -> None:
    assert set(main.list_commands(click.Context(main))) == set(COVERED)


def test_every_covered_command_and_option_has_its_chinese_help() -> None:
    for path, command in _covered():
        key = " ".join(path)
        assert key in COMMAND_HELP_ZH, key
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden and param.help:
                assert (key, max(param.opts, key=len)) in OPTION_HELP_ZH, (key, param.opts)
    # and nothing in the tables for a command or option that is not there
    paths = {" ".join(p): c for p, c in _commands(main)}
    for key in COMMAND_HELP_ZH:
        assert key in paths, key
    for key, option in OPTION_HELP_ZH:
        assert any(option in p.opts for p in paths[key].params), (key, option)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_covered_help_speaks_the_chosen_language(lang: str) -> None:
    runner = CliRunner()
    for path, _command in _covered():
        said = runner.invoke(main, ["--lang", lang, *path, "--help"], prog_name="jiaozi")
        assert said.exit_code == 0, said.output
        faults = output_faults(said.output, lang, _data(said.output))
        assert faults == [], (path, faults)
        if lang == "zh":
            assert COMMAND_HELP_ZH[" ".join(path)][1].split("\n")[0][:8] in said.output


def test_chinese_help_does_not_outlive_its_command() -> None:
    runner = CliRunner()
    zh = runner.invoke(main, ["--lang", "zh", "backup", "issuer", "--help"])
    assert "要写入的归档" in zh.output, zh.output
    en = runner.invoke(main, ["--lang", "en", "backup", "issuer", "--help"])
    assert "The archive to write" in en.output and "归档" not in en.output, en.output


def _columns(line: str) -> int:
    """The columns a line takes on a terminal: two for each wide (CJK) character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


@pytest.mark.parametrize("width", [80, 60])
def test_chinese_help_fits_the_terminal(width: int) -> None:
    runner = CliRunner()
    for path, _command in _covered():
        said = runner.invoke(
            main, ["--lang", "zh", *path, "--help"], prog_name="jiaozi", terminal_width=width
        )
        assert said.exit_code == 0, said.output
        long = [line for line in said.output.splitlines() if _columns(line) > width]
        assert long == [], (path, long)
