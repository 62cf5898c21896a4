"""The verifier's commands: one sync round, offline bundles (export,
import, and `jiaozi verify --bundle`), `jiaozi verify --online` against a live server, and
`jiaozi verifier serve`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from click.testing import CliRunner

from credential import StatusValue, b64url_decode, qr_url
from tests.factory import ISSUER_URL, REPO, T0, VERIFIER_URL, applicants
from tests.factory.verifier import (
    FEED_KEY,
    TRUST_URL,
    Harness,
    make_harness,
    pdf,
)
from verifier import db
from verifier.commands import verifier_group

# The certificate of applicant 5 the restricted-list entry names (verifiers match numbers).
LOST = "20261100110000051"


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[Harness]:
    gen = make_harness(f"sqlite:///{tmp_path / 'verifier.db'}", tmp_path)
    h = next(gen)
    h.issuer.restrict("r1", applicants()[5], category="lost", affected=(LOST,))
    h.verifier.syncer.run_once(extra_status=[h.world.status_uri])
    yield h
    gen.close()


def env_for(h: Harness, database_url: str | None = None) -> dict[str, str]:
    return {
        "JIAOZI_DATABASE_URL": database_url or h.settings.database_url,
        "JIAOZI_ROOT_JWKS": str(h.settings.root_jwks),
        "JIAOZI_PUBLIC_URL": VERIFIER_URL,
        "JIAOZI_TRUST_LIST_URL": TRUST_URL,
        "JIAOZI_ISSUERS": json.dumps([{"base_url": ISSUER_URL, "api_key": FEED_KEY}]),
        "JIAOZI_NOW": str(T0),
    }


def run_cli(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(verifier_group, args, env=env, catch_exceptions=False)


def jiaozi(tmp: Path, *args: str, extra_env: dict[str, str] | None = None):
    env = {**os.environ, "JIAOZI_HOME": str(tmp), "JIAOZI_NOW": str(T0), "PYTHONPATH": str(REPO)}
    env["JIAOZI_LANG"] = "zh"  # Chinese whatever the locale, unless a test says --lang en
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "jiaozi", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=120,
    )


def test_sync_command_runs_one_round(
    synced: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = f"sqlite:///{tmp_path / 'other.db'}"
    real_client = httpx.Client
    transport = httpx.MockTransport(synced.issuer.handler)
    monkeypatch.setattr(httpx, "Client", lambda **_kw: real_client(transport=transport))
    out = run_cli(
        ["sync", "--status-uri", synced.world.status_uri], env_for(synced, database_url=fresh)
    )
    assert out.exit_code == 0, out.output
    assert (
        "trust: updated" in out.output and "restrictions " + ISSUER_URL + ": updated" in out.output
    )
    synced.issuer.down = True
    out = run_cli(["sync"], env_for(synced, database_url=fresh))
    assert out.exit_code == 1 and "trust: failed" in out.output


# --- bundles -------------------------------------------------------------------------------


def export(h: Harness, tmp: Path, name: str = "bundle.json") -> Path:
    path = tmp / name
    out = run_cli(["bundle", "export", str(path)], env_for(h))
    assert out.exit_code == 0, out.output
    return path


def test_bundle_carries_the_original_signed_documents(synced: Harness, tmp_path: Path) -> None:
    path = export(synced, tmp_path)
    doc = json.loads(path.read_text())
    assert doc["format"] == "jiaozi-verifier-bundle/1"
    assert doc["trust_list"]["token"] == synced.issuer.trust_token
    assert doc["status_lists"][0]["uri"] == synced.world.status_uri
    assert doc["status_lists"][0]["token"].count(".") == 2
    # the snapshot, then the (empty) page of changes that confirmed it as of its iat
    assert len(doc["restrictions"][0]["documents"]) == 2
    first, last = (
        json.loads(b64url_decode(t.split(".")[1])) for t in doc["restrictions"][0]["documents"]
    )
    assert len(first["entries"]) == 1 and last["changes"] == [] and last["after"] == 1
    assert doc["trust_list"]["fetched_at"] == "2026-11-29T08:00:00Z"


def test_bundle_import_into_a_verifier_without_network(synced: Harness, tmp_path: Path) -> None:
    path = export(synced, tmp_path)
    offline_db = f"sqlite:///{tmp_path / 'school.db'}"
    out = run_cli(["bundle", "import", str(path)], env_for(synced, database_url=offline_db))
    assert out.exit_code == 0, out.output
    assert "trust: imported" in out.output and "restrictions" in out.output
    # a verifier on that database, its issuer unreachable, judges from the bundle
    gen = make_harness(offline_db, tmp_path, world=synced.world)
    school = next(gen)
    try:
        school.issuer.down = True
        issued = synced.world.issue(idx=201)
        assert school.verify(qr=issued.qr_token)["verdict"] == "valid"
        lost = synced.world.issue(
            synced.world.certificate(applicants()[5], certificate_number=LOST), idx=202
        )
        body = school.verify(credential=lost.credential)
        assert (body["verdict"], body["reason"]) == ("not_valid", "lost")
        # importing the same bundle again changes nothing (never backwards)
        out = run_cli(["bundle", "import", str(path)], env_for(synced, database_url=offline_db))
        assert "kept newer or same" in out.output
    finally:
        gen.close()


def test_a_tampered_bundle_is_refused_whole(synced: Harness, tmp_path: Path) -> None:
    path = export(synced, tmp_path)
    doc = json.loads(path.read_text())
    synced.world.status.set(7, StatusValue.INVALID)
    other = synced.world.status_token(iat=T0 - 5)  # right shape, different content
    head, _payload, sig = doc["status_lists"][0]["token"].split(".")
    doc["status_lists"][0]["token"] = f"{head}.{other.split('.')[1]}.{sig}"
    path.write_text(json.dumps(doc))
    offline_db = f"sqlite:///{tmp_path / 'school.db'}"
    out = run_cli(["bundle", "import", str(path)], env_for(synced, database_url=offline_db))
    assert out.exit_code == 1 and "does not verify" in out.output
    engine = db.make_engine(offline_db)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.documents)).scalar() == 0
    engine.dispose()


def test_verify_with_a_bundle_offline(synced: Harness, tmp_path: Path) -> None:
    path = export(synced, tmp_path)
    root = str(synced.settings.root_jwks)
    valid = synced.world.issue(idx=211)
    out = jiaozi(
        tmp_path,
        "verify",
        qr_url(VERIFIER_URL, valid.qr_token),
        "--bundle",
        str(path),
        "--root",
        root,
        "--origin",
        VERIFIER_URL,
        "--lang",
        "zh",
    )
    assert out.returncode == 0, out.stderr
    # 07:59:55 UTC, shown in Beijing time as the web pages show it
    assert (
        "结论：有效" in out.stdout and "状态数据时间：2026年11月29日 15:59 北京时间" in out.stdout
    )
    lost = synced.world.issue(
        synced.world.certificate(applicants()[5], certificate_number=LOST), idx=212
    )
    cred = tmp_path / "lost.vc.jwt"
    cred.write_text(lost.credential)
    out = jiaozi(
        tmp_path,
        "verify",
        str(cred),
        "--bundle",
        str(path),
        "--root",
        root,
        "--json",
    )
    assert out.returncode == 1, out.stderr
    assert json.loads(out.stdout)["reason"] == "lost"
    # days later, still offline: the status data is too old to say
    out = jiaozi(
        tmp_path,
        "verify",
        valid.qr_token,
        "--bundle",
        str(path),
        "--root",
        root,
        "--now",
        str(T0 + 3 * 86400),
    )
    assert out.returncode == 2 and "无法确定" in out.stdout
    # a bundle that does not verify against the pinned root is a usage error
    doc = json.loads(path.read_text())
    doc["trust_list"]["token"] = doc["trust_list"]["token"][:-6] + "AAAAAA"
    path.write_text(json.dumps(doc))
    out = jiaozi(tmp_path, "verify", valid.qr_token, "--bundle", str(path), "--root", root)
    assert out.returncode == 64 and "trust list" in out.stderr


# --- --online against a live server ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(synced: Harness) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(synced.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_verify_online(synced: Harness, live: str, tmp_path: Path) -> None:
    valid = synced.world.issue(idx=221)
    out = jiaozi(
        tmp_path, "verify", qr_url(VERIFIER_URL, valid.qr_token), "--online", live, "--lang", "zh"
    )
    assert out.returncode == 0, out.stderr
    assert "结论：有效" in out.stdout and "✓ 签名" in out.stdout
    out = jiaozi(tmp_path, "verify", valid.qr_token, "--online", live, "--lang", "en", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["checks"][0]["detail"] == "well-formed"
    file = tmp_path / "cert.pdf"
    file.write_bytes(pdf(qr_url(VERIFIER_URL, valid.qr_token), valid.credential))
    out = jiaozi(tmp_path, "verify", str(file), "--online", live)
    assert out.returncode == 0, out.stderr
    forged = valid.qr_token[:-4] + ("AAAA" if not valid.qr_token.endswith("AAAA") else "BBBB")
    out = jiaozi(tmp_path, "verify", forged, "--online", live, "--lang", "en")
    assert out.returncode == 1 and "Verdict: NOT VALID" in out.stdout
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (50, 50), 255).save(blank)
    out = jiaozi(tmp_path, "verify", str(blank), "--online", live)
    assert out.returncode == 64 and "422" in out.stderr
    out = jiaozi(tmp_path, "verify", valid.qr_token, "--online", f"http://127.0.0.1:{_free_port()}")
    assert out.returncode == 2 and "无法连接核验服务" in out.stderr  # JIAOZI_LANG=zh


def test_serve_starts_the_service(synced: Harness, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, **env_for(synced), "PYTHONPATH": str(REPO), "JIAOZI_SYNC_INTERVAL": "0"}
    env.pop("JIAOZI_NOW")
    code = "from verifier.commands import verifier_group; verifier_group()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert r.json() == {"status": "ok"}
        token = synced.world.issue(idx=231).qr_token
        r = httpx.post(f"http://127.0.0.1:{port}/api/v1/verify", json={"qr": token})
        assert r.status_code == 200 and r.json()["certificate"]["certificate_number"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_jiaozi_has_the_verifier_group_without_loading_the_web_stack(tmp_path: Path) -> None:
    out = jiaozi(tmp_path, "verifier", "--help")
    assert out.returncode == 0, out.stderr
    for name in ("serve", "sync", "bundle"):
        assert name in out.stdout
    code = (
        "import sys, jiaozi.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'fastapi', 'sqlalchemy', 'httpx', 'uvicorn', 'pydantic', 'zxingcpp', 'pypdf'}))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"


def test_bundle_replays_snapshot_then_changes(synced: Harness, tmp_path: Path) -> None:
    from verifier.bundle import read_bundle

    h = synced
    for i, when in ((20, 30), (21, 30)):
        h.issuer.restrict(
            f"r{i}", applicants()[i], category="revoked", affected=(f"2020110011000{i:04d}",)
        )
        h.clock.advance(when)
        h.verifier.syncer.run_once()
    h.issuer.unrestrict("r1")
    h.clock.advance(30)
    h.verifier.syncer.run_once()
    h.clock.advance(30)
    h.verifier.syncer.run_once()  # nothing new: only confirms the data as of now
    path = export(h, tmp_path)
    b = read_bundle(path.read_bytes(), [h.world.root.public_key()])
    assert set(b.index.by_number) == {"20201100110000020", "20201100110000021"}
    assert b.restrictions_as_of is not None
    assert int(b.restrictions_as_of.timestamp()) == int(h.clock().timestamp()) - 5


def test_importing_an_older_bundle_is_refused(synced: Harness, tmp_path: Path) -> None:
    from credential import TrustList, sign_trust_list

    old = export(synced, tmp_path, "old.json")
    w = synced.world
    synced.issuer.trust_token = sign_trust_list(
        TrustList(sequence=2, issued_at=T0 - 100, offices=(w.office,)), w.root
    )
    synced.verifier.syncer.sync_trust()
    assert synced.verifier.store.current().trust.sequence == 2
    out = run_cli(["bundle", "import", str(old)], env_for(synced))
    assert out.exit_code == 1 and "rollback" in out.output
    assert synced.verifier.store.refresh(force=True).trust.sequence == 2
