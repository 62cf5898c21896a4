"""Child services for ``make demo`` (jiaozi.demo): free ports, start, wait until they answer, stop.

Each service is ``python -m jiaozi <args>`` in its own session (so the terminal's Ctrl-C
reaches only the demo, which then stops the children with SIGTERM: uvicorn's clean
shutdown), with stdout and stderr going to a log file; on Linux a child is also told to
stop if the demo is killed outright. Every wait is bounded, and a service that exits or
does not answer is reported with its log's path and last lines.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["DemoError", "Service", "choose_port", "clean_env", "free_port", "port_is_free"]

HOST = "127.0.0.1"


class DemoError(Exception):
    """Something the person running the demo must hear about, in one message."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Return whether a server could bind ``port`` on 127.0.0.1 now (as uvicorn does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def choose_port(wanted: int, what: str, *, taken: set[int]) -> int:
    """Return ``wanted`` if it is free, else (saying so) a free port; 0 means any."""
    if wanted and wanted not in taken and port_is_free(wanted):
        return wanted
    port = free_port()
    while port in taken:
        port = free_port()
    if wanted:
        print(
            f"端口 {wanted} 已被占用 / port {wanted} on {HOST} is taken (another demo or "
            f"service? see `ss -ltnp 'sport = :{wanted}'`): the {what} uses port {port}",
            flush=True,
        )
    return port


def clean_env(**extra: str) -> dict[str, str]:
    """Return this process's environment without any ``JIAOZI_*``, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIAOZI_")}
    env.update(extra)
    return env


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-lines:])


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM the child if the demo dies without stopping it (kill -9)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class Service:
    """One running child service."""

    name: str
    url: str
    log: Path
    proc: subprocess.Popen[bytes]

    @classmethod
    def start(
        cls, name: str, args: list[str], *, url: str, env: dict[str, str], log: Path
    ) -> Service:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:  # the child keeps its own descriptor
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter, our arguments
                [sys.executable, "-m", "jiaozi", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        return cls(name, url, log, proc)

    def running(self) -> bool:
        return self.proc.poll() is None

    def failure(self, what: str) -> DemoError:
        return DemoError(f"the {self.name} {what}; its log is {self.log}:\n{_tail(self.log)}")

    def wait_ready(self, path: str, timeout: float) -> None:
        """Return once GET ``path`` answers below 500; raise DemoError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            code = self.proc.poll()
            if code is not None:
                raise self.failure(f"exited (code {code}) while starting at {self.url}")
            try:
                if httpx.get(self.url + path, timeout=2).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() >= deadline:
                raise self.failure(f"did not answer at {self.url} within {timeout:.0f} s")
            time.sleep(0.2)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (uvicorn shuts down cleanly), then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
