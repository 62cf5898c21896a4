"""Hostile uploads against a served verifier (issue 11 point 1).

``run()`` serves the verifier as ``bench.verifier_load`` does (uvicorn, 2 workers, verify
rate limit off), warms it with genuine signed PDFs, then:

1. genuine QR verifications at a fixed 300 req/s for 10 s, alone (p99 ``alone``);
2. the same load again while this process posts the battery of tests/factory/hostile.py
   (twice, one file at a time): p99 ``during``, the slowest hostile answer, how many were
   not a 4xx, and the resident memory (VmRSS) of the server and every process under it,
   sampled every 50 ms: its growth from before the battery to after it, and at its peak.

Also the cost of the process hop: a genuine signed PDF read by ``extract`` in this
process, by a ``Sandbox`` worker, and posted to the server (medians of 20). Goals: every
answer a 4xx in under 2 s, growth under 100 MB, p99 during the battery under 50 ms.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

from bench.verifier_load import REPO, _free_port, _get, _prepare, _stop, _wait_ready

RATE = 300.0
ALONE_SECONDS = 10.0
BATTERY_PASSES = 2
DURING_SECONDS = 30.0  # the load runs at least this long; the battery is posted within it
SAMPLE_EVERY = 0.05
GENUINE_POSTS = 20


def _loadgen_main() -> None:
    from bench.verifier_load import _fixed

    plan = json.loads(sys.argv[2])
    request_body = json.dumps({"qr": plan["token"]}).encode()
    port = int(plan["port"])
    request = (
        b"POST /api/v1/verify HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port
        + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(request_body)
        + request_body
    )
    out = asyncio.run(_fixed(port, request, float(plan["rate"]), float(plan["seconds"])))
    print(json.dumps(out))


def _tree_rss(root: int) -> int:
    """Return the summed VmRSS in bytes of ``root`` and every process under it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def _post_file(port: int, data: bytes, name: str = "upload.bin") -> tuple[int, float]:
    """POST ``data`` as the multipart ``file``; return (status, seconds)."""
    boundary = "jiaozi-bench-boundary-7f3a"
    body = (
        (
            f"--{boundary}\r\nContent-Disposition: form-data; name=file; filename={name}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start = time.perf_counter()
    try:
        conn.request(
            "POST",
            "/api/v1/verify",
            body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - start
    finally:
        conn.close()


def _load(port: int, token: str, seconds: float) -> subprocess.Popen[bytes]:
    plan = json.dumps({"port": port, "token": token, "rate": RATE, "seconds": seconds})
    return subprocess.Popen(
        [sys.executable, "-m", "bench.hostile", "loadgen", plan],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )


def _load_result(gen: subprocess.Popen[bytes], seconds: float) -> dict[str, float]:
    out, err = gen.communicate(timeout=seconds + 30)
    if gen.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{err.decode()[-2000:]}")
    found: dict[str, float] = json.loads(out)
    return found


def _genuine_pdf() -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tests.factory.pdf import (
            document_signer,
            fixed_world,
            root_private_key,
            sample_certificate,
            signed_pdf,
        )
    world = fixed_world()
    return signed_pdf(world, sample_certificate(), document_signer(root_private_key(world)))


def run() -> dict[str, float]:
    from tests.factory.hostile import battery
    from verifier.extract import extract
    from verifier.sandbox import Sandbox

    files = [(h.name, h.build()) for h in battery()]
    genuine = _genuine_pdf()
    local, hop = [], []
    box = Sandbox(1, timeout=30.0)
    try:
        box.run(genuine)  # the forkserver and the worker started
        for _ in range(GENUINE_POSTS):
            start = time.perf_counter()
            extract(genuine)
            local.append(time.perf_counter() - start)
            start = time.perf_counter()
            box.run(genuine)
            hop.append(time.perf_counter() - start)
    finally:
        box.close()
    with tempfile.TemporaryDirectory(prefix="jiaozi-hostile-") as d:
        tmp = Path(d)
        env, token = _prepare(tmp)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = tmp / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable, "-m", "uvicorn", "verifier.commands:app_factory",
                    "--factory", "--host", "127.0.0.1", "--port", str(port),
                    "--workers", "2", "--loop", "uvloop", "--http", "httptools",
                    "--no-access-log", "--log-level", "warning",
                ],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            _wait_ready(proc, base, log)
            status, answer = _get(base + "/api/v1/verify", json.dumps({"qr": token}).encode())
            if status != 200 or json.loads(answer).get("verdict") != "valid":
                raise RuntimeError(f"verify answered {status}, not 200 valid")
            posted = []
            for _ in range(GENUINE_POSTS):  # also starts every server worker's readers
                status, seconds = _post_file(port, genuine, "c.pdf")
                if status != 200:
                    raise RuntimeError(f"a genuine PDF was answered {status}")
                posted.append(seconds)

            alone = _load_result(_load(port, token, ALONE_SECONDS), ALONE_SECONDS)

            before = _tree_rss(proc.pid)
            peak = [before]
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(SAMPLE_EVERY):
                    peak[0] = max(peak[0], _tree_rss(proc.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            gen = _load(port, token, DURING_SECONDS)
            sampler.start()
            time.sleep(1.0)
            slowest, not_4xx, answered = 0.0, 0, 0
            worst = ""
            started = time.monotonic()
            for _ in range(BATTERY_PASSES):
                for name, data in files:
                    if time.monotonic() - started > DURING_SECONDS - 2:
                        break
                    status, seconds = _post_file(port, data)
                    answered += 1
                    not_4xx += not 400 <= status < 500
                    if seconds > slowest:
                        slowest, worst = seconds, name
            time.sleep(0.5)  # let a replaced worker settle before the last sample
            after = _tree_rss(proc.pid)
            stop.set()
            sampler.join()
            during = _load_result(gen, DURING_SECONDS)
        finally:
            _stop(proc)
    print(f"  (slowest hostile file: {worst})")
    p99_alone = alone["verifier_fixed300_p99_ms"]
    p99_during = during["verifier_fixed300_p99_ms"]
    mb = 1024 * 1024
    return {
        "hostile_files": float(len(files)),
        "hostile_answered": float(answered),
        "hostile_not_4xx": float(not_4xx),
        "hostile_slowest_s": slowest,
        "hostile_goal_slowest_s": 2.0,
        "hostile_rss_before_mb": before / mb,
        "hostile_rss_growth_mb": (after - before) / mb,
        "hostile_rss_peak_growth_mb": (peak[0] - before) / mb,
        "hostile_goal_rss_growth_mb": 100.0,
        "hostile_qr_p99_alone_ms": p99_alone,
        "hostile_qr_p99_during_ms": p99_during,
        "hostile_qr_p99_ratio": p99_during / p99_alone if p99_alone else float("nan"),
        "hostile_goal_qr_p99_ms": 50.0,
        "hostile_qr_errors": alone["verifier_fixed300_errors"] + during["verifier_fixed300_errors"],
        "hostile_genuine_pdf_post_ms": statistics.median(posted) * 1000,
        "hostile_genuine_pdf_extract_ms": statistics.median(local) * 1000,
        "hostile_genuine_pdf_worker_ms": statistics.median(hop) * 1000,
    }


def main() -> None:
    if sys.argv[1:2] == ["loadgen"]:
        _loadgen_main()
    else:
        for key, value in run().items():
            print(f"{key:<36} {value:>12,.3f}")


if __name__ == "__main__":
    main()
