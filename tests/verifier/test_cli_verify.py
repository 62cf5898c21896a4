"""`jiaozi verify` as a person runs it: real process, files on disk, exit codes that scripts use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from credential import qr_url
from tests.factory import REPO, T0, World

VERIFIER = "http://127.0.0.1:8200"


@pytest.fixture
def world_files(tmp_path: Path) -> tuple[World, Path]:
    world = World()
    (tmp_path / "trust").mkdir()
    (tmp_path / "trust" / "trust-list.jwt").write_text(world.trust_token())
    (tmp_path / "trust" / "root.jwks.json").write_text(
        json.dumps({"keys": [world.root.public_key().to_jwk()]})
    )
    return world, tmp_path


def run(
    tmp: Path, *args: str, now: int = T0, locale: str = "C.UTF-8", before: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``jiaozi [before] verify args`` in ``locale`` (LANG; no LC_ALL, LC_MESSAGES or
    JIAOZI_LANG from the caller's environment)."""
    env = {**os.environ, "JIAOZI_HOME": str(tmp), "JIAOZI_NOW": str(now), "PYTHONPATH": str(REPO)}
    for name in ("LC_ALL", "LC_MESSAGES", "JIAOZI_LANG"):
        env.pop(name, None)
    env["LANG"] = locale
    return subprocess.run(
        [sys.executable, "-m", "jiaozi", *before, "verify", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=60,
    )


def write_status(world: World, tmp: Path) -> str:
    path = tmp / "status.jwt"
    path.write_text(world.status_token())
    return str(path)


def test_valid_qr_url_in_chinese_exit_0(world_files: tuple[World, Path]) -> None:
    world, tmp = world_files
    url = qr_url(VERIFIER, world.issue().qr_token)
    out = run(tmp, url, "--status", write_status(world, tmp), "--lang", "zh")
    assert out.returncode == 0, out.stderr
    assert "结论：有效" in out.stdout
    assert "证书号码" in out.stdout and "***********" in out.stdout


def test_language_follows_the_locale_and_the_global_option(
    world_files: tuple[World, Path],
) -> None:
    world, tmp = world_files
    url = qr_url(VERIFIER, world.issue().qr_token)
    status = write_status(world, tmp)
    chinese = run(tmp, url, "--status", status, locale="zh_CN.UTF-8")
    assert chinese.returncode == 0, chinese.stderr
    assert "结论：有效" in chinese.stdout and "Verdict" not in chinese.stdout
    assert "北京时间" in chinese.stdout and "Z" not in chinese.stdout.split("状态数据时间")[-1]
    english = run(tmp, url, "--status", status, locale="C")
    assert english.returncode == 0, english.stderr
    assert "Verdict: VALID" in english.stdout and "结论" not in english.stdout
    assert "Status data as of" in english.stdout and "Beijing time (" in english.stdout
    chosen = run(tmp, url, "--status", status, locale="C", before=("--lang", "zh"))
    assert chosen.returncode == 0, chosen.stderr
    assert "结论：有效" in chosen.stdout and "Verdict" not in chosen.stdout


def test_revoked_exit_1_in_english(world_files: tuple[World, Path]) -> None:
    world, tmp = world_files
    token = world.issue(idx=99).qr_token
    world.status.set(99, 1)
    out = run(tmp, token, "--status", write_status(world, tmp), "--lang", "en")
    assert out.returncode == 1
    assert "Verdict: NOT VALID" in out.stdout and "revoked" in out.stdout


def test_no_status_data_is_cannot_determine_exit_2_json(world_files: tuple[World, Path]) -> None:
    world, tmp = world_files
    out = run(tmp, world.issue().qr_token, "--json")
    assert out.returncode == 2
    body = json.loads(out.stdout)
    assert body["verdict"] == "cannot_determine" and body["reason"] == "status_unavailable"
    assert body["certificate"]["id_number_masked"].count("*") == 11


def test_credential_json_file_is_accepted(world_files: tuple[World, Path]) -> None:
    world, tmp = world_files
    tokens = world.issue()
    path = tmp / "20261100130000001.json"
    path.write_text(json.dumps({"jws": tokens.credential}))
    out = run(tmp, str(path), "--status", write_status(world, tmp), "--json")
    assert out.returncode == 0, out.stdout
    assert json.loads(out.stdout)["verdict"] == "valid"


def test_forgery_is_not_valid_exit_1(world_files: tuple[World, Path]) -> None:
    world, tmp = world_files
    h, p, s = world.issue().qr_token.split(".")
    flipped = s[:10] + ("B" if s[10] != "B" else "C") + s[11:]  # always a different byte
    out = run(tmp, f"{h}.{p}.{flipped}", "--status", write_status(world, tmp), "--json")
    assert out.returncode == 1
    assert json.loads(out.stdout)["reason"] == "bad_signature"


@pytest.mark.parametrize(
    "args",
    [
        ["--no-such-option", "x"],
        [],
        ["x", "--trust", "/nonexistent/trust.jwt"],
        ["x", "--lang", "fr"],
    ],
    ids=["unknown-option", "missing-argument", "missing-trust-file", "bad-lang"],
)
def test_usage_errors_exit_64(world_files: tuple[World, Path], args: list[str]) -> None:
    _, tmp = world_files
    out = run(tmp, *args)
    assert out.returncode == 64, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr


def test_trust_list_not_signed_by_pinned_root_is_a_usage_error(
    world_files: tuple[World, Path],
) -> None:
    world, tmp = world_files
    (tmp / "trust" / "trust-list.jwt").write_text(World().trust_token())  # signed by another root
    out = run(tmp, world.issue().qr_token)
    assert out.returncode == 64
    assert "pinned root" in out.stderr
