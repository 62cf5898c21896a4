"""`make demo` does what the README promises: the real issuer and verifier on SQLite,
sample certificates issued through the API with their signed PDFs, verified, one revoked
and seen as revoked by the verifier; services stopped on ``--exit`` or on Ctrl-C.

Each run is in its own temporary working directory (never the developer's ``var/demo``)
on free ports. Every wait is bounded; nothing asserts how long anything took.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from credential import VerifyPolicy, load_status_list, verify
from jiaozi.demo_services import DemoError, Service, choose_port, clean_env, port_is_free
from keys import current_trust_list
from tests.factory import REPO
from verifier.extract import extract

DEMO = [sys.executable, "-m", "jiaozi.demo", "--issuer-port", "0", "--verifier-port", "0"]


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIAOZI_")}
    env["PYTHONPATH"] = str(REPO)
    return env


def port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_demo_issues_prints_verifies_and_revokes(tmp_path: Path) -> None:
    out = subprocess.run(
        [*DEMO, "--exit"],
        cwd=tmp_path,
        env=demo_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("QR → 有效 (valid)") == 5, out.stdout
    assert "PDF 上传 / uploaded → 有效 (valid)" in out.stdout
    assert "结论：无效" in out.stdout and "✗ 证书状态" in out.stdout
    demo = tmp_path / "var" / "demo"
    summary: dict[str, Any] = json.loads((demo / "demo.json").read_text())
    assert f"{summary['verifier_url']}/v#" in out.stdout
    assert f"{summary['issuer_url']}/docs" in out.stdout

    # both services were stopped, and the demo's pid file is gone
    assert port_is_free(port(summary["issuer_url"]))
    assert port_is_free(port(summary["verifier_url"]))
    assert not (demo / "demo.pid").exists()
    # the key ceremony's root home is apart: the office's home holds no root private key
    assert list((tmp_path / "var" / "demo-root" / "keys" / "root").glob("*.pem"))
    assert not (demo / "keys" / "root").exists()
    assert (demo / "logs" / "issuer.log").read_text().strip()
    assert "Application shutdown complete" in (demo / "logs" / "verifier.log").read_text()

    certs = summary["certificates"]
    assert len(certs) == 5
    names = [c["name"] for c in certs]
    assert any(not _gb2312(n) for n in names), names  # one rare-character name
    revoked = summary["revoked"]
    assert {c["certificate_number"]: c["verdict"] for c in certs} == {
        c["certificate_number"]: "not_valid" if c["certificate_number"] == revoked else "valid"
        for c in certs
    }

    # Each PDF carries its credential and a QR that decodes; judged here, offline, from the
    # trust list and the status list the demo left, the revoked one is not valid.
    trust = current_trust_list(demo)
    status = load_status_list((demo / summary["status_list"]).read_text().strip(), trust)
    policy = VerifyPolicy(verifier_origin=summary["verifier_url"])
    now = dt.datetime.now(dt.UTC)
    for cert in certs:
        number = cert["certificate_number"]
        pdf = demo / "pdf" / f"{number}.pdf"
        assert pdf.name == Path(cert["pdf"]).name
        found = extract(pdf.read_bytes())
        assert found.kind == "pdf"
        assert found.credential == (demo / "certificates" / f"{number}.vc.jwt").read_text().strip()
        assert found.qr == cert["qr_url"]
        result = verify(
            found.qr,
            credential=found.credential,
            trust=trust,
            status={summary["status_list_uri"]: status},
            now=now,
            policy=policy,
        )
        want = ("not_valid", "revoked") if number == revoked else ("valid", None)
        assert (result.verdict.value, result.reason and result.reason.value) == want, number

    doc = json.loads((demo / "certificates" / f"{revoked}.json").read_text())
    assert doc["credential"]["type"] == ["VerifiableCredential", "TeacherQualificationCredential"]
    # private keys are encrypted at rest; the generated secrets are the owner's alone
    pems = list((demo / "keys").rglob("*.pem"))
    assert pems and all(
        p.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----") for p in pems
    )
    for secret in ("DEMO-PASSPHRASE.txt", "ADMIN-API-KEY.txt"):
        assert (demo / secret).stat().st_mode & 0o777 == 0o600, secret


def test_demo_serves_until_ctrl_c(tmp_path: Path) -> None:
    log = tmp_path / "demo.out"
    with log.open("w") as out:
        proc = subprocess.Popen(
            DEMO,
            cwd=tmp_path,
            env=demo_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 300
        while "press Ctrl-C" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            if time.monotonic() > deadline:
                pytest.fail(f"the demo did not get to serving:\n{log.read_text()}")
            time.sleep(0.2)
        summary = json.loads((tmp_path / "var" / "demo" / "demo.json").read_text())
        page = httpx.get(summary["verifier_url"] + "/", timeout=10)
        assert page.status_code == 200
        docs = httpx.get(summary["issuer_url"] + "/openapi.json", timeout=10)
        assert docs.status_code == 200

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, log.read_text()
        assert "已停止 / stopped." in log.read_text()
        for url in (summary["issuer_url"], summary["verifier_url"]):
            with pytest.raises(httpx.TransportError):
                httpx.get(url + "/", timeout=2)
    finally:
        if proc.poll() is None:
            proc.terminate()  # the demo stops its services on SIGTERM too
            proc.wait(timeout=60)


def test_a_taken_port_is_named_and_replaced(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        chosen = choose_port(taken, "issuer", taken=set())
    assert chosen != taken
    assert f"port {taken} on 127.0.0.1 is taken" in capsys.readouterr().out


def test_a_service_that_fails_to_start_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "issuer.log"
    service = Service.start(
        "issuer",
        ["issuer", "serve", "--port", "0"],  # a usage error: exits at once
        url="http://127.0.0.1:9",
        env={**clean_env(), "PYTHONPATH": str(REPO)},
        log=log,
    )
    try:
        with pytest.raises(DemoError) as caught:
            service.wait_ready("/", timeout=120)
    finally:
        service.stop()
    message = str(caught.value)
    assert "the issuer exited (code 64) while starting" in message
    assert str(log) in message and "--port" in message


def _gb2312(name: str) -> bool:
    try:
        name.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True
