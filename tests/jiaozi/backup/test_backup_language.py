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
    # restoring over a database that is there: refused, and said so in the language (the
    # reason, archive.BackupError's, is English: left for later, see CHANGELOG)
    refused = runner.invoke(main, ["--lang", lang, "restore", "verifier", str(out)])
    assert refused.exit_code == 2
    assert refused.output.startswith("错误：" if lang == "zh" else "Error: "), refused.output
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
