"""Fault drills on the production-like stack (issue 14 point 5), on loopback, bounded in time.

One stack for the module (``jiaozi.stack.Stack``: its own PostgreSQL cluster and Redis,
the registry and an issuer on PostgreSQL, two verifier replicas behind nginx with TLS);
every test leaves it whole (a killed replica is started again, Redis too). The tests run
in one xdist group (``make test`` runs ``--dist loadgroup``) so that only one stack is
started. They are skipped only when nginx is missing and cannot be installed.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from jiaozi.stack import Stack
from jiaozi.stack.run import main as stack_main
from tests.factory import logscan
from tests.factory.batchfile import EN_HEADER, csv_bytes, person
from tests.stack.conftest import nginx_or_skip

pytestmark = [pytest.mark.stack, pytest.mark.xdist_group("stack")]

BATCH_ROWS = 10_000
LOAD = 300  # verifications through nginx while a replica is killed


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    nginx_or_skip()
    # not pytest's tmp_path (0700): the postgres user and nginx's workers read below it
    base = Path(tempfile.mkdtemp(prefix="jiaozi-stack-"))
    base.chmod(0o755)
    s = Stack(base / "stack", public_port=0, issuer_tls_port=0, registry_tls_port=0)
    try:
        s.start(samples=2)
        yield s
    finally:
        s.stop()
        # every service's, nginx's, PostgreSQL's and Redis's lines, for the session's log scan
        logscan.keep(*s.logs.rglob("*.log"))
        shutil.rmtree(base, ignore_errors=True)


def _client(s: Stack) -> httpx.Client:
    return httpx.Client(verify=s.tls_context(), timeout=60)


def _verify_json(http: httpx.Client, s: Stack, body: dict[str, str]) -> tuple[int, Any]:
    r = http.post(f"{s.public_url}/api/v1/verify", json=body)
    return r.status_code, r.json() if r.status_code < 500 else r.text


def test_stack_serves_public_artefacts_as_static_files(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack_main(["status", "--dir", str(stack.base)]) == 0
    status = capsys.readouterr().out
    for name in ("nginx", "issuer", "registry", "verifier-1", "verifier-2", "publish", "redis"):
        assert f"  {name} " in status and "STOPPED" not in status
    with _client(stack) as http:
        for path, media in (
            ("/trust-list.jwt", "application/jiaozi-trustlist+jwt"),
            ("/.well-known/jwks.json", "application/json"),
            ("/statuslists/1", "application/statuslist+jwt"),
        ):
            r = http.get(stack.public_url + path)
            assert r.status_code == 200, path
            assert r.headers["content-type"] == media
            assert r.headers["cache-control"].startswith("public, max-age=")
            # the file nginx serves is the one the export wrote, byte for byte
            assert r.content == (stack.public_dir / path.lstrip("/")).read_bytes()
        # the issuer's API is not in the public zone; it is at the internal address
        assert http.get(f"{stack.public_url}/api/v1/certificates").status_code == 404
        assert http.get(f"{stack.issuer_url}/.well-known/jwks.json").status_code == 200
        # holder pages are public, through nginx, from the issuer
        assert http.get(f"{stack.public_url}/holder").status_code == 200
        # the verifiers hold the status list from the static files (the public URL) and
        # the restricted list from the issuer's internal API (api_url)
        synced = http.get(f"{stack.public_url}/api/v1/sync-status").json()
        assert [s["uri"] for s in synced["status_lists"]] == [f"{stack.public_url}/statuslists/1"]
        assert synced["restrictions_as_of"] is not None
        assert synced["trust_list"] is not None


def test_kill_one_verifier_replica_during_load(stack: Stack) -> None:
    certs = stack.certificates
    bodies: list[dict[str, str]] = []
    for i in range(LOAD):
        cert = certs[i % len(certs)]
        # QR links and full credentials (the JSON API's two inputs)
        bodies.append({"qr": cert["qr_url"]} if i % 3 else {"credential": cert["credential"]})
    victim = stack.children["verifier-1"]
    answers: list[tuple[int, Any]] = []
    try:
        with _client(stack) as http, ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(_verify_json, http, stack, b) for b in bodies]
            # kill while requests are in flight: after the first third has been answered
            while sum(f.done() for f in futures) < LOAD // 3:
                time.sleep(0.01)
            victim.kill()  # SIGKILL: no clean shutdown, connections reset
            answers = [f.result(timeout=120) for f in futures]
            # and one uploaded PDF, a POST nginx may also send to the other replica
            pdf = stack.layout.base / certs[0]["pdf"]
            r = http.post(
                f"{stack.public_url}/api/v1/verify",
                files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")},
            )
            assert r.status_code == 200 and r.json()["verdict"] == "valid"
    finally:
        stack.start_verifier(1)
    assert len(answers) == LOAD
    failed = [(code, body) for code, body in answers if code != 200 or body["verdict"] != "valid"]
    assert failed == [], failed[:3]
    numbers = {body["certificate"]["certificate_number"] for _, body in answers}
    assert numbers == {c["certificate_number"] for c in certs}
    # both replicas served the run (nginx's log names the upstream of every request)
    log = (stack.logs / "nginx-access.log").read_text()
    for port in (stack.ports["verifier_1"], stack.ports["verifier_2"]):
        assert f"127.0.0.1:{port}" in log


def _batch_env(stack: Stack) -> dict[str, str]:
    return dict(stack.env["issuer"])


def _batch_rows(n: int) -> bytes:
    rows = [person(i, f"DRILL-{i:05d}") for i in range(n)]
    return csv_bytes(EN_HEADER, rows)


def test_postgresql_restart_during_a_10000_row_batch(stack: Stack, tmp_path: Path) -> None:
    batch_file = tmp_path / "drill-batch.csv"
    batch_file.write_bytes(_batch_rows(BATCH_ROWS))
    engine = sa.create_engine(stack.pg.url("jiaozi_issuer"), poolclass=NullPool)
    cmd = [sys.executable, "-m", "jiaozi", "batch", "issue", str(batch_file)]

    def issued() -> int:
        try:
            with engine.connect() as conn:
                return int(conn.execute(sa.text("SELECT count(*) FROM batch_item")).scalar_one())
        except sa.exc.OperationalError:
            return -1

    log = tmp_path / "batch-1.log"
    try:
        with log.open("w") as out:
            proc = subprocess.Popen(
                cmd, env=_batch_env(stack), stdout=out, stderr=subprocess.STDOUT, text=True
            )
            try:
                deadline = time.monotonic() + 240
                while issued() < 1000 and proc.poll() is None:
                    assert time.monotonic() < deadline, "the batch did not start issuing"
                    time.sleep(0.1)
                restarted_at = issued()
                stack.pg.restart()  # fast: open transactions rolled back, connections cut
                proc.wait(timeout=300)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        said = log.read_text()
        logscan.keep(log)  # the command's lines, for the session's log scan
        assert 0 < restarted_at < BATCH_ROWS, said
        # the command waited the restart out and resumed the batch by itself
        assert proc.returncode == 0, said
        assert "database unavailable" in said and "(resumed)" in said, said
        assert "done: 10,000 of 10,000 valid rows issued" in said, said
        # what it said about the error names no row: no SQL, no parameters, no name
        assert "[SQL:" not in said and "林芳" not in said, said

        with engine.connect() as conn:
            batch = conn.execute(
                sa.text("SELECT id, issued_rows, valid_rows, state FROM batch ORDER BY id DESC")
            ).one()
            assert batch.issued_rows == batch.valid_rows == BATCH_ROWS
            assert batch.state == "done"
            rows = conn.execute(
                sa.text(
                    "SELECT i.row_number, c.certificate_number, c.year, c.serial "
                    "FROM batch_item i JOIN certificate c ON c.id = i.certificate_id "
                    "WHERE i.batch_id = :b"
                ),
                {"b": batch.id},
            ).all()
            total = conn.execute(sa.text("SELECT count(*) FROM certificate")).scalar_one()
    finally:
        engine.dispose()
    # exactly 10,000 certificates from the batch, one per row: no gap, no double
    assert len(rows) == BATCH_ROWS
    row_numbers = sorted(r.row_number for r in rows)
    assert row_numbers == list(range(row_numbers[0], row_numbers[0] + BATCH_ROWS))
    assert len({r.certificate_number for r in rows}) == BATCH_ROWS
    # and the serials are consecutive: a rolled-back chunk used none of them
    serials = sorted(r.serial for r in rows)
    assert serials == list(range(serials[0], serials[0] + BATCH_ROWS))
    assert {r.year for r in rows} == {dt.date(2026, 6, 20).year}
    assert total == BATCH_ROWS + len(stack.certificates)
    # the issuer and the verifiers came back to the restarted database by themselves
    with _client(stack) as http:
        code, body = _verify_json(http, stack, {"qr": stack.certificates[0]["qr_url"]})
        assert code == 200 and body["verdict"] == "valid", body


def _metrics(stack: Stack, i: int) -> str | None:
    r = httpx.get(f"http://127.0.0.1:{stack.ports[f'verifier_{i}']}/metrics", timeout=10)
    return r.text if r.status_code == 200 else None


def _ask_everyone(http: httpx.Client, stack: Stack, qr: str) -> None:
    """Verify ``qr`` through nginx and at each replica directly (nginx may well send a
    short run to one replica only); every answer must be valid."""
    bases = [stack.public_url] + [
        f"http://127.0.0.1:{stack.ports[f'verifier_{i}']}" for i in (1, 2)
    ]
    for base in bases:
        r = http.post(f"{base}/api/v1/verify", json={"qr": qr})
        assert r.status_code == 200 and r.json()["verdict"] == "valid", (base, r.text)


def test_redis_stopped_verifiers_keep_answering(stack: Stack) -> None:
    qr = stack.certificates[1]["qr_url"]
    logs = [stack.logs / f"verifier-{i}.log" for i in (1, 2)]
    before = [p.read_text() for p in logs]
    stack.redis.stop()
    try:
        with _client(stack) as http:
            for _ in range(20):
                _ask_everyone(http, stack, qr)
        said = [p.read_text()[len(b) :] for p, b in zip(logs, before, strict=True)]
        # each replica said that it counts in the process
        assert all(text.count("counting in this process") == 1 for text in said), said  # once
        for i in (1, 2):
            metrics = _metrics(stack, i)
            if metrics is not None and "jiaozi_ratelimit_degraded" in metrics:
                assert "jiaozi_ratelimit_degraded 1.0" in metrics
    finally:
        stack.redis.start()  # same port: the verifiers find it again
    # back: within the probe interval the replicas use Redis again and say so
    deadline = time.monotonic() + 60
    with _client(stack) as http:
        while True:
            _ask_everyone(http, stack, qr)
            said = [p.read_text() for p in logs]
            if all("answers again: counting in Redis" in text for text in said):
                break
            assert time.monotonic() < deadline, "the verifiers did not go back to Redis"
            time.sleep(0.5)
    import redis

    client = redis.Redis.from_url(stack.redis.url)
    try:
        keys = client.keys("*")
        assert any(k.startswith(b"jiaozi:verifier:rate:") for k in keys), keys
    finally:
        client.close()


def test_environment_files_are_private(stack: Stack) -> None:
    for name in ("issuer", "registry", "verifier"):
        path = stack.base / "env" / f"{name}.env"
        assert path.stat().st_mode & 0o777 == 0o600
        assert "JIAOZI_ENV=production" in path.read_text()
    assert os.stat(stack.base / "tls" / "server.key").st_mode & 0o777 == 0o600
