"""``jiaozi registry ...`` and ``jiaozi feed ...`` speak one language (issue 15 point 3):
Chinese with ``--lang zh``, English with ``--lang en``, times in Beijing time, whole lines.

Each command's output is scanned with the page scans' finders; what is data (names, paths,
URLs, a command to run, a key's prefix, what another program said) is set aside."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from jiaozi.cli import main
from tests.factory.language import output_faults

COMMANDS = ("jiaozi registry migrate",)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_registry_commands_speak_the_chosen_language(
    lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIAOZI_ENV", "development")
    monkeypatch.setenv("JIAOZI_REGISTRY_DATABASE_URL", f"sqlite:///{tmp_path / 'registry.db'}")
    runner = CliRunner()

    def run(*args: str, code: int = 0, data: tuple[str, ...] = ()) -> str:
        r = runner.invoke(main, ["--lang", lang, *args])
        assert r.exit_code == code, r.output
        faults = output_faults(r.output, lang, (*COMMANDS, *data))
        assert faults == [], faults
        return r.output

    behind = run("registry", "migrate", "--check", code=1)
    assert ("落后" in behind) if lang == "zh" else ("behind" in behind), behind
    run("registry", "migrate")
    run("registry", "migrate")
    run("registry", "migrate", "--check")
    made_client = runner.invoke(main, ["--lang", lang, "registry", "feed-client", "mis-one"])
    assert re.fullmatch(r"jzf_[A-Za-z0-9_-]+\n", made_client.output), made_client.output
    key = made_client.output.strip()  # the key alone: nothing to say around it
    said = run("registry", "feed-client", "mis-one", "--disable", data=("mis-one",))
    assert ("已停用" in said) if lang == "zh" else ("disabled" in said), said
    run("registry", "feed-client", "mis-one", "--disable", code=1, data=("mis-one",))
    run("registry", "feed-client", "mis-one", code=1, data=("mis-one",))  # exists
    made = runner.invoke(
        main, ["--lang", lang, "registry", "accounts", "create-school", "第二中学"]
    )
    account_key = re.search(r"jzr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", made.output)
    assert made.exit_code == 0 and account_key is not None, made.output
    faults = output_faults(made.output, lang, ("第二中学", account_key.group(0)))
    assert faults == [], faults
    listed = run(
        "registry", "accounts", "list", data=("第二中学", account_key.group(0)[:16] + "_…")
    )
    zone = "北京时间" if lang == "zh" else "Beijing time"
    assert zone in listed and listed.count("\n") == 1, listed
    run("registry", "accounts", "deactivate", "1", data=("第二中学",))
    none = run("registry", "accounts", "list", "--active-only")
    assert none == ("没有账户\n" if lang == "zh" else "no accounts\n")
    # what the network library says is data; the sentence around it is in the language
    into = f"sqlite:///{tmp_path / 'mis.db'}"
    follow = ["feed", "follow", "--registry", "http://127.0.0.1:9", "--key", key, "--into", into]
    refused = runner.invoke(main, ["--lang", lang, *follow, "--until-idle"])
    assert refused.exit_code == 1, refused.output
    head = "错误：登记中心的应答：" if lang == "zh" else "Error: the registry answered: "
    assert refused.output.startswith(head) and refused.output.endswith("\n"), refused.output


def test_a_registry_restored_is_said_in_the_chosen_language() -> None:
    from credential import cli_text

    said = {
        lang: cli_text("feed.restored", lang, start=7, to=20, first=8, after=12)
        for lang in ("zh", "en")
    }
    assert output_faults(said["zh"] + "\n", "zh") == []
    assert output_faults(said["en"] + "\n", "en") == []
    assert "从事件 7 起继续跟随" in said["zh"] and "following from 7" in said["en"]
