"""The verifier under HTTP load: uvicorn on loopback, load from a second process.

``run()`` prepares a synced verifier database (trust list, status list and restricted list
from the tests' fake issuer, pinned root in a JWKS file), starts ``uvicorn`` in a
subprocess (2 workers, uvloop + httptools, no access log) on a free loopback port, and
drives it from a load-generator subprocess (``python -m bench.verifier_load loadgen``):
raw keep-alive HTTP/1.1 on asyncio protocols, request bytes prepared once, only the status
line and Content-Length parsed.

Measured in one run: ``GET /healthz`` (the trivial baseline) and ``POST /api/v1/verify``
with ``{"qr": <token>}`` at saturation, alternated twice and the best round of each kept
(req/s, p50, p99); then an open-loop 300 req/s of verifications for 30 s, latency counted
from each request's scheduled time (no coordinated omission). Goals: verify >= 0.4 of the
trivial req/s; p99 < 50 ms at 300 req/s. Every loop is bounded in count and time and the
server is always stopped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from array import array
from collections import deque
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SATURATION_SECONDS = 4.0  # per round; two rounds of each endpoint, alternated
SATURATION_ROUNDS = 2
WARMUP_SECONDS = 0.5
SATURATION_CONNECTIONS = 32
CONNECT_SPACING = 0.005  # seconds between opening two connections
FIXED_RATE = 300.0
FIXED_SECONDS = 30.0
FIXED_CONNECTIONS = 32
MAX_REQUESTS = 2_000_000  # per phase, whatever the rate
DRAIN_SECONDS = 5.0
START_TIMEOUT = 30.0


# --- the load generator (runs in its own process) -----------------------------------------


class _Conn(asyncio.Protocol):
    """One keep-alive connection: one request in flight at a time."""

    def __init__(self, gen: _Phase) -> None:
        self.gen = gen
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.started = 0.0  # when the request in flight was due (open loop) or sent
        self.busy = False
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.busy:
            self.busy = False
            if self.gen.recording:  # closing at the end of a phase is no error
                self.gen.errors += 1
        if not self.lost.done():
            self.lost.set_result(None)

    def send(self, started: float) -> None:
        assert self.transport is not None
        self.started = started
        self.busy = True
        self.transport.write(self.gen.request)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            i = head.find(b"\r\ncontent-length:")
            if i < 0:
                length = 0
            else:
                j = head.find(b"\r\n", i + 2)
                length = int(head[i + 17 : j if j >= 0 else len(head)])
            total = end + 4 + length
            if len(buf) < total:
                return
            status = int(head[9:12])
            del buf[:total]
            self.busy = False
            self.gen.completed(self, status)


class _Phase:
    """Closed loop (``rate`` None: each connection sends again at once) or open loop."""

    def __init__(self, request: bytes, rate: float | None) -> None:
        self.request = request
        self.rate = rate
        self.latencies = array("d")
        self.errors = 0
        self.sent = 0
        self.recording = False
        self.stop_at = float("inf")
        self.backlog: deque[float] = deque()
        self.idle: deque[_Conn] = deque()  # FIFO: requests rotate over all connections
        self.last_done = 0.0

    def completed(self, conn: _Conn, status: int) -> None:
        now = time.perf_counter()
        if self.recording:
            if status == 200:
                self.latencies.append(now - conn.started)
            else:
                self.errors += 1
            self.last_done = now
        if self.rate is None:
            if now < self.stop_at and self.sent < MAX_REQUESTS:
                self.sent += 1
                conn.send(now)
        elif self.backlog:
            conn.send(self.backlog.popleft())
        else:
            self.idle.append(conn)

    def dispatch(self, due: float) -> None:
        while self.idle:
            conn = self.idle.popleft()
            if conn.transport is not None:
                conn.send(due)
                return
        self.backlog.append(due)


def _summary(prefix: str, lat: array[float], seconds: float, errors: int) -> dict[str, float]:
    s = sorted(lat)
    n = len(s)

    def pct(q: float) -> float:
        return s[min(n - 1, int(q * n))] * 1000 if n else float("nan")

    return {
        f"{prefix}_rps": n / seconds if seconds > 0 else 0.0,
        f"{prefix}_p50_ms": pct(0.50),
        f"{prefix}_p99_ms": pct(0.99),
        f"{prefix}_requests": float(n),
        f"{prefix}_errors": float(errors),
    }


async def _connect(
    port: int, phase: _Phase, n: int, tls: ssl.SSLContext | None = None
) -> list[_Conn]:
    loop = asyncio.get_running_loop()
    conns = []
    for _ in range(n):
        _, conn = await asyncio.wait_for(
            loop.create_connection(
                lambda: _Conn(phase),
                "127.0.0.1",
                port,
                ssl=tls,
                server_hostname="127.0.0.1" if tls is not None else None,
            ),
            5,
        )
        conns.append(conn)
        # Opened in a burst, every connection is accepted by whichever worker wakes first
        # and the other worker idles: spread them out in time, as real clients are.
        await asyncio.sleep(CONNECT_SPACING)
    return conns


async def _close(conns: list[_Conn]) -> None:
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    await asyncio.wait([c.lost for c in conns], timeout=2)


async def _saturate(
    port: int, request: bytes, seconds: float, prefix: str, tls: ssl.SSLContext | None = None
) -> dict[str, float]:
    """Return ``_summary`` of ``SATURATION_CONNECTIONS`` keep-alive connections sending
    ``request`` back to back for ``seconds`` after a warm-up (over TLS with ``tls``)."""
    phase = _Phase(request, None)
    conns = await _connect(port, phase, SATURATION_CONNECTIONS, tls)
    start = time.perf_counter()
    phase.stop_at = start + WARMUP_SECONDS + seconds
    for c in conns:
        phase.sent += 1
        c.send(start)
    await asyncio.sleep(WARMUP_SECONDS)
    phase.recording = True
    measured_from = time.perf_counter()
    await asyncio.sleep(max(0.0, phase.stop_at - measured_from))
    phase.recording = False  # what is still in flight is not counted
    elapsed = time.perf_counter() - measured_from
    await _close(conns)
    return _summary(prefix, phase.latencies, elapsed, phase.errors)


async def _fixed(port: int, request: bytes, rate: float, seconds: float) -> dict[str, float]:
    phase = _Phase(request, rate)
    conns = await _connect(port, phase, FIXED_CONNECTIONS)
    phase.idle = deque(conns)
    phase.recording = True
    total = int(rate * seconds)
    t0 = time.perf_counter() + 0.01
    i = 0
    while i < total:  # bounded: ``total`` dispatches
        due = t0 + i / rate
        now = time.perf_counter()
        if due > now:
            await asyncio.sleep(due - now)
            continue
        phase.dispatch(due)
        i += 1
    end = t0 + seconds
    drain_until = time.perf_counter() + DRAIN_SECONDS
    while time.perf_counter() < drain_until:
        if not phase.backlog and all(not c.busy for c in conns):
            break
        await asyncio.sleep(0.01)
    phase.recording = False
    lost = len(phase.backlog) + sum(1 for c in conns if c.busy)
    elapsed = max(end, phase.last_done) - t0
    await _close(conns)
    out = _summary("verifier_fixed300", phase.latencies, elapsed, phase.errors + lost)
    out["verifier_fixed300_achieved_rps"] = out.pop("verifier_fixed300_rps")
    return out


async def _loadgen(plan: dict[str, Any]) -> dict[str, Any]:
    port = int(plan["port"])
    host = f"127.0.0.1:{port}".encode()
    trivial = b"GET /healthz HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"
    body = json.dumps({"qr": plan["token"]}).encode()
    verify = (
        b"POST /api/v1/verify HTTP/1.1\r\nHost: "
        + host
        + b"\r\nContent-Type: application/json\r\nAccept-Language: en\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    rounds: dict[str, list[dict[str, float]]] = {"trivial": [], "verify": []}
    for _ in range(int(plan["rounds"])):
        rounds["trivial"].append(
            await _saturate(port, trivial, plan["seconds"], "verifier_trivial")
        )
        rounds["verify"].append(await _saturate(port, verify, plan["seconds"], "verifier_verify"))
    fixed = await _fixed(port, verify, plan["rate"], plan["fixed_seconds"])
    return {"rounds": rounds, "fixed": fixed}


def _loadgen_main() -> None:
    plan = json.loads(sys.stdin.read())
    try:
        import uvloop

        result = uvloop.run(_loadgen(plan))
    except ImportError:
        result = asyncio.run(_loadgen(plan))
    print(json.dumps(result))


# --- the verifier: data and server ---------------------------------------------------------


def _prepare(tmp: Path) -> tuple[dict[str, str], str]:
    """Fill a verifier database from the fake issuer; return the server's env and a token
    that verifies ``valid`` now."""
    from tests.factory import ISSUER_URL, VERIFIER_URL, World

    with warnings.catch_warnings():  # fastapi.testclient's httpx deprecation notice
        warnings.simplefilter("ignore")
        from tests.factory.verifier import (
            FEED_KEY,
            TRUST_URL,
            Clock,
            FakeIssuer,
            settings_for,
            write_root,
        )
    from verifier.app import create_app

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    world = World()
    issuer = FakeIssuer(world, Clock(now), status_ttl=3600)
    root = write_root(world, tmp)
    db_url = f"sqlite:///{tmp / 'verifier.db'}"
    http = issuer.client()
    settings = settings_for(db_url, root)
    app = create_app(settings, http=http, clock=Clock(now), background_sync=False)
    try:
        report = app.state.verifier.syncer.run_once(extra_status=[world.status_uri])
        if not report.ok:
            raise RuntimeError(f"verifier sync failed: {report.outcomes}")
    finally:
        app.state.verifier.close()
        http.close()
    token = world.issue(issued_at=int(now.timestamp()) - 3600).qr_token
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIAOZI_")}
    env.update(
        JIAOZI_ENV="development",  # production is the default
        JIAOZI_DATABASE_URL=db_url,
        JIAOZI_ROOT_JWKS=str(root),
        JIAOZI_PUBLIC_URL=VERIFIER_URL,
        JIAOZI_TRUST_LIST_URL=TRUST_URL,
        JIAOZI_ISSUERS=json.dumps([{"base_url": ISSUER_URL, "api_key": FEED_KEY}]),
        JIAOZI_STATUS_GRACE="600",
        JIAOZI_SYNC_INTERVAL="0",  # no network: everything is already held
        # one load client from one address: the per-client limit (on by default) is off
        JIAOZI_VERIFY_RATE_LIMIT="0",
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env, token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, body: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    if body:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, r.read()


def _wait_ready(proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"verifier exited early:\n{log.read_text()[-2000:]}")
        try:
            if _get(base + "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"verifier not answering after {START_TIMEOUT} s:\n{log.read_text()[-2000:]}"
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
    try:  # the workers are in the server's own process group
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait(5)


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="jiaozi-verifier-load-") as d:
        tmp = Path(d)
        env, token = _prepare(tmp)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = tmp / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "verifier.commands:app_factory",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    "2",
                    "--loop",
                    "uvloop",
                    "--http",
                    "httptools",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_ready(proc, base, log)
            status, answer = _get(base + "/api/v1/verify", json.dumps({"qr": token}).encode())
            verdict = json.loads(answer).get("verdict")
            if status != 200 or verdict != "valid":
                raise RuntimeError(f"verify answered {status} {verdict!r}, not 200 valid")
            plan = {
                "port": port,
                "token": token,
                "rounds": SATURATION_ROUNDS,
                "seconds": SATURATION_SECONDS,
                "rate": FIXED_RATE,
                "fixed_seconds": FIXED_SECONDS,
            }
            budget = SATURATION_ROUNDS * 2 * (SATURATION_SECONDS + WARMUP_SECONDS + 3)
            budget += FIXED_SECONDS + DRAIN_SECONDS + 15
            gen = subprocess.run(
                [sys.executable, "-m", "bench.verifier_load", "loadgen"],
                input=json.dumps(plan).encode(),
                capture_output=True,
                cwd=REPO,
                timeout=budget,
                check=False,
            )
            if gen.returncode != 0:
                raise RuntimeError(f"load generator failed:\n{gen.stderr.decode()[-2000:]}")
            found = json.loads(gen.stdout)
        finally:
            _stop(proc)
    trivial = max(found["rounds"]["trivial"], key=lambda r: r["verifier_trivial_rps"])
    verify = max(found["rounds"]["verify"], key=lambda r: r["verifier_verify_rps"])
    fixed = found["fixed"]
    errors = sum(
        r[f"verifier_{k}_errors"] for k in ("trivial", "verify") for r in found["rounds"][k]
    )
    return {
        "verifier_trivial_rps": trivial["verifier_trivial_rps"],
        "verifier_trivial_p50_ms": trivial["verifier_trivial_p50_ms"],
        "verifier_trivial_p99_ms": trivial["verifier_trivial_p99_ms"],
        "verifier_verify_rps": verify["verifier_verify_rps"],
        "verifier_verify_p50_ms": verify["verifier_verify_p50_ms"],
        "verifier_verify_p99_ms": verify["verifier_verify_p99_ms"],
        "verifier_verify_ratio": verify["verifier_verify_rps"] / trivial["verifier_trivial_rps"],
        "verifier_verify_goal": 0.4,
        "verifier_fixed300_achieved_rps": fixed["verifier_fixed300_achieved_rps"],
        "verifier_fixed300_p50_ms": fixed["verifier_fixed300_p50_ms"],
        "verifier_fixed300_p99_ms": fixed["verifier_fixed300_p99_ms"],
        "verifier_fixed300_goal_p99_ms": 50.0,
        "verifier_load_errors": errors + fixed["verifier_fixed300_errors"],
        "verifier_qr_token_chars": float(len(token)),
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["loadgen"]:
        _loadgen_main()
    else:
        for key, value in run().items():
            print(f"{key:<36} {value:>12,.3f}")
