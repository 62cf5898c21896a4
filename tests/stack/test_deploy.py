"""deploy/: the nginx template renders into a configuration nginx accepts, every systemd
unit runs a command the jiaozi CLI has, and the docs and the package script name them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import click
import pytest

from jiaozi.cli import main as jiaozi_cli
from jiaozi.demo.services import DemoError
from jiaozi.stack.parts import make_tls, render_nginx
from jiaozi.stack.run import main as stack_main
from tests.stack.conftest import REPO, nginx_or_skip

DEPLOY = REPO / "deploy"


def _values(tmp: Path) -> dict[str, str | int | Path]:
    _ca, cert, key = make_tls(tmp / "tls")
    for sub in ("run", "logs", "temp", "public"):
        (tmp / sub).mkdir(exist_ok=True)
    return {
        "USER_LINE": "# test: the workers run as the caller",
        "RUN": tmp / "run",
        "LOGS": tmp / "logs",
        "TEMP": tmp / "temp",
        "TLS_CERT": cert,
        "TLS_KEY": key,
        "UPLOAD_LIMIT": "11m",
        "BATCH_LIMIT": "11m",
        "PUBLIC_ADDR": "127.0.0.1",
        "PUBLIC_PORT": 18443,
        "INTERNAL_ADDR": "127.0.0.1",
        "ISSUER_TLS_PORT": 19443,
        "REGISTRY_TLS_PORT": 19444,
        "SERVER_NAME": "127.0.0.1",
        "VERIFIER_PORT_1": 18201,
        "VERIFIER_PORT_2": 18202,
        "ISSUER_PORT": 18100,
        "REGISTRY_PORT": 18300,
        "PUBLIC_DIR": tmp / "public",
        "STATUS_MAX_AGE": 150,
    }


def test_nginx_template_renders_and_nginx_accepts_it(tmp_path: Path) -> None:
    nginx = nginx_or_skip()
    conf = render_nginx(_values(tmp_path))
    assert "@@" not in conf
    assert "proxy_next_upstream error timeout http_502 http_503 non_idempotent;" in conf
    assert "default_type application/statuslist+jwt;" in conf
    path = tmp_path / "nginx.conf"
    path.write_text(conf)
    out = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(path), "-e", str(tmp_path / "e.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr


def test_a_missing_placeholder_value_is_named(tmp_path: Path) -> None:
    values = _values(tmp_path)
    del values["VERIFIER_PORT_2"]
    with pytest.raises(DemoError, match="VERIFIER_PORT_2"):
        render_nginx(values)


def _exec_starts() -> dict[str, list[str]]:
    found = {}
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        line = re.search(r"^ExecStart=(.+)$", unit.read_text(), re.M)
        assert line is not None, unit
        found[unit.name] = line.group(1).split()
    return found


def test_every_systemd_unit_runs_a_real_jiaozi_command() -> None:
    units = _exec_starts()
    assert {"jiaozi-issuer.service", "jiaozi-registry.service", "jiaozi-verifier@.service",
            "jiaozi-publish.service"} <= set(units)  # fmt: skip
    ctx = click.Context(jiaozi_cli)
    for name, argv in units.items():
        if not argv[0].endswith("/jiaozi"):
            continue  # nginx
        group = jiaozi_cli.get_command(ctx, argv[1])
        assert isinstance(group, click.Group), (name, argv)
        command = group.get_command(ctx, argv[2])
        assert command is not None, (name, argv)
        options = {o for p in command.params for o in getattr(p, "opts", [])}
        assert {a for a in argv[3:] if a.startswith("--")} <= options, (name, argv)
    assert "--port %i" in " ".join(units["jiaozi-verifier@.service"])
    timer = (DEPLOY / "systemd" / "jiaozi-publish.timer").read_text()
    assert "OnUnitActiveSec=30s" in timer


def test_docs_and_package_script_name_the_deploy_files() -> None:
    doc = (REPO / "docs" / "deployment.md").read_text()
    for path in sorted([*(DEPLOY / "systemd").iterdir(), *(DEPLOY / "nginx").iterdir()]):
        assert path.name in doc, path
    assert "deploy/env/*.env.example" in doc
    script = (REPO / "scripts" / "system-packages.sh").read_text()
    assert re.search(r'^PACKAGES=".*\bnginx-light\b.*"$', script, re.M)
    makefile = (REPO / "Makefile").read_text()
    assert "--dist loadgroup" in makefile and "jiaozi.stack start" in makefile


def test_stack_commands_on_a_directory_with_no_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack_main(["status", "--dir", str(tmp_path)]) == 1
    assert "not started" in capsys.readouterr().out
    assert stack_main(["stop", "--dir", str(tmp_path)]) == 0
    assert "nothing was running" in capsys.readouterr().out


def test_a_second_stack_on_the_same_directory_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    (tmp_path / "stack.pid").write_text(f"{os.getppid()}\n")  # a live process, not us
    assert stack_main(["start", "--dir", str(tmp_path), "--exit"]) == 1
    assert f"another stack (pid {os.getppid()})" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stack.pid"]  # nothing started
