"""The stack's non-Python parts: its PostgreSQL cluster, its Redis, its TLS files and nginx.

Each is started from binaries Debian installs (``scripts/system-packages.sh``), with every
file it writes under ``var/stack``, on loopback and on ports the caller chose. PostgreSQL
runs as the ``postgres`` user (``runuser``, when we are root: the server refuses to run as
root) and is started and stopped with ``pg_ctl``, as a service manager would; Redis and
nginx are child processes that stop with the runner.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from jiaozi.demo.services import DemoError

__all__ = [
    "NGINX_TEMPLATE",
    "Child",
    "PgCluster",
    "RedisServer",
    "make_tls",
    "nginx_binary",
    "render_nginx",
]

REPO = Path(__file__).resolve().parents[2]
NGINX_TEMPLATE = REPO / "deploy" / "nginx" / "jiaozi.conf.template"
PG_DATABASES = ("jiaozi_issuer", "jiaozi_registry", "jiaozi_verifier")


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM the child if the runner dies without stopping it (kill -9)."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _run(cmd: list[str], what: str, timeout: float = 120) -> str:
    """Run ``cmd``; return its output; raise DemoError with its output if it fails."""
    try:
        out = subprocess.run(  # noqa: S603 - fixed binaries and our arguments
            cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DemoError(f"{what} failed: {exc}") from exc
    if out.returncode != 0:
        raise DemoError(f"{what} failed (code {out.returncode}):\n{out.stdout}{out.stderr}")
    return out.stdout


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (no log)"
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-lines:])


@dataclass
class Child:
    """One child process of the runner, its output in ``log``."""

    name: str
    cmd: list[str]
    log: Path
    env: dict[str, str] | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> Child:
        """Start the process (in its own session: Ctrl-C reaches only the runner)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our binaries and arguments
                self.cmd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def failure(self, what: str) -> DemoError:
        return DemoError(f"the {self.name} {what}; its log is {self.log}:\n{_tail(self.log)}")

    def wait_http(self, url: str, timeout: float, *, verify: ssl.SSLContext | bool = True) -> None:
        """Return once GET ``url`` answers below 500; raise DemoError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running():
                code = self.proc.returncode if self.proc is not None else None
                raise self.failure(f"exited (code {code}) while starting")
            try:
                if httpx.get(url, timeout=2, verify=verify).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() >= deadline:
                raise self.failure(f"did not answer at {url} within {timeout:.0f} s")
            time.sleep(0.2)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` (default SIGKILL: a crash) and reap the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (a clean shutdown), then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)


# --- PostgreSQL --------------------------------------------------------------------------


def _pg_bin() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not found:
        raise DemoError(
            "PostgreSQL's server binaries are missing (/usr/lib/postgresql/<v>/bin/pg_ctl): "
            "apt-get install postgresql"
        )
    return Path(found[-1]).parent


@dataclass
class PgCluster:
    """The stack's own PostgreSQL cluster: data in ``home/data``, its unix socket in
    ``home/run``, listening on 127.0.0.1:``port`` only, trust authentication (loopback
    and the socket only: this is a one-machine stack)."""

    home: Path
    port: int
    log: Path

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def sockets(self) -> Path:
        return self.home / "run"

    def url(self, database: str) -> str:
        """Return the SQLAlchemy URL of ``database`` on this cluster (TCP on loopback)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    @staticmethod
    def _as_postgres(cmd: list[str]) -> list[str]:
        # PostgreSQL refuses to run as root; as another user it runs as that user.
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd

    def _own(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            for path in paths:
                shutil.chown(path, "postgres", "postgres")

    def init(self) -> None:
        """Make the cluster (initdb) if it does not exist yet."""
        if (self.data / "PG_VERSION").is_file():
            return
        for path in (self.home, self.sockets):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        self._own(self.home, self.sockets, self.log)
        _run(
            self._as_postgres(
                [
                    str(_pg_bin() / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-instructions",
                ]
            ),
            "initdb",
        )

    def _ctl(self, *args: str, timeout: float = 90) -> str:
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c max_connections=100"
        )
        return _run(
            self._as_postgres(
                [
                    str(_pg_bin() / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(int(timeout)),
                    *args,
                ]
            ),
            f"pg_ctl {args[0]}",
            timeout=timeout + 30,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._ctl("start")

    def restart(self) -> None:
        """Restart the server (fast: open transactions are rolled back, connections cut)."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        """Stop the server (fast shutdown) if it runs."""
        if self.running():
            self._ctl("stop", "-m", "fast")

    def running(self) -> bool:
        """Return whether the cluster's postmaster is alive (its pid file)."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def create_databases(self) -> None:
        """Create the services' databases that are missing."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            have = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
            for name in PG_DATABASES:
                if name not in have:
                    conn.execute(f'CREATE DATABASE "{name}"')


# --- Redis -------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """The stack's own redis-server on 127.0.0.1:``port``: counters only, no persistence."""

    home: Path
    port: int
    log: Path
    child: Child | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it answers PING."""
        self.home.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        cmd = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.home),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--pidfile",
            str(self.home / "redis.pid"),
        ]
        self.child = Child("redis", cmd, self.log).start()
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 30
        try:
            while True:
                if not self.child.running():
                    raise self.child.failure("exited while starting")
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    if time.monotonic() >= deadline:
                        raise self.child.failure("did not answer PING within 30 s") from None
                    time.sleep(0.1)
        finally:
            client.close()

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()

    def running(self) -> bool:
        return self.child is not None and self.child.running()


# --- TLS ---------------------------------------------------------------------------------


def make_tls(
    directory: Path, *, host: str = "127.0.0.1", days: int = 30
) -> tuple[Path, Path, Path]:
    """Make a local CA and a server certificate for ``host`` (and localhost) signed by it,
    with the ``openssl`` command (keys/ holds the PDF signing recipes, not TLS ones);
    return (CA certificate, server certificate, server key). Kept if they already exist.

    The CA's key is needed only here: in a real deployment it would stay with whoever
    runs the organisation's CA, and only ``ca.pem`` is handed to clients.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key = directory / "server.pem", directory / "server.key"
    if ca.is_file() and cert.is_file() and key.is_file():
        return ca, cert, key
    openssl = shutil.which("openssl") or "/usr/bin/openssl"
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _run(
        [
            openssl,
            "req",
            "-x509",
            *curve,
            "-keyout",
            str(ca_key),
            "-out",
            str(ca),
            "-days",
            str(days),
            "-subj",
            "/O=Jiaozi stack/CN=Jiaozi stack local CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        "making the local CA",
    )
    csr = directory / "server.csr"
    _run(
        [
            openssl,
            "req",
            "-new",
            *curve,
            "-keyout",
            str(key),
            "-out",
            str(csr),
            "-subj",
            f"/O=Jiaozi stack/CN={host}",
        ],
        "making the server key",
    )
    ext = directory / "server.ext"
    ext.write_text(
        f"subjectAltName=IP:{host},DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    _run(
        [
            openssl,
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-out",
            str(cert),
            "-days",
            str(days),
            "-extfile",
            str(ext),
        ],
        "signing the server certificate",
    )
    for path in (ca_key, key):
        path.chmod(0o600)
    return ca, cert, key


# --- nginx -------------------------------------------------------------------------------


def nginx_binary() -> str | None:
    """Return the nginx executable's path, or None if nginx is not installed."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )


def render_nginx(values: Mapping[str, str | int | Path]) -> str:
    """Return deploy/nginx/jiaozi.conf.template with every ``@@NAME@@`` replaced by
    ``values[NAME]``; raise DemoError naming a placeholder left without a value."""
    text = NGINX_TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"@@{name}@@", str(value))
    if "@@" in text:
        left = text[text.index("@@") :].split("\n", 1)[0]
        raise DemoError(f"nginx template: no value for {left}")
    return text
