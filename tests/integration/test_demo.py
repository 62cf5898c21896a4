"""`make demo` does what the README promises: issue, verify, revoke, show the change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.factory import REPO


def test_demo_issues_verifies_and_revokes(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("JIAOZI_KEY_PASSPHRASE", None)
    out = subprocess.run(
        [sys.executable, "-m", "jiaozi.demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("→ 有效 (valid)") == 5
    assert "结论：无效" in out.stdout and "✗ 证书状态" in out.stdout
    demo = tmp_path / "var" / "demo"
    certs = sorted((demo / "certificates").glob("*.vc.jwt"))
    assert len(certs) == 5
    doc = json.loads(certs[0].with_suffix("").with_suffix(".json").read_text())
    assert doc["jws"] == certs[0].read_text().strip()
    assert doc["credential"]["type"] == ["VerifiableCredential", "TeacherQualificationCredential"]
    # private keys are encrypted at rest, never plain
    pems = list((demo / "keys").rglob("*.pem"))
    assert pems and all(
        p.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----") for p in pems
    )

    # the revoked certificate, verified by the real CLI from the files the demo left
    revoked = out.stdout.split("撤销 ")[1].split("（")[0]
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "jiaozi",
            "verify",
            (demo / "certificates" / f"{revoked}.qr.txt").read_text().strip(),
            "--status",
            str(demo / "status" / "1.jwt"),
            "--json",
        ],
        cwd=tmp_path,
        env={**env, "JIAOZI_HOME": str(demo)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 1, cli.stderr
    assert json.loads(cli.stdout)["reason"] == "revoked"
