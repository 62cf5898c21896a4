"""``jiaozi batch``'s words (issue 15 point 3): Chinese with ``jiaozi --lang zh`` or a Chinese
locale, English otherwise; times in Beijing time; whole lines when piped, and nothing
written onto the end of a progress line on a terminal (the "issuedissued" bug).

On SQLite only: the words do not depend on the database (test_batch.py runs both).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from credential import CLI_TEXT
from issuer.cli.batch import _Progress
from tests.factory.issuer import bad_rows_file, batch_cli_env

# Words of the English catalogue that no Chinese line may contain.
_ENGLISH = sorted(
    {w for _zh, en in CLI_TEXT.values() for w in re.findall(r"[a-z]{4,}", en)} - {"http"}
)


def _jiaozi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jiaozi", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return batch_cli_env(tmp_path, f"sqlite:///{tmp_path / 'issuer.db'}")


def _lines_are_whole(text: str) -> None:
    assert text.endswith("\n") and "\r" not in text, repr(text)
    assert "issuedissued" not in text and "已签发已签发" not in text, text


def _batch_file(tmp_path: Path) -> Path:
    path = tmp_path / "round.csv"
    path.write_bytes(bad_rows_file()[0])
    return path


def test_lang_zh_speaks_chinese_in_whole_lines_and_beijing_time(
    tmp_path: Path, sqlite_env: dict[str, str]
) -> None:
    file = _batch_file(tmp_path)
    out = _jiaozi(sqlite_env, "--lang", "zh", "batch", "issue", str(file), "--workers", "1")
    assert out.returncode == 0, out.stderr
    assert "共 10 行，有效 3 行，有错误 7 行" in out.stdout, out.stdout
    assert "完成：3 行有效数据中已签发 3 行" in out.stdout, out.stdout
    assert "已签发 3 / 3" in out.stderr, out.stderr  # the progress, on stderr
    for stream in (out.stdout, out.stderr):
        _lines_are_whole(stream)
        said = [w for w in _ENGLISH if w in re.sub(r"\S*round\S*", "", stream)]  # no paths
        assert said == [], (said, stream)
    batch_id = re.search(r"批次 (\d+)", out.stdout)
    assert batch_id is not None, out.stdout
    status = _jiaozi(sqlite_env, "--lang", "zh", "batch", "status", batch_id.group(1))
    assert status.returncode == 0, status.stderr
    assert "已完成" in status.stdout and "已签发 3 / 3" in status.stdout, status.stdout
    assert re.search(r"开始于 \d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d 北京时间\n$", status.stdout)
    _lines_are_whole(status.stdout)
    codes = _jiaozi(sqlite_env, "--lang", "zh", "batch", "codes", batch_id.group(1))
    assert codes.returncode == 0, codes.stderr
    assert f"批次 {batch_id.group(1)}：新生成领取码 3 个" in codes.stdout, codes.stdout
    assert [w for w in _ENGLISH if w in codes.stdout] == [], codes.stdout


@pytest.mark.parametrize(
    ("locale", "said"),
    [("zh_CN.UTF-8", "完成：3 行有效数据中已签发 3 行"), ("C", "done: 3 of 3 valid rows issued")],
)
def test_the_locale_chooses_the_language(
    tmp_path: Path, sqlite_env: dict[str, str], locale: str, said: str
) -> None:
    file = _batch_file(tmp_path)
    env = {**sqlite_env, "LANG": locale}
    out = _jiaozi(env, "batch", "issue", str(file), "--workers", "1")
    assert out.returncode == 0, out.stderr
    assert said in out.stdout, out.stdout
    _lines_are_whole(out.stdout)
    if locale == "C":
        status = _jiaozi(env, "batch", "status", "1")
        assert status.returncode == 0, status.stderr
        assert re.search(
            r"started \d{1,2} [A-Z][a-z]+ \d{4} \d\d:\d\d Beijing time\n$", status.stdout
        )
        # LC_ALL outranks LANG, as POSIX has it
        again = _jiaozi({**env, "LC_ALL": "zh_CN.UTF-8"}, "batch", "status", "1")
        assert "北京时间" in again.stdout, again.stdout


def test_a_message_after_an_open_progress_line_starts_a_line_of_its_own(
    capsys: pytest.CaptureFixture[str],
) -> None:
    progress = _Progress(lang="en")
    progress.tty = True  # as at a terminal: one line redrawn with \r
    progress(1, 3)
    progress(2, 3)
    progress.echo("issuing stopped", err=True)
    err = capsys.readouterr().err
    # the redrawn line is ended before the message: never "... 2 / 3 ...issuing stopped"
    assert err.endswith("\nissuing stopped\n"), repr(err)
    assert err.count("\n") == 2
    progress(3, 3)
    progress.echo("done")
    out = capsys.readouterr()
    # ended once, when done: the message after it adds no empty line
    assert re.fullmatch(r"\r\[#{30}\] issued 3 / 3 \(100%\)  [\d,]+/s  \n", out.err), repr(out.err)
    assert out.out == "done\n"


def test_a_pipe_or_a_dumb_terminal_gets_no_progress_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setitem(os.environ, "TERM", "dumb")
    assert _Progress().tty is False
    monkeypatch.setitem(os.environ, "TERM", "xterm-256color")
    assert _Progress().tty is True
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert _Progress().tty is False
