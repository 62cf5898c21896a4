"""``jiaozi issuer migrate``: says where the office's schema stands and upgrades it, as
``jiaozi verifier migrate`` and ``jiaozi registry migrate`` do theirs."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from issuer.cli.commands import issuer_group


def test_the_migrate_command_inspects_and_upgrades(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIAOZI_DATABASE_URL", f"sqlite:///{tmp_path / 'issuer.db'}")
    runner = CliRunner()
    behind = runner.invoke(issuer_group, ["migrate", "--check"])
    assert behind.exit_code == 1
    assert behind.output.startswith("issuer database at none, head 00")
    assert behind.output.endswith("(behind: run `jiaozi issuer migrate`)\n")
    head = behind.output.split("head ")[1].split()[0]
    done = runner.invoke(issuer_group, ["migrate"])
    assert (done.exit_code, done.output) == (0, f"issuer database upgraded from none to {head}\n")
    again = runner.invoke(issuer_group, ["migrate"])
    assert (again.exit_code, again.output) == (0, f"issuer database already at {head}\n")
    current = runner.invoke(issuer_group, ["migrate", "--check"])
    assert (current.exit_code, current.output) == (
        0,
        f"issuer database at {head}, head {head} (current)\n",
    )
