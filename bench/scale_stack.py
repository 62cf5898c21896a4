"""bench.scale's third figure (issue 14 point 6): verification through nginx with two
verifier replicas against one replica direct, in one run.

With ``jiaozi.stack`` (helper "stack"'s package, imported lazily): the stack started in a
temporary directory (its own PostgreSQL and Redis, the issuer, two replicas behind nginx
terminating TLS; ~1 minute), one sample certificate issued, then a load-generator process
(``python -m bench.scale_stack loadgen``: bench.verifier_load's keep-alive connections,
32 of them) saturating replica 1 directly (plain HTTP) and nginx's public port (TLS, both
replicas behind it) in alternation, two rounds of 4 s each, best round of each side.
Ratio: nginx's verifications per second / the one replica's, goal at least 1 (a second
replica must more than pay for the proxy's TLS and hop on the same two cores). Skipped,
with the reason printed and stored as ``scale_stack_skipped``, when the package or nginx
is absent. The stack is always stopped and its directory removed.
"""

from __future__ import annotations

import importlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

STACK_MODULE = "jiaozi.stack"  # helper "stack"'s package (another branch)
STACK_ROUNDS = 2
STACK_SECONDS = 4.0  # per round and side, after bench.verifier_load's warm-up
GOAL_STACK = 1.0


def verify_request(host: str, qr: str) -> bytes:
    """Return the bytes of one ``POST /api/v1/verify`` of ``qr`` to ``host``."""
    body = json.dumps({"qr": qr}).encode()
    return (
        b"POST /api/v1/verify HTTP/1.1\r\nHost: "
        + host.encode()
        + b"\r\nContent-Type: application/json\r\nAccept-Language: en\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


async def _compare(plan: dict[str, Any]) -> dict[str, list[dict[str, float]]]:
    """Saturate each of ``plan["targets"]`` (name, port, ca: a CA file for TLS, or None)
    with verifications of ``plan["qr"]``, alternated ``plan["rounds"]`` times."""
    import ssl

    from bench.verifier_load import _saturate

    out: dict[str, list[dict[str, float]]] = {t["name"]: [] for t in plan["targets"]}
    for _ in range(int(plan["rounds"])):
        for t in plan["targets"]:
            tls = ssl.create_default_context(cafile=t["ca"]) if t["ca"] else None
            request = verify_request(f"127.0.0.1:{t['port']}", plan["qr"])
            got = await _saturate(int(t["port"]), request, float(plan["seconds"]), "x", tls)
            out[t["name"]].append(got)
    return out


def _loadgen_main() -> None:
    """``python -m bench.scale_stack loadgen``: read a plan on stdin, print the rounds as JSON
    (its own process: the load does not share the interpreter with the bench)."""
    import asyncio
    import sys

    plan = json.loads(sys.stdin.read())
    try:
        import uvloop

        result = uvloop.run(_compare(plan))
    except ImportError:
        result = asyncio.run(_compare(plan))
    print(json.dumps(result))


def stack_ratio(rounds: dict[str, list[dict[str, float]]]) -> dict[str, float]:
    """Return the stack figures from :func:`_compare`'s rounds: each side's best round
    (req/s, p50, p99), errors over all rounds, and nginx's rate / the direct one's."""
    out: dict[str, float] = {}
    for name in ("direct", "nginx"):
        best = max(rounds[name], key=lambda r: r["x_rps"])
        out[f"scale_stack_{name}_rps"] = best["x_rps"]
        out[f"scale_stack_{name}_p50_ms"] = best["x_p50_ms"]
        out[f"scale_stack_{name}_p99_ms"] = best["x_p99_ms"]
        out[f"scale_stack_{name}_errors"] = sum(r["x_errors"] for r in rounds[name])
    out["scale_stack_ratio"] = out["scale_stack_nginx_rps"] / out["scale_stack_direct_rps"]
    out["scale_stack_goal"] = GOAL_STACK
    return out


def stack_figures(
    *, rounds: int = STACK_ROUNDS, seconds: float = STACK_SECONDS
) -> dict[str, float | str]:
    """Return the nginx-with-two-replicas figures, or ``scale_stack_skipped`` with the
    reason when the stack cannot be run here (``jiaozi.stack`` absent, no nginx).

    The stack (``jiaozi.stack.Stack``: its own PostgreSQL and Redis, the issuer, two
    verifier replicas behind nginx with TLS) is started under a temporary directory with
    one sample certificate, and stopped and removed after. A load-generator process
    saturates, alternately, replica 1 directly (plain HTTP on its loopback port) and
    nginx's public port (TLS, the two replicas behind it), each with verifications of
    the sample's QR link."""
    try:  # lazily: the stack is another branch's, merged by the lead
        stack_module = importlib.import_module(STACK_MODULE)
        parts = importlib.import_module(STACK_MODULE + ".parts")
    except ImportError as exc:
        return {"scale_stack_skipped": f"{STACK_MODULE} is not in this tree ({exc})"}
    if parts.nginx_binary() is None:
        return {"scale_stack_skipped": "nginx is not installed (scripts/system-packages.sh)"}
    import shutil
    import subprocess
    import sys
    from urllib.parse import urlsplit

    # not a 0700 directory: the postgres user and nginx's workers read below it
    base = Path(tempfile.mkdtemp(prefix="jiaozi-bench-stack-"))
    base.chmod(0o755)
    stack = stack_module.Stack(
        base / "stack", public_port=0, issuer_tls_port=0, registry_tls_port=0
    )
    try:
        t0 = time.perf_counter()
        stack.start(samples=1)
        started = time.perf_counter() - t0
        qr = stack.certificates[0]["qr_url"]
        direct = f"http://127.0.0.1:{stack.ports['verifier_1']}"
        for where in (direct, stack.public_url):  # both answer valid before the load
            verdict = stack.verify(qr, where).get("verdict")
            if verdict != "valid":
                raise RuntimeError(f"{where} answered {verdict!r} for the sample, not valid")
        plan = {
            "qr": qr,
            "rounds": rounds,
            "seconds": seconds,
            "targets": [
                {"name": "direct", "port": stack.ports["verifier_1"], "ca": None},
                {"name": "nginx", "port": urlsplit(stack.public_url).port, "ca": str(stack.ca)},
            ],
        }
        gen = subprocess.run(
            [sys.executable, "-m", "bench.scale_stack", "loadgen"],
            input=json.dumps(plan).encode(),
            capture_output=True,
            cwd=Path(__file__).resolve().parents[1],
            timeout=rounds * 2 * (seconds + 15) + 30,
            check=False,
        )
        if gen.returncode != 0:
            raise RuntimeError(f"load generator failed:\n{gen.stderr.decode()[-2000:]}")
        found = json.loads(gen.stdout)
    except (stack_module.StackError, RuntimeError, subprocess.TimeoutExpired) as exc:
        # make bench's other figures are still written; the reason is printed and kept
        why = " | ".join(str(exc).split("\n")).strip() or type(exc).__name__
        return {"scale_stack_skipped": f"the stack run failed: {why[-600:]}"}
    finally:
        stack.stop()
        shutil.rmtree(base, ignore_errors=True)
    return {**stack_ratio(found), "scale_stack_start_seconds": started}


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["loadgen"]:
        _loadgen_main()
    else:
        for name, value in stack_figures().items():
            print(f"{name:<36} {value}")
