"""The demo's run: fresh directories, the ceremony, the services, the samples, the
national step, the summary; and ``main``, its command line and signal handling.

    python -m jiaozi.demo [--exit] [--issuer-port 8100] [--issuer-b-port 8101]
                          [--verifier-port 8200] [--registry-port 8300]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

import httpx

from issuer.errors import IssuerError
from keys import KeysError, generate_data_key
from verifier.cli import render_text

from .ceremony import run_ceremony
from .layout import (
    BASE,
    BATCH_ENV,
    BATCH_PHOTOS,
    CLAIM_CODES_FILE,
    CLERK_KEYS_FILE,
    OFFICES,
    REGISTRY_NAME,
    SAMPLE_CSV,
    SIGN_IN_FILE,
    SUPERVISOR_KEYS_FILE,
    Layout,
    OfficeSpec,
    secret_file,
)
from .national import NATIONAL_SYNC_INTERVAL, restrict_across_offices
from .officers import enrol_officers, sign_in_text
from .photos import photos_zip
from .report import after_exit, where_to_look
from .samples import OfficeClient, VerifierClient, applicants, pad, poll, result, verdict_text
from .services import DemoError, Service, choose_port, clean_env

__all__ = ["Demo", "main"]

START_TIMEOUT = 90.0  # seconds for a service to answer (a busy laptop, a cold disk)
SYNC_INTERVAL = 2  # the demo verifier's background sync period, seconds
# which office issues each sample row (the last row is the rare-character name); the
# person of row 3, certified at B, is then restricted at A
ISSUED_AT = "AABBA"
RESTRICTED_ROW = 3
# the certificate whose claim code the summary prints: A's, never revoked nor restricted
HOLDER_ROW = 1
SUPERVISORS = (("demo-sup-a", "演示审核人甲"), ("demo-sup-b", "演示审核人乙"))


class Demo:
    """One run of the demo on the given ports (office A, office B, verifier, registry)."""

    def __init__(self, ports: dict[str, int]) -> None:
        self.layout = Layout(BASE.resolve())
        self.http = httpx.Client(timeout=30)
        self.services: list[Service] = []
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        self.offices = {
            s.key: OfficeClient(s, self.urls[s.key], self.http, self.layout) for s in OFFICES
        }
        self.verifier = VerifierClient(self.urls["verifier"], self.http)
        # Fresh secrets every run: the demo writes them down (env/), and a value from the
        # caller's environment may guard real keys. The restriction key is the one secret
        # the offices and the registry share (person references must match nationally).
        homes = ["root", "registry", *(s.home_name for s in OFFICES)]
        self.passphrases = {home: secrets.token_urlsafe(24) for home in homes}
        self.restriction_key = secrets.token_urlsafe(32)
        self.env: dict[str, dict[str, str]] = {}
        self.holder: dict[str, str] = {}  # the printed claim code: url, number, code

    # -- setup

    def fresh_home(self) -> None:
        if BASE.exists():
            shutil.rmtree(BASE)
        self.layout.make()
        (BASE / "demo.pid").write_text(f"{os.getpid()}\n")
        self.env = {"root": self.root_env(), "registry": self.registry_env()}
        self.env |= {s.home_name: self.office_env(s) for s in OFFICES}
        for name, env in self.env.items():
            self.write_env(name, env)

    def write_env(self, name: str, env: dict[str, str]) -> None:
        """Write the ``JIAOZI_*`` of ``env`` to env/<name>.env (0600, shell syntax): what a
        service manager would hold; the demo writes it down so that commands can be tried."""
        lines = [f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()) if k.startswith("JIAOZI_")]
        secret_file(self.layout.env / f"{name}.env", "\n".join(lines))

    def root_env(self) -> dict[str, str]:
        return clean_env(
            JIAOZI_HOME=str(self.layout.root), JIAOZI_KEY_PASSPHRASE=self.passphrases["root"]
        )

    def office_env(self, spec: OfficeSpec) -> dict[str, str]:
        home = self.layout.office(spec)
        return clean_env(
            JIAOZI_ENV="development",
            JIAOZI_HOME=str(home),
            JIAOZI_KEY_PASSPHRASE=self.passphrases[spec.home_name],
            JIAOZI_DATABASE_URL=f"sqlite:///{home / 'issuer.db'}",
            # the static bootstrap key: a fresh secret nobody is told (the demo's admins
            # are accounts made with `jiaozi accounts create-admin`)
            JIAOZI_API_KEY=secrets.token_urlsafe(32),
            JIAOZI_ID_HMAC_KEY=secrets.token_urlsafe(32),
            JIAOZI_DATA_KEY=generate_data_key(),
            JIAOZI_RESTRICTION_HMAC_KEY=self.restriction_key,
            JIAOZI_OFFICE_ID=spec.office_id,
            JIAOZI_OFFICE_NAME=spec.name,
            JIAOZI_PROVINCE=spec.province,
            JIAOZI_OFFICE_CODE=spec.office_code,
            JIAOZI_PUBLIC_URL=self.urls[spec.key],
            JIAOZI_VERIFIER_URL=self.urls["verifier"],
            JIAOZI_REGISTRY_URL=self.urls["registry"],
            JIAOZI_NATIONAL_SYNC_INTERVAL=str(NATIONAL_SYNC_INTERVAL),
        )

    def registry_env(self) -> dict[str, str]:
        return clean_env(
            JIAOZI_ENV="development",
            JIAOZI_HOME=str(self.layout.registry),
            JIAOZI_KEY_PASSPHRASE=self.passphrases["registry"],
            JIAOZI_REGISTRY_DATABASE_URL=f"sqlite:///{self.layout.registry / 'registry.db'}",
            JIAOZI_PUBLIC_URL=self.urls["registry"],
            JIAOZI_REGISTRY_DATA_KEY=generate_data_key(),
            JIAOZI_RESTRICTION_HMAC_KEY=self.restriction_key,
            JIAOZI_REGISTRY_AUDIT_KEY=secrets.token_urlsafe(32),
        )

    def verifier_env(self, feed_keys: dict[str, str]) -> dict[str, str]:
        """The verifier's environment: public settings and the offices' feed keys only."""
        issuers = [{"base_url": self.urls[k], "api_key": key} for k, key in feed_keys.items()]
        return clean_env(
            JIAOZI_ENV="development",
            JIAOZI_DATABASE_URL=f"sqlite:///{self.layout.verifier / 'verifier.db'}",
            JIAOZI_PUBLIC_URL=self.urls["verifier"],
            JIAOZI_ROOT_JWKS=str(self.layout.verifier / "root.jwks.json"),
            # the trust list as the registry serves it (the ceremony's export; it signs nothing)
            JIAOZI_TRUST_LIST_URL=f"{self.urls['registry']}/trust-list.jwt",
            JIAOZI_ISSUERS=json.dumps(issuers),
            JIAOZI_SYNC_INTERVAL=str(SYNC_INTERVAL),
            JIAOZI_REGISTRY_URL=self.urls["registry"],
        )

    def make_keys(self) -> None:
        """The key ceremony (jiaozi.demo.ceremony), each key in its own home."""
        try:
            made = run_ceremony(self.layout, self.passphrases, now=int(time.time()))
        except KeysError as exc:
            raise DemoError(f"the key ceremony refused a step: {exc}") from exc
        print(f"密钥仪式 / key ceremony: trust list seq {made.sequence}; each key in its own home:")
        homes = [
            (
                "根密钥 root key",
                "root",
                f"root key {made.root_kid}; the ceremony's home: no service reads it",
            ),
            ("登记中心 registry", "registry", f"{REGISTRY_NAME}, key {made.registry_kid}"),
            *(
                (
                    f"{s.short}机构 office {s.key}",
                    s.home_name,
                    f"{s.name}, key {made.office_kids[s.office_id]}",
                )
                for s in OFFICES
            ),
            ("核验服务 verifier", "verifier", "root.jwks.json only: no private key"),
        ]
        for label, home, what in homes:
            print(f"  {pad(label, 20)} {pad(f'{BASE}/{home}/', 24)} ({what})")

    def _accounts(self, spec: OfficeSpec, *args: str) -> str:
        """Run ``jiaozi accounts <args>`` on the office's machine; return the key it prints."""
        out = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
            [sys.executable, "-m", "jiaozi", "accounts", *args],
            env=self.env[spec.home_name],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode != 0:
            raise DemoError(
                f"jiaozi accounts {args[0]} failed at {spec.short}:\n    {out.stderr.strip()}"
            )
        return out.stdout.strip()

    def _account(self, spec: OfficeSpec, username: str, name: str, role: str) -> None:
        """Make an officer of ``spec``'s office on its machine (``jiaozi accounts``) and
        keep its key under ``admin`` (an admin) or its username."""
        verb = ["create-admin"] if role == "admin" else ["create-officer", "--role", role]
        key = self._accounts(spec, *verb, "--username", username, "--name", name)
        self.offices[spec.key].keys["admin" if role == "admin" else username] = {
            "Authorization": f"Bearer {key}"
        }

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> Service:
        port = self.urls[name].rsplit(":", 1)[1]
        label = {"A": "issuer-A", "B": "issuer-B"}.get(name, name)
        service = Service.start(
            label,
            [*args, "--host", "127.0.0.1", "--port", port],
            url=self.urls[name],
            env=env,
            log=self.layout.logs / f"{self.log_name(name)}.log",
        )
        self.services.append(service)
        return service

    @staticmethod
    def log_name(name: str) -> str:
        return {s.key: s.home_name for s in OFFICES}.get(name, name)

    def start_national(self) -> None:
        """Start the registry (it needs only its home); at each office make the admin on the
        machine (the first command there creates the database), then start its issuer
        while office A's two supervisors are made beside it (deployment acts: over the API
        one admin alone cannot make a supervisor; only A revokes and restricts). Return
        once all three services answer."""
        registry = self._start("registry", ["registry", "serve"], self.env["registry"])
        with ThreadPoolExecutor(len(OFFICES) + len(SUPERVISORS)) as pool:
            admins = [
                pool.submit(self._account, s, "demo-admin", "演示管理员", "admin") for s in OFFICES
            ]
            for done in admins:
                done.result()
            started = [
                self._start(s.key, ["issuer", "serve"], self.env[s.home_name]) for s in OFFICES
            ]
            supervisors = [
                pool.submit(self._account, OFFICES[0], username, name, "supervisor")
                for username, name in SUPERVISORS
            ]
            for done in supervisors:
                done.result()
        keys = [
            f"{s.office_id} {self.offices[s.key].keys['admin']['Authorization'][7:]}"
            for s in OFFICES
        ]
        secret_file(BASE / "ADMIN-API-KEYS.txt", "\n".join(keys))
        registry.wait_ready("/healthz", START_TIMEOUT)
        for service in started:
            service.wait_ready("/.well-known/jwks.json", START_TIMEOUT)
        print(f"\n全国登记中心已启动 / registry running at {self.urls['registry']}")
        for spec in OFFICES:
            print(
                f"签发服务已启动 / office {spec.key} ({spec.short}) running at {self.urls[spec.key]}"
            )

    def enrol_console(self) -> None:
        """Enrol office A's admin, clerk and supervisors at the console; write their
        sign-in details to OFFICE-SIGN-IN.txt (0600)."""
        spec = OFFICES[0]
        people = [("demo-admin", "admin"), ("demo-clerk", "clerk")]
        people += [(username, "supervisor") for username, _ in SUPERVISORS]
        try:
            enrolled = enrol_officers(self.env[spec.home_name], people)
        except IssuerError as exc:
            raise DemoError(f"enrolling the console's officers failed: {exc}") from exc
        secret_file(BASE / SIGN_IN_FILE, sign_in_text(spec, self.urls[spec.key], enrolled))
        print(
            f"\n办公控制台 / office console: {self.urls[spec.key]}/office "
            f"(sign-in details for A's officers: {BASE}/{SIGN_IN_FILE})"
        )

    def save_officer_keys(self) -> None:
        """Write the clerks' and the supervisors' API keys beside the admins' (0600): one
        ``<office id> <key>`` line per clerk, ``<office id> <username> <key>`` per
        supervisor, so that the API can be tried as each role."""
        clerks, supervisors = [], []
        for spec in OFFICES:
            keys = self.offices[spec.key].keys
            if "demo-clerk" in keys:
                clerks.append(f"{spec.office_id} {keys['demo-clerk']['Authorization'][7:]}")
            supervisors += [
                f"{spec.office_id} {username} {keys[username]['Authorization'][7:]}"
                for username, _ in SUPERVISORS
                if username in keys
            ]
        secret_file(BASE / CLERK_KEYS_FILE, "\n".join(clerks))
        secret_file(BASE / SUPERVISOR_KEYS_FILE, "\n".join(supervisors))

    def write_batch_env(self) -> None:
        """Write batch-issue.env (0600): office A's ``JIAOZI_*`` as ``export`` lines, to
        ``source`` before ``jiaozi batch issue``, which needs no server but the office's
        database, settings and key store (issuer/cli/batch.py). The static bootstrap API
        key is left out: the batch command does not use the API."""
        env = self.env[OFFICES[0].home_name]
        lines = [
            f"export {k}={shlex.quote(v)}"
            for k, v in sorted(env.items())
            if k.startswith("JIAOZI_") and k != "JIAOZI_API_KEY"
        ]
        head = [
            f"# {OFFICES[0].short}（{OFFICES[0].key}）批量签发环境 / office {OFFICES[0].key}'s "
            "environment for `jiaozi batch issue` (demo only: secrets)",
        ]
        secret_file(BASE / BATCH_ENV, "\n".join(head + lines))
        # the sample CSV's holders' photos (synthetic), named by application number
        with SAMPLE_CSV.open(encoding="utf-8") as f:
            ids = [row["request_id"] for row in csv.DictReader(f)]
        (BASE / BATCH_PHOTOS).write_bytes(photos_zip(ids, seed=500))

    def make_claim_codes(self, issued: list[dict[str, Any]]) -> None:
        """Make a claim code for each sample certificate at its office as its clerk would
        (the API), write them to CLAIM-CODES.txt (0600; a code is shown once and opens the
        teacher's certificates) and keep HOLDER_ROW's for the summary."""
        lines = []
        for i, cert in enumerate(issued):
            office = next(o for o in self.offices.values() if o.spec.office_id == cert["office"])
            made = office.claim_code(cert["certificate_number"])
            lines.append(
                f"{cert['certificate_number']} {made['claim_code']} {made['expires_at']} "
                f"{made['holder_url']}"
            )
            if i == HOLDER_ROW:
                self.holder = {
                    "url": made["holder_url"],
                    "certificate_number": cert["certificate_number"],
                    "claim_code": made["claim_code"],
                }
        head = "# 证书号码 领取码 有效期至 持证人页面 / number, claim code, expires (UTC), holder pages"
        secret_file(BASE / CLAIM_CODES_FILE, "\n".join([head, *lines]))
        print(
            f"\n领取码 / claim codes: one per teacher, made by the clerks "
            f"(POST …/claim-code) → {BASE}/{CLAIM_CODES_FILE}"
        )

    # -- the whole run

    def run(self) -> dict[str, Any]:
        """Run every step, print it, write demo.json; return its content (the summary is
        printed by ``main``: what is live differs with ``--exit``)."""
        self.fresh_home()
        self.make_keys()
        self.start_national()
        a, b = self.offices["A"], self.offices["B"]
        feeds = {"A": a.make_accounts(clerk=True), "B": b.make_accounts(clerk=True)}
        self.env["verifier"] = self.verifier_env(feeds)  # its secrets: these client keys only
        self.write_env("verifier", self.env["verifier"])
        self.save_officer_keys()
        self.write_batch_env()
        self.enrol_console()
        verifier = self._start("verifier", ["verifier", "serve"], self.env["verifier"])

        rows = applicants()
        issued: list[dict[str, Any]] = []
        print("\n签发并下载 PDF / issuing through the API and downloading the signed PDFs:")
        for row, at in zip(rows, ISSUED_AT, strict=True):
            cert = self.offices[at].issue(row)
            issued.append(cert)
            print(
                f"  {cert['certificate_number']}  {pad(cert['name'], 8)}  "
                f"{pad(cert['qualification_name'], 28)} {at} → {BASE}/{cert['pdf']}"
            )
        self.make_claim_codes(issued)

        verifier.wait_ready("/api/v1/sync-status", START_TIMEOUT)
        print(f"\n核验服务已启动 / verifier running at {self.urls['verifier']}; 核验 / verifying:")
        for cert in issued:
            qr: str = cert["qr_url"]
            body = poll(
                f"verifying {cert['certificate_number']}",
                lambda qr=qr: self.verifier.verify(qr),  # type: ignore[misc]
                # until the first sync round has fetched the trust list: 503, no verdict
                lambda answer: answer.get("verdict") == "valid",
            )
            cert["verdict"] = body["verdict"]
            print(
                f"  {cert['certificate_number']}  {pad(cert['name'], 8)}  QR → {verdict_text(body)}"
            )
        upload = self.verifier.verify_pdf(self.layout.base / issued[-1]["pdf"])
        print(f"  {issued[-1]['certificate_number']}  PDF 上传 / uploaded → {verdict_text(upload)}")

        victim = issued[0]
        a.revoke(victim["certificate_number"])
        print(
            f"\n撤销 {victim['certificate_number']}：审核人甲提出，审核人乙批准 / revoked at A: supervisor A asked, B approved"
        )
        after = poll(
            "the verifier seeing the revocation",
            lambda: self.verifier.verify(victim["qr_url"]),
            lambda answer: answer.get("verdict") == "not_valid",
        )
        victim["verdict"] = after["verdict"]
        print(f"核验服务同步后再次核验 {victim['certificate_number']}（{victim['name']}）")
        print("/ verified again once the verifier synced:\n")
        print("  " + render_text(result(after), "zh").replace("\n", "\n  "))

        barred = issued[RESTRICTED_ROW]
        national = restrict_across_offices(a, b, self.verifier, rows[RESTRICTED_ROW], barred)
        barred["verdict"] = national["verdict"]
        others = [c for c in issued if c is not victim and c is not barred]
        for cert in others:  # judged again against the same synced data
            cert["verdict"] = self.verifier.verify(cert["qr_url"]).get("verdict")
        judged = "、".join(sorted({verdict_text({"verdict": c["verdict"]}) for c in others}))
        print(f"\n其余 {len(others)} 张再次核验 / the others, judged again: {judged}")

        status_lists = {}
        for spec, cert in ((a.spec, victim), (b.spec, barred)):
            path = self.offices[spec.key].save_status(cert["status_list"]["uri"])
            status_lists[spec.office_id] = str(path.relative_to(self.layout.base))
        summary = {
            "verifier_url": self.urls["verifier"],
            "registry_url": self.urls["registry"],
            "offices": [
                {
                    "office_id": s.office_id,
                    "name": s.name,
                    "short": s.short,
                    "url": self.urls[s.key],
                    "home": s.home_name,
                }
                for s in OFFICES
            ],
            "status_lists": status_lists,
            "status_list_uris": {
                a.spec.office_id: victim["status_list"]["uri"],
                b.spec.office_id: barred["status_list"]["uri"],
            },
            "revoked": victim["certificate_number"],
            # the claim code itself is in CLAIM-CODES.txt (0600) only
            "holder": {k: v for k, v in self.holder.items() if k != "claim_code"},
            "batch": {"env": BATCH_ENV, "csv": str(SAMPLE_CSV), "photos": BATCH_PHOTOS},
            "national": national,
            "certificates": [
                {
                    "certificate_number": c["certificate_number"],
                    "office": c["office"],
                    "name": c["name"],
                    "pdf": c["pdf"],
                    "qr_url": c["qr_url"],
                    "verdict": c["verdict"],
                }
                for c in issued
            ],
        }
        (BASE / "demo.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
        return summary

    def stop(self) -> None:
        self.http.close()
        for service in reversed(self.services):
            service.stop()
        self.services.clear()

    def serve_until_interrupted(self) -> int:
        print(
            "\n登记中心、签发与核验服务继续运行，按 Ctrl-C 停止 / the registry, both offices "
            "and the verifier keep running: press Ctrl-C to stop them.",
            flush=True,
        )
        while True:
            for service in self.services:
                if not service.running():
                    code = service.proc.returncode
                    print(str(service.failure(f"stopped (code {code})")), file=sys.stderr)
                    return 1
            time.sleep(0.5)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _previous_demo_running() -> int | None:
    try:
        pid = int((BASE / "demo.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit code (0, or 1 after an error it printed)."""
    parser = argparse.ArgumentParser(
        prog="python -m jiaozi.demo",
        description="Start the registry, two offices and the verifier on SQLite under "
        "var/demo/, issue, verify, revoke and restrict sample certificates, then keep "
        "serving until Ctrl-C.",
    )
    parser.add_argument(
        "--exit",
        action="store_true",
        default=os.environ.get("JIAOZI_DEMO_EXIT", "") not in ("", "0"),
        help="stop the services and exit once the samples are made (or JIAOZI_DEMO_EXIT=1)",
    )
    defaults = {"A": OFFICES[0].port, "B": OFFICES[1].port, "verifier": 8200, "registry": 8300}
    parser.add_argument(
        "--issuer-port", type=int, default=defaults["A"], help="office A (北京); 0: any free port"
    )
    parser.add_argument(
        "--issuer-b-port", type=int, default=defaults["B"], help="office B (上海); 0: any free port"
    )
    parser.add_argument(
        "--verifier-port", type=int, default=defaults["verifier"], help="0: any free port"
    )
    parser.add_argument(
        "--registry-port", type=int, default=defaults["registry"], help="0: any free port"
    )
    args = parser.parse_args(argv)

    running = _previous_demo_running()
    if running is not None:
        print(
            f"demo: another demo (pid {running}) is using {BASE}/; stop it first "
            f"(Ctrl-C in its terminal, or kill {running})",
            file=sys.stderr,
        )
        return 1
    wanted = {
        "A": ("office A", args.issuer_port),
        "B": ("office B", args.issuer_b_port),
        "verifier": ("verifier", args.verifier_port),
        "registry": ("registry", args.registry_port),
    }
    ports: dict[str, int] = {}
    for name, (what, port) in wanted.items():
        ports[name] = choose_port(port, what, taken=set(ports.values()))

    # Ctrl-C, `kill` and a closed terminal all stop the children (they run in their own
    # sessions, so only the demo hears the terminal's signals); SIGINT is set explicitly in
    # case the demo was started with it ignored (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    demo = Demo(ports)
    code = 0
    summary: dict[str, Any] | None = None
    try:
        summary = demo.run()
        if not args.exit:
            where_to_look(summary, demo.layout.base, demo.holder)
            code = demo.serve_until_interrupted()
    except KeyboardInterrupt:
        print("\n停止服务 / stopping the services…", file=sys.stderr)
    except DemoError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        code = 1
    finally:
        demo.stop()
        (BASE / "demo.pid").unlink(missing_ok=True)
    if not args.exit and code == 0:
        print("已停止 / stopped.", file=sys.stderr)
    if args.exit and code == 0 and summary is not None:
        # only now that every service has stopped: the summary must not offer closed
        # addresses as live ones
        after_exit(summary, demo.layout.base)
    return code
