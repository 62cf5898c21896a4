"""``jiaozi verifier ...`` speaks one language (issue 15 point 3): Chinese with ``--lang zh``,
English with ``--lang en``, in whole lines; each command's output scanned with the page
scans' finders, what is data (paths, URLs, a command to run) set aside."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from jiaozi.cli import main
from tests.factory import applicants
from tests.factory.language import output_faults
from tests.factory.verifier import Harness, make_harness
from tests.verifier.test_cli import LOST, env_for

DATA = ("jiaozi verifier migrate",)


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[Harness]:
    gen = make_harness(f"sqlite:///{tmp_path / 'verifier.db'}", tmp_path)
    h = next(gen)
    h.issuer.restrict("r1", applicants()[5], category="lost", affected=(LOST,))
    h.verifier.syncer.run_once(extra_status=[h.world.status_uri])
    yield h
    gen.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_verifier_commands_speak_the_chosen_language(
    lang: str, synced: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()

    def run(args: list[str], env: dict[str, str], code: int = 0) -> str:
        r = runner.invoke(main, ["--lang", lang, *args], env=env)
        assert r.exit_code == code, r.output
        faults = output_faults(r.output, lang, DATA)
        assert faults == [], faults
        return r.output

    fresh = env_for(synced, database_url=f"sqlite:///{tmp_path / 'fresh.db'}")
    behind = run(["verifier", "migrate", "--check"], {**fresh, "JIAOZI_AUTO_MIGRATE": "false"}, 1)
    assert ("核验服务数据库" in behind) if lang == "zh" else ("verifier database" in behind)
    run(["verifier", "migrate"], fresh)
    run(["verifier", "migrate"], fresh)
    real_client = httpx.Client
    transport = httpx.MockTransport(synced.issuer.handler)
    monkeypatch.setattr(httpx, "Client", lambda **_kw: real_client(transport=transport))
    synced_out = run(["verifier", "sync", "--status-uri", synced.world.status_uri], fresh)
    assert ("信任列表：已更新" in synced_out) if lang == "zh" else ("trust: updated" in synced_out)
    bundle = tmp_path / "bundle.json"
    run(["verifier", "bundle", "export", str(bundle)], env_for(synced))
    offline = env_for(synced, database_url=f"sqlite:///{tmp_path / 'school.db'}")
    imported = run(["verifier", "bundle", "import", str(bundle)], offline)
    assert ("信任列表：已导入" in imported) if lang == "zh" else ("trust: imported" in imported)
    again = run(["verifier", "bundle", "import", str(bundle)], offline)
    assert (
        ("保留已有的相同或更新版本" in again) if lang == "zh" else ("kept newer or same" in again)
    )
