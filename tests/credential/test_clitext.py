"""The command line's words and language (issue 15 point 3): one table, both languages
complete, chosen by --lang, JIAOZI_LANG or the locale; times in Beijing time."""

from __future__ import annotations

import datetime as dt
import re
import string

import pytest

from credential import CLI_TEXT, beijing_text, cli_language, cli_text
from tests.factory.language import ZH_ALLOWED


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(CLI_TEXT))
def test_each_text_says_the_same_in_both_languages(key: str) -> None:
    zh, en = CLI_TEXT[key]
    assert _fields(zh) == _fields(en), key
    # No English in the Chinese text: only its fields, a command to run, "http" and the
    # format names a Chinese page may show (PDF, API, JWKS ...)
    allowed = "|".join(sorted(ZH_ALLOWED, key=len, reverse=True))
    rest = re.sub(rf"\{{[^}}]*\}}|`[^`]*`|http://|\b(?:{allowed})\b", "", zh)
    assert re.search(r"[A-Za-z]", rest) is None, (key, zh)
    assert re.search(r"[\u4e00-\u9fff]", en) is None, (key, en)


@pytest.mark.parametrize(
    ("environ", "chosen", "expected"),
    [
        ({}, None, "en"),
        ({"LANG": "zh_CN.UTF-8"}, None, "zh"),
        ({"LANG": "zh_TW.UTF-8"}, None, "zh"),
        ({"LANG": "C"}, None, "en"),
        ({"LANG": "C.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, None, "zh"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, None, "en"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": ""}, None, "zh"),  # an empty variable is unset
        ({"LANG": "C", "JIAOZI_LANG": "zh"}, None, "zh"),
        ({"LANG": "zh_CN.UTF-8", "JIAOZI_LANG": "en"}, None, "en"),
        ({"LANG": "zh_CN.UTF-8", "JIAOZI_LANG": "fr"}, None, "zh"),  # not ours: ignored
        ({"JIAOZI_LANG": "zh"}, "en", "en"),  # --lang wins
        ({"LANG": "C"}, "zh", "zh"),
    ],
)
def test_the_language_comes_from_the_option_then_jiaozi_lang_then_the_locale(
    environ: dict[str, str], chosen: str | None, expected: str
) -> None:
    assert cli_language(environ, chosen) == expected


def test_a_text_is_filled_in_and_a_missing_field_is_an_error() -> None:
    assert cli_text("batch.only", "zh", issued="2", valid="3") == "3 行中仅签发了 2 行"
    assert cli_text("batch.only", "en", issued="2", valid="3") == "only 2 of 3 rows issued"
    with pytest.raises(KeyError):
        cli_text("batch.only", "zh", issued="2")
    with pytest.raises(KeyError):
        cli_text("no.such.text", "en")


def test_times_are_beijing_time_with_the_zone_named() -> None:
    at = dt.datetime(2026, 6, 4, 16, 2, 3, tzinfo=dt.UTC)  # 00:02 on the 5th in Beijing
    assert beijing_text(at, "zh") == "2026年6月5日 00:02 北京时间"
    assert beijing_text(at, "en") == "5 June 2026 00:02 Beijing time"
    naive = at.replace(tzinfo=None)  # naive: UTC
    assert beijing_text(naive, "en") == "5 June 2026 00:02 Beijing time"
    other = at.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert beijing_text(other) == "2026年6月5日 00:02 北京时间"
