"""``jiaozi backup`` and ``jiaozi restore`` speak one language (issue 15 point 3): Chinese
with ``--lang zh``, English with ``--lang en``, the archive's time in Beijing time, whole
lines; the output scanned with the page scans' finders (paths are data)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from jiaozi.cli import main
from tests.factory.language import output_faults

PASS = "a passphrase for the tests only"
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
# what a refusal names as data: the options and the variable to set
OPTIONS = ("--force", "--passphrase-file", "JIAOZI_BACKUP_PASSPHRASE")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_verifier_backup_and_restore_speak_the_chosen_language(
    lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from verifier.db import documents, make_engine

    db = tmp_path / "verifier.db"
    jwks = tmp_path / "trust" / "root.jwks.json"
    jwks.parent.mkdir()
    jwks.write_text('{"keys": []}')
    url = f"sqlite:///{db}"
    monkeypatch.setenv("JIAOZI_DATABASE_URL", url)
    monkeypatch.setenv("JIAOZI_ROOT_JWKS", str(jwks))
    monkeypatch.setenv("JIAOZI_BACKUP_PASSPHRASE", PASS)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            documents.insert().values(
                kind="trust", key="", token="t.o.k", version=7, fetched_at=NOW, checked_at=NOW
            )
        )
    engine.dispose()
    runner = CliRunner()
    out = tmp_path / "vault" / "verifier.jzbk"
    made = runner.invoke(main, ["--lang", lang, "backup", "verifier", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert output_faults(made.output, lang) == [], made.output
    zone = r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d 北京时间" if lang == "zh" else "Beijing time"
    assert re.search(zone, made.output), made.output
    # restoring over a database that is there: refused, and said so in the language
    refused = runner.invoke(main, ["--lang", lang, "restore", "verifier", str(out)])
    assert refused.exit_code == 2
    assert refused.output.startswith("错误：" if lang == "zh" else "Error: "), refused.output
    assert output_faults(refused.output, lang, OPTIONS) == [], refused.output
    said = "目标数据库不为空" if lang == "zh" else "the target database is not empty"
    assert said in refused.output, refused.output
    # the common refusals of an archive: each in the language, with the path as data
    refusals = [
        ({"JIAOZI_BACKUP_PASSPHRASE": "not the passphrase"}, out, "备份口令不对", "wrong backup"),
        ({"JIAOZI_BACKUP_PASSPHRASE": None}, out, "没有备份口令", "no backup passphrase"),
    ]
    cut = tmp_path / "cut.jzbk"
    cut.write_bytes(out.read_bytes()[:-40])
    refusals.append(({}, cut, "归档不完整", "cut short"))
    changed = tmp_path / "changed.jzbk"
    data = bytearray(out.read_bytes())
    data[-20] ^= 1
    changed.write_bytes(bytes(data))
    refusals.append(({}, changed, "被改动过", "was changed"))
    for env, archive, zh, en in refusals:
        no = runner.invoke(main, ["--lang", lang, "restore", "verifier", str(archive)], env=env)
        assert no.exit_code == 2, no.output
        assert (zh if lang == "zh" else en) in no.output, no.output
        assert output_faults(no.output, lang, OPTIONS) == [], no.output
    db.unlink()
    jwks.unlink()
    restored = runner.invoke(main, ["--lang", lang, "restore", "verifier", str(out)])
    assert restored.exit_code == 0, restored.output
    assert output_faults(restored.output, lang) == [], restored.output
    assert re.search(zone, restored.output), restored.output


def test_an_issuer_restores_notes_exist_in_both_languages_one_for_one() -> None:
    """The notes of a restore are printed in the command's language: the Chinese list is
    the English one's translation, never shorter (a note only in English would be lost)."""
    import inspect

    from jiaozi.backup import services

    source = inspect.getsource(services)
    assert source.count("done.notes.append(") == source.count("done.notes_zh.append(")


def test_every_refusal_of_a_backup_or_an_archive_has_a_text_in_both_languages() -> None:
    """Each BackupError (jiaozi/backup) and each archive error (keys/_archive.py) is raised
    with a ``code`` whose text CLI_TEXT has: none is left to be said only in English."""
    import ast

    from credential import CLI_TEXT

    root = Path(__file__).resolve().parents[3]
    sources = {
        "backup": [*(root / "jiaozi" / "backup").glob("*.py")],
        "keys": [root / "keys" / "_archive.py"],
    }
    raised = 0
    for prefix, files in sources.items():
        for path in files:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                if not node.func.id.endswith(
                    ("BackupError", "ArchiveError", "TamperedError", "WrongPassphraseError")
                ):
                    continue
                codes = [k.value for k in node.keywords if k.arg == "code"]
                assert codes, f"{path.name}:{node.lineno} has no code"
                assert isinstance(codes[0], ast.Constant), f"{path.name}:{node.lineno}"
                assert f"{prefix}.error.{codes[0].value}" in CLI_TEXT, codes[0].value
                raised += 1
    assert raised >= 35, raised
