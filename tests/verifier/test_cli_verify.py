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


def run(tmp: Path, *args: str, now: int = T0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JIAOZI_HOME": str(tmp), "JIAOZI_NOW": str(now), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "jiaozi", "verify", *args],
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
    out = run(tmp, url, "--status", write_status(world, tmp))
    assert out.returncode == 0, out.stderr
    assert "结论：有效" in out.stdout
    assert "证书号码" in out.stdout and "***********" in out.stdout


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
