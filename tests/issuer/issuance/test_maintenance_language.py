"""``jiaozi audit ...`` and ``jiaozi reissue`` speak one language (issue 15 point 3): Chinese
with ``--lang zh``, English with ``--lang en`` (``audit verify`` too, unless its own
``--lang`` says otherwise), in whole lines; the output scanned with the page scans' finders,
what is data (key ids, paths, hashes, a command to run) set aside."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from jiaozi.cli import main
from tests.factory.language import output_faults
from tests.factory.reissue import OFFICE, T_ISSUE_A, T_MARK, Office, reissue_env


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_audit_and_reissue_speak_the_chosen_language(
    lang: str, office: Office, database_url: str
) -> None:
    office.issue(60, T_ISSUE_A)
    kid = office.store.active_key(OFFICE, now=T_ISSUE_A).kid
    env = {**reissue_env(database_url, office.home), "JIAOZI_NOW": str(T_MARK)}
    runner = CliRunner()

    def run(*args: str, code: int = 0, data: tuple[str, ...] = ()) -> str:
        r = runner.invoke(main, ["--lang", lang, *args], env=env)
        assert r.exit_code == code, r.output
        faults = output_faults(r.output, lang, (kid, OFFICE, *data))
        assert faults == [], faults
        return r.output

    made = runner.invoke(main, ["--lang", lang, "audit", "checkpoint"], env=env)
    assert made.exit_code == 0, made.output
    digest = re.search(r"[0-9a-f]{64}", made.output)  # the chain's head hash: data
    assert digest is not None, made.output
    assert output_faults(made.output, lang, (kid, digest.group(0))) == [], made.output
    holds = run("audit", "verify")
    assert ("审计记录完好" in holds) if lang == "zh" else ("holds" in holds), holds
    other = "en" if lang == "zh" else "zh"
    own = runner.invoke(main, ["--lang", lang, "audit", "verify", "--lang", other], env=env)
    assert output_faults(own.output, other) == [], own.output  # its own --lang wins
    run("reissue", "--key", "nope-1", code=2, data=("'nope-1'", "nope-1", str(office.home)))
    said = run(
        "reissue",
        "--key",
        kid,
        code=2,
        data=(f"jiaozi keys compromise {kid} --at TIME",),
    )
    assert ("尚未标记为泄露" in said) if lang == "zh" else ("not marked compromised" in said)
