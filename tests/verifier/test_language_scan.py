"""One language per page (issue 15 point 3): the verifier page in Chinese and in English,
its script's string tables, and the tables its results are worded from (verdict reasons,
check details, qualification names), scanned for English or codes on the Chinese side and
Chinese or codes on the English side (tests/factory/language.py says what is allowed)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from credential import (
    Check,
    InputTooLargeError,
    InvalidFieldError,
    MalformedError,
    QualificationType,
    Reason,
    beijing_text,
    date_text,
)
from credential import _verify as pipeline
from tests.factory.language import chinese_faults, english_faults, page_text, strings_of
from verifier import problems, web


def test_the_scanner_finds_what_it_is_for() -> None:
    assert chinese_faults(["格式错误：QR digits have an impossible length"])
    assert chinese_faults(["higher_education 在机构认定范围内"])
    assert chinese_faults(["认定日期 2026-06-05"])
    assert english_faults(["higher_education is within the office's scope"])
    assert english_faults(["Certified on 2026年6月5日"])
    assert not chinese_faults(["上传 PDF 或二维码照片（PNG / JPEG）：https://x.cn/v#1"])
    assert not english_faults(["Name 张三"], data=("张三",))


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    web.install(app)
    return TestClient(app)


@pytest.mark.parametrize("path", ["/", "/v"])
def test_the_verifier_pages_speak_one_language(client: TestClient, path: str) -> None:
    zh = client.get(path)
    assert zh.status_code == 200 and 'lang="zh-CN"' in zh.text
    assert "核验" in zh.text and "验证" not in zh.text and "查验" not in zh.text
    assert chinese_faults(page_text(zh.text)) == []
    en = client.get(path + "?lang=en")
    assert en.status_code == 200 and 'lang="en"' in en.text
    assert english_faults(page_text(en.text)) == []


def test_the_scripts_string_tables_speak_one_language() -> None:
    zh = web.STRINGS["zh"]
    assert chinese_faults(strings_of({k: v for k, v in zh.items() if k != "html_lang"})) == []
    assert all("验证" not in s and "查验" not in s for s in strings_of(zh))
    en = dict(web.STRINGS["en"])
    js = dict(en.pop("js"))
    # the verdict's official Chinese word is shown beside its English on purpose
    assert set(js.pop("verdict").values()) == {"有效", "无效", "无法确定"}
    assert english_faults(strings_of(en) + strings_of(js)) == []
    for lang in ("zh", "en"):  # every reason and check has words, so no code is shown
        table = web.STRINGS[lang]["js"]
        assert set(table["reasons"]) == {r.value for r in Reason}
        assert set(table["check_names"]) >= set(pipeline.CHECK_NAMES)


def test_reasons_and_qualification_names_have_words_in_both_languages() -> None:
    assert chinese_faults([r.zh for r in Reason]) == []
    assert english_faults([r.en for r in Reason]) == []
    assert chinese_faults([q.name_in("zh") for q in QualificationType]) == []
    assert english_faults([q.name_in("en") for q in QualificationType]) == []
    assert QualificationType.HIGHER_EDUCATION.name_in("en") == (
        "Higher education teacher qualification"
    )


def _details(checks: list[Check]) -> tuple[list[str], list[str]]:
    return [c.detail_zh for c in checks], [c.detail for c in checks]


def test_check_details_are_words_in_both_languages() -> None:
    fixed = [v for v in vars(pipeline).values() if isinstance(v, Check)]
    # the tables of fixed checks (not _OK_CACHE: it remembers checks that name an office,
    # which is data, as earlier tests left it)
    fixed += [
        c
        for k, v in vars(pipeline).items()
        if isinstance(v, dict) and k != "_OK_CACHE"
        for c in v.values()
        if isinstance(c, Check)
    ]
    assert len(fixed) >= 3
    zh, en = _details(fixed)
    assert chinese_faults(zh) == []
    assert english_faults(en) == []
    # what a parser's English says never reaches the Chinese detail
    for exc in (
        MalformedError("QR digits have an impossible length"),
        InputTooLargeError("token longer than 4096"),
        InvalidFieldError("sex", "unknown_sex", "unknown sex", "无法识别的性别"),
    ):
        assert chinese_faults(["格式错误：" + pipeline._malformed_zh(exc)]) == []
    for why in ("not_yet_valid", "expired", "compromised"):
        zh_words, en_words = pipeline._KEY_WINDOW[why]
        assert chinese_faults([zh_words]) == [] and english_faults([en_words]) == []


def test_dates_and_times_are_written_one_way() -> None:
    day = dt.date(2026, 6, 5)
    assert date_text(day, "zh") == "2026年6月5日" and date_text(day, "en") == "5 June 2026"
    at = dt.datetime(2026, 6, 5, 1, 2, 3, tzinfo=dt.UTC)
    assert beijing_text(at, "zh") == "2026年6月5日 09:02 北京时间"
    assert chinese_faults([beijing_text(at, "zh")]) == []
    assert english_faults([beijing_text(at, "en")]) == []


def test_the_problem_titles_the_page_shows_speak_one_language() -> None:
    titles = list(problems._HTTP_TITLES.values())
    assert chinese_faults([zh for _, zh in titles]) == []
    assert english_faults([en for en, _ in titles]) == []
