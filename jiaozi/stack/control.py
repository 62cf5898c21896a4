"""The stack's processes as recorded under its base directory: whether its runner is
alive, stopping what it recorded (runner, services, its PostgreSQL cluster), and the
status lines of ``make stack-status``. Kept apart from the run so that stopping and
status need nothing of the run's state.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from ..demo.services import free_port
from .parts import PgCluster

__all__ = ["running_runner", "status", "stop_recorded"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_runner(base: Path) -> int | None:
    """Return the pid of a live runner recorded in ``base``/stack.pid (not this process)."""
    try:
        pid = int((base / "stack.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid != os.getpid() and _alive(pid) else None


def stop_recorded(base: Path) -> list[str]:
    """Stop what the stack recorded in ``base``/stack.json (a runner killed, or one
    started elsewhere), then its PostgreSQL cluster; return what was stopped."""
    stopped: list[str] = []
    try:
        state = json.loads((base / "stack.json").read_text())
    except (OSError, ValueError):
        state = {}
    runner = running_runner(base)
    if runner is not None:
        os.kill(runner, signal.SIGTERM)  # it stops its children itself
        deadline = time.monotonic() + 60
        while _alive(runner) and time.monotonic() < deadline:
            time.sleep(0.2)
        stopped.append(f"runner {runner}")
    for name, pid in state.get("pids", {}).items():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        # only a process that is still ours (a pid can be reused)
        if str(base).encode() in cmdline or b"jiaozi" in cmdline:
            os.kill(pid, signal.SIGTERM)
            stopped.append(f"{name} {pid}")
    if state.get("pg_port") and Path(state.get("pg_data", "")).is_dir():
        pg = PgCluster(
            Path(state["pg_data"]).parent, int(state["pg_port"]), base / "logs" / "postgresql.log"
        )
        if pg.running():
            pg.stop()
            stopped.append("postgresql")
    elif (base / "pg" / "data" / "postmaster.pid").is_file():
        pg = PgCluster(base / "pg", free_port(), base / "logs" / "postgresql.log")
        if pg.running():
            pg.stop()
            stopped.append("postgresql")
    (base / "stack.pid").unlink(missing_ok=True)
    return stopped


def status(base: Path) -> int:
    """Print each recorded process and whether it runs; return 0 when all do, else 1
    (and 1 when nothing is recorded)."""
    try:
        state = json.loads((base / "stack.json").read_text())
    except (OSError, ValueError):
        print(f"stack: nothing recorded under {base}/ (not started)")
        return 1
    print(
        f"public {state['public_url']}  issuer {state['issuer_url']}  "
        f"registry {state['registry_url']}"
    )
    code = 0
    for name, pid in state["pids"].items():
        alive = _alive(pid)
        code |= 0 if alive else 1
        print(f"  {name:12} pid {pid:<8} {'running' if alive else 'STOPPED'}")
    return code
