"""The stack's run: directories, TLS, PostgreSQL, Redis, the key ceremony, the services,
nginx, a few sample certificates checked through nginx; ``main`` and its commands.

    python -m jiaozi.stack start [--exit] [--public-port 8443] [--issuer-port 9443]
                                 [--registry-port 9444]
    python -m jiaozi.stack stop | status
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from keys import KeysError, generate_data_key

from ..demo.ceremony import run_ceremony
from ..demo.layout import OFFICES, Layout, secret_file
from ..demo.samples import OfficeClient, applicants, expect, poll
from ..demo.services import DemoError, choose_port, clean_env
from .control import running_runner, stop_recorded
from .control import status as print_status
from .parts import Child, PgCluster, RedisServer, make_tls, nginx_binary, render_nginx

__all__ = ["BASE", "Stack", "StackError", "main"]

BASE = Path("var/stack")
HOST = "127.0.0.1"
START_TIMEOUT = 120.0  # seconds for a service to answer (2 busy cores, cold caches)
OFFICE = OFFICES[0]  # one office is enough: 北京 11/001
VERIFIERS = 2
SAMPLES = 2  # certificates issued at start, checked through nginx
SYNC_INTERVAL = 2  # the verifiers' background sync, seconds
PUBLISH_EVERY = 2.0  # the export loop, seconds
STATUS_TTL = 300  # the issuer's status list ttl; nginx lets caches keep a list ttl/2
# High enough that a load drill from one address is not refused, low enough to be a
# limit: the rate limiter (Redis, or in-process while Redis is down) runs on every request.
VERIFY_RATE_LIMIT = 100_000

StackError = DemoError


class Stack:
    """One production-like stack under ``base`` on the given ports (0: any free one)."""

    def __init__(
        self,
        base: Path = BASE,
        *,
        public_port: int = 8443,
        issuer_tls_port: int = 9443,
        registry_tls_port: int = 9444,
    ) -> None:
        self.base = base.resolve()
        self.layout = Layout(self.base)
        taken: set[int] = set()

        def port(wanted: int, what: str) -> int:
            chosen = choose_port(wanted, what, taken=taken)
            taken.add(chosen)
            return chosen

        self.ports = {
            "public": port(public_port, "public HTTPS (nginx)"),
            "issuer_tls": port(issuer_tls_port, "internal issuer HTTPS (nginx)"),
            "registry_tls": port(registry_tls_port, "internal registry HTTPS (nginx)"),
            "postgres": port(0, "PostgreSQL"),
            "redis": port(0, "Redis"),
            "registry": port(0, "registry"),
            "issuer": port(0, "issuer"),
            **{f"verifier_{i}": port(0, f"verifier {i}") for i in range(1, VERIFIERS + 1)},
        }
        p = self.ports
        self.public_url = f"https://{HOST}:{p['public']}"
        self.issuer_url = f"https://{HOST}:{p['issuer_tls']}"  # internal zone
        self.registry_url = f"https://{HOST}:{p['registry_tls']}"  # internal zone
        self.pg = PgCluster(self.base / "pg", p["postgres"], self.logs / "postgresql.log")
        self.redis = RedisServer(self.base / "redis", p["redis"], self.logs / "redis.log")
        self.children: dict[str, Child] = {}
        self.env: dict[str, dict[str, str]] = {}
        self.ca = self.base / "tls" / "ca.pem"
        self.http: httpx.Client | None = None
        self.certificates: list[dict[str, Any]] = []
        self.clerk: dict[str, str] = {}
        homes = ["root", "registry", OFFICE.home_name]
        self.passphrases = {home: secrets.token_urlsafe(24) for home in homes}
        self.restriction_key = secrets.token_urlsafe(32)

    def tls_context(self) -> ssl.SSLContext:
        """Return a client TLS context trusting the stack's CA (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.ca))

    # -- paths

    @property
    def logs(self) -> Path:
        return self.base / "logs"

    @property
    def public_dir(self) -> Path:
        return self.base / "public"

    @property
    def nginx_dir(self) -> Path:
        return self.base / "nginx"

    @property
    def state_file(self) -> Path:
        return self.base / "stack.json"

    # -- environments (what the systemd units' EnvironmentFile= would hold: deploy/env/)

    def _common(self) -> dict[str, str]:
        # The services trust the local CA for the HTTPS they call (issuer -> registry,
        # verifier -> nginx); certifi's bundle is not used then (httpx reads SSL_CERT_FILE).
        return clean_env(JIAOZI_ENV="production", SSL_CERT_FILE=str(self.ca))

    def registry_env(self) -> dict[str, str]:
        return self._common() | {
            "JIAOZI_HOME": str(self.layout.registry),
            "JIAOZI_KEY_PASSPHRASE": self.passphrases["registry"],
            "JIAOZI_REGISTRY_DATABASE_URL": self.pg.url("jiaozi_registry"),
            "JIAOZI_PUBLIC_URL": self.registry_url,
            "JIAOZI_REGISTRY_DATA_KEY": generate_data_key(),
            "JIAOZI_RESTRICTION_HMAC_KEY": self.restriction_key,
            "JIAOZI_REGISTRY_AUDIT_KEY": secrets.token_urlsafe(32),
            "JIAOZI_TRUSTED_PROXIES": HOST,
        }

    def issuer_env(self) -> dict[str, str]:
        home = self.layout.office(OFFICE)
        return self._common() | {
            "JIAOZI_HOME": str(home),
            "JIAOZI_KEY_PASSPHRASE": self.passphrases[OFFICE.home_name],
            "JIAOZI_DATABASE_URL": self.pg.url("jiaozi_issuer"),
            "JIAOZI_API_KEY": secrets.token_urlsafe(32),
            "JIAOZI_ID_HMAC_KEY": secrets.token_urlsafe(32),
            "JIAOZI_DATA_KEY": generate_data_key(),
            "JIAOZI_RESTRICTION_HMAC_KEY": self.restriction_key,
            "JIAOZI_OFFICE_ID": OFFICE.office_id,
            "JIAOZI_OFFICE_NAME": OFFICE.name,
            "JIAOZI_PROVINCE": OFFICE.province,
            "JIAOZI_OFFICE_CODE": OFFICE.office_code,
            # Status lists name this URL: nginx serves them there as static files.
            "JIAOZI_PUBLIC_URL": self.public_url,
            "JIAOZI_VERIFIER_URL": self.public_url,
            "JIAOZI_REGISTRY_URL": self.registry_url,
            "JIAOZI_TRUSTED_PROXIES": HOST,
            "JIAOZI_STATUS_TTL_SECONDS": str(STATUS_TTL),
            "JIAOZI_PUBLISH_INTERVAL_SECONDS": "10",
            "JIAOZI_NATIONAL_SYNC_INTERVAL": "10",
        }

    def verifier_env(self, feed_key: str) -> dict[str, str]:
        issuers = [{"base_url": self.public_url, "api_key": feed_key, "api_url": self.issuer_url}]
        return self._common() | {
            "JIAOZI_DATABASE_URL": self.pg.url("jiaozi_verifier"),
            "JIAOZI_REDIS_URL": self.redis.url,
            "JIAOZI_PUBLIC_URL": self.public_url,
            "JIAOZI_ROOT_JWKS": str(self.layout.verifier / "root.jwks.json"),
            # the trust list as nginx serves it (the issuer's export of the ceremony's list)
            "JIAOZI_TRUST_LIST_URL": f"{self.public_url}/trust-list.jwt",
            "JIAOZI_ISSUERS": json.dumps(issuers),
            "JIAOZI_SYNC_INTERVAL": str(SYNC_INTERVAL),
            "JIAOZI_REGISTRY_URL": self.registry_url,
            "JIAOZI_TRUSTED_PROXIES": HOST,
            "JIAOZI_VERIFY_RATE_LIMIT": str(VERIFY_RATE_LIMIT),
        }

    def write_env(self, name: str, env: dict[str, str]) -> None:
        """Write ``env``'s JIAOZI_* (and SSL_CERT_FILE) to env/<name>.env, 0600."""
        keep = {k: v for k, v in env.items() if k.startswith("JIAOZI_") or k == "SSL_CERT_FILE"}
        lines = [f"{k}={shlex.quote(v)}" for k, v in sorted(keep.items())]
        secret_file(self.base / "env" / f"{name}.env", "\n".join(lines))

    # -- steps

    def fresh(self) -> None:
        """Start from an empty var/stack (a stack left running is stopped first)."""
        if self.base.exists():
            stop_recorded(self.base)
            shutil.rmtree(self.base)
        for path in (
            self.layout.root,
            self.layout.registry,
            self.layout.office(OFFICE),
            self.layout.verifier,
            self.layout.published,
            self.layout.certificates,
            self.layout.pdf,
            self.logs,
            self.public_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)
        (self.base / "env").mkdir(mode=0o700, exist_ok=True)
        (self.base / "stack.pid").write_text(f"{os.getpid()}\n")

    def _jiaozi(self, name: str, args: list[str], env: dict[str, str]) -> Child:
        child = Child(name, [sys.executable, "-m", "jiaozi", *args], self.logs / f"{name}.log", env)
        self.children[name] = child.start()
        self._record()
        return child

    def _accounts(self, *args: str) -> str:
        out = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
            [sys.executable, "-m", "jiaozi", "accounts", *args],
            env=self.env["issuer"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if out.returncode != 0:
            raise DemoError(f"jiaozi accounts {args[0]} failed:\n    {out.stderr.strip()}")
        return out.stdout.strip()

    def start_nginx(self) -> Child:
        """Render deploy/nginx/jiaozi.conf.template into var/stack/nginx, check it with
        ``nginx -t`` and start nginx in the foreground (a child of the runner)."""
        binary = nginx_binary()
        if binary is None:
            raise DemoError("nginx is not installed: run scripts/system-packages.sh (as root)")
        temp = self.nginx_dir / "temp"
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (temp / sub).mkdir(parents=True, exist_ok=True)
        root = os.geteuid() == 0
        if root:  # the workers drop to www-data: their temporary files are theirs
            for path in [temp, *temp.iterdir()]:
                shutil.chown(path, "www-data", "www-data")
        (self.nginx_dir / "run").mkdir(exist_ok=True)
        p = self.ports
        values: dict[str, str | int | Path] = {
            "USER_LINE": "user www-data;"
            if root
            else "# (not root: the workers run as the user who started nginx)",
            "RUN": self.nginx_dir / "run",
            "LOGS": self.logs,
            "TEMP": temp,
            "TLS_CERT": self.base / "tls" / "server.pem",
            "TLS_KEY": self.base / "tls" / "server.key",
            "UPLOAD_LIMIT": "11m",
            "BATCH_LIMIT": "11m",
            "PUBLIC_ADDR": HOST,
            "PUBLIC_PORT": p["public"],
            "INTERNAL_ADDR": HOST,
            "ISSUER_TLS_PORT": p["issuer_tls"],
            "REGISTRY_TLS_PORT": p["registry_tls"],
            "SERVER_NAME": HOST,
            "VERIFIER_PORT_1": p["verifier_1"],
            "VERIFIER_PORT_2": p["verifier_2"],
            "ISSUER_PORT": p["issuer"],
            "REGISTRY_PORT": p["registry"],
            "PUBLIC_DIR": self.public_dir,
            "STATUS_MAX_AGE": STATUS_TTL // 2,
        }
        conf = render_nginx(values)
        path = self.nginx_dir / "nginx.conf"
        path.write_text(conf)
        base = [
            binary,
            "-p",
            str(self.nginx_dir),
            "-c",
            str(path),
            "-e",
            str(self.logs / "nginx-error.log"),
        ]
        check = subprocess.run(  # noqa: S603 - the nginx binary, our config
            [*base, "-t", "-q"], capture_output=True, text=True, timeout=30
        )
        if check.returncode != 0:
            raise DemoError(f"nginx -t refused {path}:\n{check.stderr}")
        nginx = Child("nginx", [*base, "-g", "daemon off;"], self.logs / "nginx.log").start()
        self.children["nginx"] = nginx
        self._record()
        return nginx

    def start(self, *, samples: int = SAMPLES) -> None:
        """Start everything, issue ``samples`` certificates and check that each verifies
        as valid through nginx; raise DemoError (StackError) naming what failed."""
        self.fresh()
        make_tls(self.base / "tls", host=HOST)
        self.http = httpx.Client(timeout=60, verify=self.tls_context())
        self.pg.init()
        self.pg.start()
        self.pg.create_databases()
        self.redis.start()
        try:
            made = run_ceremony(
                self.layout, self.passphrases, now=int(time.time()), offices=[OFFICE]
            )
        except KeysError as exc:
            raise DemoError(f"the key ceremony refused a step: {exc}") from exc
        print(f"密钥仪式 / key ceremony: trust list seq {made.sequence}", flush=True)

        self.env["registry"] = self.registry_env()
        self.env["issuer"] = self.issuer_env()
        self.write_env("registry", self.env["registry"])
        self.write_env("issuer", self.env["issuer"])
        p = self.ports
        registry = self._jiaozi(
            "registry",
            ["registry", "serve", "--host", HOST, "--port", str(p["registry"])],
            self.env["registry"],
        )
        # the first command on the office's machine creates the database (migrations)
        admin_key = self._accounts(
            "create-admin", "--username", "stack-admin", "--name", "部署管理员"
        )
        secret_file(self.base / "ADMIN-API-KEY.txt", admin_key)
        issuer = self._jiaozi(
            "issuer",
            ["issuer", "serve", "--host", HOST, "--port", str(p["issuer"])],
            self.env["issuer"],
        )
        publish = Child(
            "publish",
            [
                sys.executable,
                "-m",
                "jiaozi.stack.publish",
                str(self.public_dir),
                "--every",
                str(PUBLISH_EVERY),
            ],
            self.logs / "publish.log",
            self.env["issuer"],
        )
        self.children["publish"] = publish.start()
        nginx = self.start_nginx()  # before the services answer: it only proxies
        registry.wait_http(f"http://{HOST}:{p['registry']}/healthz", START_TIMEOUT)
        issuer.wait_http(f"http://{HOST}:{p['issuer']}/.well-known/jwks.json", START_TIMEOUT)
        nginx.wait_http(f"{self.issuer_url}/.well-known/jwks.json", 30, verify=self.tls_context())
        # the verifiers' first sync wants the trust list where nginx serves it
        self._wait_file(self.public_dir / "trust-list.jwt")

        office = OfficeClient(OFFICE, self.issuer_url, self.http, self.layout)
        office.keys["admin"] = {"Authorization": f"Bearer {admin_key}"}
        feed_key = office.make_accounts(clerk=True)
        self.clerk = office.keys["demo-clerk"]
        self.env["verifier"] = self.verifier_env(feed_key)
        self.write_env("verifier", self.env["verifier"])
        # one after the other: the first migrates the shared database
        for i in range(1, VERIFIERS + 1):
            self.start_verifier(i)

        rows = applicants()[:samples]
        for row in rows:
            self.certificates.append(office.issue(row))
        # every replica, asked directly, then through nginx: each syncs on its own
        bases = [f"http://{HOST}:{self.ports[f'verifier_{i}']}" for i in range(1, VERIFIERS + 1)]
        for cert in self.certificates:
            qr = cert["qr_url"]
            for base in [*bases, self.public_url]:
                poll(
                    f"verifying {cert['certificate_number']} at {base}",
                    lambda qr=qr, base=base: self.verify(qr, base),  # type: ignore[misc]
                    lambda answer: answer.get("verdict") == "valid",
                )
        self._record()

    def start_verifier(self, i: int) -> Child:
        """Start verifier replica ``i`` (again, after a drill killed it) and wait for it."""
        port = self.ports[f"verifier_{i}"]
        child = self._jiaozi(
            f"verifier-{i}",
            ["verifier", "serve", "--host", HOST, "--port", str(port)],
            self.env["verifier"],
        )
        child.wait_http(f"http://{HOST}:{port}/healthz", START_TIMEOUT)
        # started again (after a drill or a crash): in service only once it judges as the
        # other replica does, from the shared database
        for cert in self.certificates:
            qr = cert["qr_url"]
            poll(
                f"verifier {i} judging {cert['certificate_number']}",
                lambda qr=qr: self.verify(qr, f"http://{HOST}:{port}"),  # type: ignore[misc]
                lambda answer: answer.get("verdict") == "valid",
            )
        return child

    def _wait_file(self, path: Path, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not path.is_file():
            if time.monotonic() >= deadline:
                raise self.children["publish"].failure(f"wrote no {path} in {timeout:.0f} s")
            time.sleep(0.2)

    def verify(self, qr: str, base: str | None = None) -> dict[str, Any]:
        """Return the verifier's answer for a QR link, through nginx unless ``base`` names
        a replica (``verdict`` None on a 503: before the first sync)."""
        assert self.http is not None
        r = self.http.post(f"{base or self.public_url}/api/v1/verify", json={"qr": qr})
        if r.status_code == 503:
            return {"verdict": None, "problem": r.json()}
        body: dict[str, Any] = expect(r, 200, doing="verifying through nginx")
        return body

    # -- state, stop

    def _record(self) -> None:
        state = {
            "base": str(self.base),
            "public_url": self.public_url,
            "issuer_url": self.issuer_url,
            "registry_url": self.registry_url,
            "ca": str(self.ca),
            "ports": self.ports,
            "pids": {name: c.pid for name, c in self.children.items() if c.running()}
            | ({"redis": self.redis.child.pid} if self.redis.child is not None else {}),
            "pg_data": str(self.pg.data),
            "pg_port": self.pg.port,
            "certificates": [
                {"certificate_number": c["certificate_number"], "qr_url": c["qr_url"]}
                for c in self.certificates
            ],
        }
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")

    def stop(self) -> None:
        """Stop everything this stack started (nginx first: no request meets a dying
        service), then Redis and PostgreSQL."""
        if self.http is not None:
            self.http.close()
        order = [
            "nginx",
            *[f"verifier-{i}" for i in range(VERIFIERS, 0, -1)],
            "publish",
            "issuer",
            "registry",
        ]
        for name in order:
            child = self.children.get(name)
            if child is not None:
                child.stop()
        self.redis.stop()
        try:
            self.pg.stop()
        finally:
            (self.base / "stack.pid").unlink(missing_ok=True)
            self.state_file.unlink(missing_ok=True)

    def describe(self) -> str:
        """Return what runs where, for the person who started it."""
        p = self.ports
        lines = [
            "",
            "公共区 / public zone (nginx, TLS by the local CA):",
            f"  核验 verifier      {self.public_url}/",
            f"                     (replicas 127.0.0.1:{p['verifier_1']}, :{p['verifier_2']})",
            f"  静态 static files  {self.public_url}/trust-list.jwt, /.well-known/jwks.json,",
            "                     /statuslists/<n>",
            f"  持证人 holder      {self.public_url}/holder",
            "内部区 / internal zone (loopback; another network in real life):",
            f"  签发 issuer        {self.issuer_url}/docs, /office   (direct: http://127.0.0.1:{p['issuer']})",
            f"  登记 registry      {self.registry_url}/docs   (direct: http://127.0.0.1:{p['registry']})",
            f"  PostgreSQL         127.0.0.1:{p['postgres']} (data {self.pg.data})",
            f"  Redis              {self.redis.url}",
            f"CA certificate: {self.ca}",
            f"  (curl --cacert {self.ca} {self.public_url}/trust-list.jwt)",
            f"logs: {self.logs}/   environments: {self.base}/env/ (0600)",
        ]
        for cert in self.certificates:
            lines.append(f"  sample {cert['certificate_number']}: {cert['qr_url'][:90]}…")
        return "\n".join(lines)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run ``start``, ``stop`` or ``status``; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m jiaozi.stack",
        description="A production-like Jiaozi stack on one machine under var/stack/: "
        "PostgreSQL, Redis, the registry, one office, two verifiers behind nginx (TLS).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start and serve until Ctrl-C")
    start.add_argument(
        "--exit",
        action="store_true",
        default=os.environ.get("JIAOZI_STACK_EXIT", "") not in ("", "0"),
        help="stop everything once it is up and checked (or JIAOZI_STACK_EXIT=1)",
    )
    start.add_argument("--public-port", type=int, default=8443, help="0: any free port")
    start.add_argument("--issuer-port", type=int, default=9443, help="internal HTTPS of the issuer")
    start.add_argument(
        "--registry-port", type=int, default=9444, help="internal HTTPS of the registry"
    )
    stop = sub.add_parser("stop", help="stop a stack started earlier")
    status = sub.add_parser("status", help="print what runs where")
    for command in (start, stop, status):
        command.add_argument(
            "--dir", type=Path, default=BASE, help="the stack's directory (default var/stack)"
        )
    args = parser.parse_args(argv)
    base: Path = args.dir.resolve()

    if args.command == "stop":
        stopped = stop_recorded(base)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    if args.command == "status":
        return print_status(base)
    runner = running_runner(base)
    if runner is not None:
        print(
            f"stack: another stack (pid {runner}) is using {base}/; stop it first "
            "(Ctrl-C in its terminal, or make stack-stop)",
            file=sys.stderr,
        )
        return 1

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    stack = Stack(
        base,
        public_port=args.public_port,
        issuer_tls_port=args.issuer_port,
        registry_tls_port=args.registry_port,
    )
    code = 0
    try:
        stack.start()
        print(stack.describe(), flush=True)
        if not args.exit:
            print(
                "\n运行中，按 Ctrl-C 停止 / running: Ctrl-C or make stack-stop.",
                flush=True,
            )
            code = _serve(stack)
    except KeyboardInterrupt:
        print("\n停止 / stopping…", file=sys.stderr)
    except DemoError as exc:
        print(f"stack: error: {exc}", file=sys.stderr)
        code = 1
    finally:
        stack.stop()
    return code


def _serve(stack: Stack) -> int:
    """Watch the children until one other than a verifier replica stops (return 1); a
    replica that dies is started again, as systemd's Restart=always would (a person can
    kill one and watch nginx carry on)."""
    while True:
        for name, child in list(stack.children.items()):
            if child.running():
                continue
            if name.startswith("verifier-"):
                print(f"{name} stopped (code {child.proc.returncode if child.proc else None}): "
                      "starting it again", file=sys.stderr, flush=True)  # fmt: skip
                stack.start_verifier(int(name.rsplit("-", 1)[1]))
                continue
            print(str(child.failure("stopped")), file=sys.stderr)
            return 1
        time.sleep(0.5)
