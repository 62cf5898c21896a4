"""``jiaozi issuer publish`` and ``jiaozi issuer export-public DIR`` as real processes: the
directory, served by a plain static file server (Python's ``http.server``), is all a
verifier needs to sync and to tell a valid certificate from a revoked one."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from issuer import issuance
from issuer.cli.commands import write_atomically
from issuer.db import write
from issuer.db.engine import make_engine, upgrade
from issuer.issuance import CertificateCreate, issue_certificate
from issuer.lifecycle.transitions import change_status, lock_certificate, publish
from issuer.settings import IssuerSettings
from keys import root_keys
from tests.factory import logscan
from tests.factory.issuer import application
from tests.factory.keys import make_store
from tests.factory.verifier import Clock, settings_for
from verifier.app import create_app as create_verifier
from verifier.settings import IssuerSource

PASSPHRASE = "export test passphrase 教资"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_server(directory: Path) -> Iterator[str]:
    """Serve ``directory`` with Python's plain static file server; yield its base URL."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def jiaozi(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "jiaozi", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    logscan.keep_text("-".join(args[:2]), done.stderr)  # for the session's log scan
    return done


@contextmanager
def public_only_server(env: dict[str, str], cwd: Path) -> Iterator[str]:
    """Run ``jiaozi issuer serve --public-only`` on a free port; yield its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (cwd / "public-only.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jiaozi", "issuer", "serve", "--public-only", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (cwd / "public-only.log").read_text()
            assert time.monotonic() < deadline, "serve --public-only did not start"
            try:
                httpx.get(f"{base}/trust-list.jwt", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
        logscan.keep(cwd / "public-only.log")  # the server's lines, for the session's scan


def test_exported_directory_on_a_static_server_is_enough_for_a_verifier(
    database_url: str, tmp_path: Path
) -> None:
    home, out = tmp_path / "home", tmp_path / "public"
    out.mkdir()
    settings0 = IssuerSettings(env="development")
    store = make_store(
        home,
        now=int(time.time()) - 120,
        passphrase=PASSPHRASE.encode(),
        office_id=settings0.office_id,
        name=settings0.office_name,
    )
    with static_server(out) as base:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JIAOZI_")}
        env |= {
            "JIAOZI_ENV": "development",
            "JIAOZI_HOME": str(home),
            "JIAOZI_KEY_PASSPHRASE": PASSPHRASE,
            "JIAOZI_DATABASE_URL": database_url,
            "JIAOZI_PUBLIC_URL": base,
        }
        settings = IssuerSettings(env="development", database_url=database_url, public_url=base)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        key = store.active_signer(settings.office_id, now=int(now.timestamp()))
        engine = make_engine(database_url)
        upgrade(engine)
        try:
            with Session(engine) as session:
                good, bad = (
                    issue_certificate(
                        session,
                        request=CertificateCreate(**application(i)),
                        signer=key,
                        settings=settings,
                        actor="officer:test",
                        now=now,
                    )
                    for i in (1, 2)
                )
                with write(session):
                    cert = lock_certificate(session, bad.certificate_number, settings.office_id)
                    list_id = change_status(
                        session,
                        cert,
                        change="revoke",
                        reason_code="misconduct",
                        actor="officer:test",
                        detail={},
                        now=now,
                    )
                publish(session, [list_id], signer=key, settings=settings, now=now)
                stored = issuance.stored_status_list(session, list_id=list_id, settings=settings)
        finally:
            engine.dispose()

        published = jiaozi("issuer", "publish", env=env, cwd=tmp_path)
        assert published.returncode == 0, published.stderr
        assert "jwks.json" in published.stdout and "trust-list.jwt" in published.stdout
        # The export opens no key store: no passphrase, no JIAOZI_HOME.
        bare = {k: v for k, v in env.items() if k not in ("JIAOZI_HOME", "JIAOZI_KEY_PASSPHRASE")}
        exported = jiaozi("issuer", "export-public", str(out), env=bare, cwd=tmp_path)
        assert exported.returncode == 0, exported.stderr
        assert (out / "statuslists" / str(list_id)).read_text() == stored.token
        assert json.loads((out / ".well-known" / "jwks.json").read_text())["keys"]
        assert (out / "trust-list.jwt").is_file()
        assert [p.name for p in out.rglob("*.tmp")] == []
        again = jiaozi("issuer", "export-public", str(out), env=bare, cwd=tmp_path)
        assert "0 written" in again.stdout  # unchanged files keep their bytes and mtimes

        # `serve --public-only` from the same database, with no key store either, serves
        # the same bytes.
        with public_only_server(bare, tmp_path) as served:
            for path in (f"statuslists/{list_id}", ".well-known/jwks.json", "trust-list.jwt"):
                got = httpx.get(f"{served}/{path}", timeout=5)
                assert (got.status_code, got.content) == (200, (out / path).read_bytes())

        root = tmp_path / "root.jwks.json"
        root.write_text(json.dumps({"keys": [k.to_jwk() for k in root_keys(home)]}))
        vsettings = settings_for(
            f"sqlite:///{tmp_path / 'v.db'}",
            root,
            trust_list_url=f"{base}/trust-list.jwt",
            issuers=(IssuerSource(base_url=base),),
        )
        http = httpx.Client()
        app = create_verifier(
            vsettings, http=http, clock=Clock(dt.datetime.now(dt.UTC)), background_sync=False
        )
        try:
            with TestClient(app) as client:
                report = app.state.verifier.syncer.run_once(extra_status=[good.status_list.uri])
                outcomes = {o.what: o.outcome for o in report.outcomes}
                assert outcomes["trust"] == "updated", report.outcomes
                answers = [
                    client.post("/api/v1/verify", json={"credential": c.credential}).json()
                    for c in (good, bad)
                ]
        finally:
            http.close()
    assert [a["verdict"] for a in answers] == ["valid", "not_valid"], answers


def test_write_atomically_replaces_whole_and_leaves_same_bytes_alone(tmp_path: Path) -> None:
    target = tmp_path / "a" / "statuslists" / "1"
    assert write_atomically(target, b"one") is True
    first = target.stat().st_mtime_ns
    assert write_atomically(target, b"one") is False
    assert target.stat().st_mtime_ns == first
    assert write_atomically(target, b"two") is True
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["1"]
    assert oct(target.stat().st_mode & 0o777) == "0o644"
