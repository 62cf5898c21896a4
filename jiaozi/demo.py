"""``make demo``: the whole chain on one machine, the real services on SQLite.

Under a fresh ``var/demo/`` (in the current directory) it creates a key store with a
generated passphrase, a national trust root and one office; starts the real issuer
(``jiaozi issuer serve``) and verifier (``jiaozi verifier serve``) as child processes;
issues sample certificates through the issuer's HTTP API as a clerk, downloads their
signed PDFs, verifies them through the verifier's API, revokes one (supervisor A asks,
supervisor B approves) and shows its verdict change once the verifier has synced. Then it
prints where to look and keeps both services running until Ctrl-C.

    python -m jiaozi.demo [--exit] [--issuer-port 8100] [--verifier-port 8200]

``--exit`` (or ``JIAOZI_DEMO_EXIT=1``) stops the services and exits 0 once the samples
are made: tests and CI use it. A port that is taken is replaced by a free one (said so);
port 0 asks for any free port.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from credential import (
    CertificateView,
    Check,
    QualificationType,
    Reason,
    Verdict,
    VerificationResult,
    beijing_date,
    parse_jws,
    qr_segments,
)
from keys import KeyStore, init_office, init_trust, install_answer, onboard
from verifier.cli import render_text

from .demo_services import DemoError, Service, choose_port, clean_env

HOME = Path("var/demo")
# the key ceremony's root home: apart from the office's home, which never holds a root key
ROOT_HOME = Path("var/demo-root")
OFFICE_ID = "urn:jiaozi:office:11001"
OFFICE_NAME = "北京市教育委员会教师资格认定中心"
SAMPLES = 4  # the first rows of the sample data, plus one rare-character name
START_TIMEOUT = 90.0  # seconds for a service to answer (a busy laptop, a cold disk)
SYNC_TIMEOUT = 60.0  # seconds for the verifier to see what the issuer published
PDF_TIMEOUT = 120.0
SYNC_INTERVAL = 2  # the demo verifier's background sync period, seconds
LOGS = ("issuer.log", "verifier.log")


# --- the sample data --------------------------------------------------------------------


def _applicants() -> list[dict[str, str]]:
    """Return the first rows of the sample data and its first rare-character name.

    A name outside GB 2312 (喆, 堃, 赟, ...) is what breaks systems and fonts that only
    know the common characters; the demo prints one.
    """
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "applicants-1000.csv"
    source = (
        shared if shared.is_file() else Path(__file__).with_name("data") / "sample-applicants.csv"
    )
    with source.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rest = rows[SAMPLES:]
    rare = [row for row in rest if not _common(row["name"])]
    return rows[:SAMPLES] + (rare or rest)[:1]


def _common(name: str) -> bool:
    try:
        name.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _application(row: dict[str, str]) -> dict[str, str]:
    return {
        "name": row["name"],
        "sex": row["gender"],
        "birth_date": row["birth_date"],
        "id_type": row["id_type"],
        "id_number": row["id_number"],
        "qualification_type": row["qualification_type"],
        "subject": row["subject"],
        "certified_on": row["issue_date"],
    }


# --- small helpers ----------------------------------------------------------------------


def _secret_file(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text + "\n")


def _save_qr_png(text: str, path: Path) -> bool:
    try:
        import segno
        import segno.consts
    except ImportError:  # the issuer extra draws QR images; the demo works without
        return False
    modes = {"byte": segno.consts.MODE_BYTE, "numeric": segno.consts.MODE_NUMERIC}
    segments = [(c, modes[m]) for c, m in qr_segments(text)]
    qr = segno.make_qr(segments, error="q", boost_error=False)  # type: ignore[arg-type]
    qr.save(str(path), scale=4, border=4)
    return True


def _expect(r: httpx.Response, *codes: int, doing: str) -> Any:
    if r.status_code not in codes:
        raise DemoError(f"{doing}: HTTP {r.status_code} from {r.request.url}\n    {r.text[:2000]}")
    if r.headers.get("content-type", "").startswith(("application/json", "application/problem")):
        return r.json()
    return r.content


def _poll(
    what: str, ask: Callable[[], dict[str, Any]], ok: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + SYNC_TIMEOUT
    while True:
        last = ask()
        if ok(last):
            return last
        if time.monotonic() >= deadline:
            raise DemoError(
                f"{what}: not seen within {SYNC_TIMEOUT:.0f} s (logs in {HOME}/logs/); "
                f"the last answer: {last}"
            )
        time.sleep(0.5)


def _pad(text: str, width: int) -> str:
    """Left-justify ``text`` to ``width`` terminal columns (a Chinese character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def _ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _result(body: dict[str, Any]) -> VerificationResult:
    """The verifier API's JSON (asked in Chinese) back as a result, to print like the CLI."""
    checked_at = _ts(body["checked_at"])
    assert checked_at is not None
    return VerificationResult(
        verdict=Verdict(body["verdict"]),
        reason=Reason(body["reason"]) if body.get("reason") else None,
        checks=tuple(Check(c["name"], c["ok"], c["detail"], c["detail"]) for c in body["checks"]),
        certificate=CertificateView(**body["certificate"]) if body.get("certificate") else None,
        status_as_of=_ts(body.get("status_as_of")),
        checked_at=checked_at,
    )


def _verdict(body: dict[str, Any]) -> str:
    text = f"{Verdict(body['verdict']).zh} ({body['verdict']})"
    return text + (f", {body['reason']}" if body.get("reason") else "")


# --- the demo ---------------------------------------------------------------------------


class Demo:
    def __init__(self, issuer_port: int, verifier_port: int) -> None:
        self.home = HOME.resolve()
        self.issuer_url = f"http://127.0.0.1:{issuer_port}"
        self.verifier_url = f"http://127.0.0.1:{verifier_port}"
        self.services: list[Service] = []
        self.http = httpx.Client(timeout=30)
        self.passphrase = ""
        self.keys: dict[str, dict[str, str]] = {}  # role -> Authorization header

    # -- setup

    def fresh_home(self) -> None:
        for home in (HOME, ROOT_HOME):
            if home.exists():
                shutil.rmtree(home)
        for sub in ("certificates", "pdf", "logs", "status"):
            (HOME / sub).mkdir(parents=True)
        (HOME / "demo.pid").write_text(f"{os.getpid()}\n")
        # always a fresh one: the demo writes it down, and a passphrase from the caller's
        # environment may guard real keys
        self.passphrase = secrets.token_urlsafe(24)
        _secret_file(HOME / "DEMO-PASSPHRASE.txt", self.passphrase)

    def make_keys(self) -> None:
        """The key ceremony in its own root home, the office onboarded from its own home
        by request and answer (docs/key-ceremony.md), as on two machines."""
        now = int(time.time())
        root = KeyStore(ROOT_HOME.resolve(), self.passphrase.encode())
        init_trust(root, now=now - 120)
        store = KeyStore(self.home, self.passphrase.encode())
        request = init_office(
            store,
            office_id=OFFICE_ID,
            name=OFFICE_NAME,
            province="11",
            office_code="001",
            qualification_types=list(QualificationType),
            now=now - 60,
        )
        install_answer(store, onboard(root, request, now=now - 60), now=now - 60)
        kid = store.active_signer(OFFICE_ID, now=now).kid
        print(f"信任根与认定机构已创建 / trust root and office created: {OFFICE_NAME} (key {kid})")
        print(f"  根密钥 root key store: {ROOT_HOME}/ (key ceremony only; the office has none)")

    def issuer_env(self) -> dict[str, str]:
        return clean_env(
            JIAOZI_ENV="development",
            JIAOZI_HOME=str(self.home),
            JIAOZI_KEY_PASSPHRASE=self.passphrase,
            JIAOZI_DATABASE_URL=f"sqlite:///{self.home / 'issuer.db'}",
            # the static bootstrap key: a fresh secret nobody is told (the demo's admin
            # is an account made with `jiaozi accounts create-admin`)
            JIAOZI_API_KEY=secrets.token_urlsafe(32),
            JIAOZI_OFFICE_ID=OFFICE_ID,
            JIAOZI_OFFICE_NAME=OFFICE_NAME,
            JIAOZI_PUBLIC_URL=self.issuer_url,
            JIAOZI_VERIFIER_URL=self.verifier_url,
        )

    def _cli(self, *args: str) -> str:
        """Run ``jiaozi accounts <args>`` on the office's machine; return the key it prints."""
        out = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
            [sys.executable, "-m", "jiaozi", "accounts", *args],
            env=self.issuer_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode != 0:
            raise DemoError(f"jiaozi accounts {args[0]} failed:\n    {out.stderr.strip()}")
        return out.stdout.strip()

    def create_admin(self) -> None:
        """The admin and the two supervisors, made on the machine (deployment acts): over
        the API one admin alone cannot make a supervisor (two-person rules)."""
        key = self._cli("create-admin", "--username", "demo-admin", "--name", "演示管理员")
        _secret_file(HOME / "ADMIN-API-KEY.txt", key)
        self.keys["admin"] = {"Authorization": f"Bearer {key}"}
        for username, name in (("demo-sup-a", "演示审核人甲"), ("demo-sup-b", "演示审核人乙")):
            key = self._cli(
                "create-officer", "--username", username, "--name", name, "--role", "supervisor"
            )
            self.keys[username] = {"Authorization": f"Bearer {key}"}

    def start_issuer(self) -> None:
        port = self.issuer_url.rsplit(":", 1)[1]
        issuer = Service.start(
            "issuer",
            ["issuer", "serve", "--host", "127.0.0.1", "--port", port],
            url=self.issuer_url,
            env=self.issuer_env(),
            log=self.home / "logs" / "issuer.log",
        )
        self.services.append(issuer)
        issuer.wait_ready("/.well-known/jwks.json", START_TIMEOUT)
        print(f"签发服务已启动 / issuer running at {self.issuer_url}")

    def make_accounts(self) -> str:
        """A clerk and the verifier's client (the supervisors were made on the machine);
        return the client's key."""
        admin = self.keys["admin"]
        for username, name, role in (("demo-clerk", "演示经办人", "clerk"),):
            r = self.http.post(
                f"{self.issuer_url}/api/v1/officers",
                json={"username": username, "display_name": name, "role": role},
                headers=admin,
            )
            body = _expect(r, 201, doing=f"creating the {role} {username}")
            self.keys[username] = {"Authorization": f"Bearer {body['api_key']}"}
        r = self.http.post(
            f"{self.issuer_url}/api/v1/clients",
            json={"name": "demo-verifier", "kind": "verifier"},
            headers=admin,
        )
        key: str = _expect(r, 201, doing="creating the verifier's client account")["api_key"]
        return key

    def start_verifier(self, feed_key: str) -> Service:
        port = self.verifier_url.rsplit(":", 1)[1]
        verifier = Service.start(
            "verifier",
            ["verifier", "serve", "--host", "127.0.0.1", "--port", port],
            url=self.verifier_url,
            env=clean_env(
                JIAOZI_ENV="development",
                JIAOZI_DATABASE_URL=f"sqlite:///{self.home / 'verifier.db'}",
                JIAOZI_PUBLIC_URL=self.verifier_url,
                JIAOZI_ROOT_JWKS=str(self.home / "trust" / "root.jwks.json"),
                JIAOZI_TRUST_LIST_URL=f"{self.issuer_url}/trust-list.jwt",
                JIAOZI_ISSUERS=json.dumps([{"base_url": self.issuer_url, "api_key": feed_key}]),
                JIAOZI_SYNC_INTERVAL=str(SYNC_INTERVAL),
            ),
            log=self.home / "logs" / "verifier.log",
        )
        self.services.append(verifier)
        return verifier

    # -- issuing

    def issue(self, row: dict[str, str]) -> dict[str, Any]:
        clerk = self.keys["demo-clerk"]
        r = self.http.post(
            f"{self.issuer_url}/api/v1/certificates",
            json=_application(row),
            headers={**clerk, "Idempotency-Key": f"demo-{row['request_id']}"},
        )
        cert: dict[str, Any] = _expect(r, 201, doing=f"issuing {row['request_id']}")
        number = cert["certificate_number"]
        base = HOME / "certificates" / number
        jws = cert["credential"]
        base.with_suffix(".vc.jwt").write_text(jws + "\n")
        doc = {"credential": dict(parse_jws(jws).payload), "jws": jws}
        base.with_suffix(".json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        base.with_suffix(".qr.txt").write_text(cert["qr_url"] + "\n")
        _save_qr_png(cert["qr_url"], base.with_suffix(".qr.png"))
        return cert

    def download_pdf(self, cert: dict[str, Any]) -> Path:
        number = cert["certificate_number"]
        r = self.http.get(
            f"{self.issuer_url}/api/v1/certificates/{number}/pdf",
            headers=self.keys["demo-clerk"],
            timeout=PDF_TIMEOUT,
        )
        pdf = _expect(r, 200, doing=f"downloading the PDF of {number}")
        path = HOME / "pdf" / f"{number}.pdf"
        path.write_bytes(pdf)
        return path

    # -- verifying

    def verify(self, qr: str) -> dict[str, Any]:
        r = self.http.post(
            f"{self.verifier_url}/api/v1/verify",
            json={"qr": qr},
            headers={"Accept-Language": "zh-CN"},
        )
        if r.status_code == 503:  # no_trust_list until the first sync round has run
            return {"verdict": None, "problem": r.json()}
        body: dict[str, Any] = _expect(r, 200, doing="verifying")
        return body

    def verify_pdf(self, path: Path) -> dict[str, Any]:
        r = self.http.post(
            f"{self.verifier_url}/api/v1/verify",
            files={"file": (path.name, path.read_bytes(), "application/pdf")},
            headers={"Accept-Language": "zh-CN"},
            timeout=60,
        )
        body: dict[str, Any] = _expect(r, 200, doing=f"verifying the upload of {path.name}")
        return body

    # -- revoking

    def revoke(self, number: str) -> None:
        decision = {
            "reason_code": "misconduct",
            "decision_date": beijing_date(dt.datetime.now(dt.UTC)).isoformat(),
            "legal_basis": "《教师资格条例》第十九条",
        }
        r = self.http.post(
            f"{self.issuer_url}/api/v1/certificates/{number}/revocations",
            json=decision,
            headers=self.keys["demo-sup-a"],
        )
        asked = _expect(r, 200, 202, doing=f"asking to revoke {number}")
        if asked["state"] == "pending":  # maker-checker: a second supervisor approves
            action = asked["pending_action"]["id"]
            r = self.http.post(
                f"{self.issuer_url}/api/v1/pending-actions/{action}/approve",
                headers=self.keys["demo-sup-b"],
            )
            _expect(r, 200, doing=f"approving the revocation of {number}")
            print(
                f"\n撤销 {number}：审核人甲提出，审核人乙批准 / revoked: supervisor A asked, B approved"
            )
        else:
            print(f"\n撤销 {number} / revoked (maker-checker is off for this office)")

    def save_status(self, uri: str) -> Path:
        r = self.http.get(uri)
        path = HOME / "status" / f"{uri.rstrip('/').rsplit('/', 1)[1]}.jwt"
        path.write_text(_expect(r, 200, doing=f"fetching {uri}").decode().strip() + "\n")
        return path

    def stop(self) -> None:
        self.http.close()
        for service in reversed(self.services):
            service.stop()
        self.services.clear()

    # -- the whole run

    def run(self) -> dict[str, Any]:
        self.fresh_home()
        self.make_keys()
        self.create_admin()
        self.start_issuer()
        verifier = self.start_verifier(self.make_accounts())  # it starts while we issue

        issued: list[dict[str, Any]] = []
        print("\n签发并下载 PDF / issuing through the API and downloading the signed PDFs:")
        for row in _applicants():
            cert = self.issue(row)
            pdf = self.download_pdf(cert)
            cert["pdf"] = str(pdf.relative_to(HOME))
            issued.append(cert)
            print(
                f"  {cert['certificate_number']}  {_pad(cert['name'], 8)}  "
                f"{_pad(cert['qualification_name'], 28)} → {HOME}/{cert['pdf']}"
            )

        verifier.wait_ready("/api/v1/sync-status", START_TIMEOUT)
        print(f"\n查验服务已启动 / verifier running at {self.verifier_url}; 查验 / verifying:")
        for cert in issued:
            qr: str = cert["qr_url"]
            body = _poll(
                f"verifying {cert['certificate_number']}",
                functools.partial(self.verify, qr),
                # until the first sync round has fetched the trust list: 503, no verdict
                lambda b: b.get("verdict") == "valid",
            )
            cert["verdict"] = body["verdict"]
            print(f"  {cert['certificate_number']}  {_pad(cert['name'], 8)}  QR → {_verdict(body)}")
        upload = self.verify_pdf(HOME / issued[-1]["pdf"])
        print(f"  {issued[-1]['certificate_number']}  PDF 上传 / uploaded → {_verdict(upload)}")

        victim = issued[0]
        self.revoke(victim["certificate_number"])
        after = _poll(
            "the verifier seeing the revocation",
            lambda: self.verify(victim["qr_url"]),
            lambda b: b.get("verdict") == "not_valid",
        )
        victim["verdict"] = after["verdict"]
        print(f"查验服务同步后再次验证 {victim['certificate_number']}（{victim['name']}）")
        print("/ verified again once the verifier synced:\n")
        print("  " + render_text(_result(after), "zh").replace("\n", "\n  "))
        for cert in issued[1:]:  # the others, judged again against the same synced data
            cert["verdict"] = self.verify(cert["qr_url"]).get("verdict")
        others = "、".join(sorted({_verdict({"verdict": c["verdict"]}) for c in issued[1:]}))
        print(f"\n其余 {len(issued) - 1} 张再次验证 / the others, judged again: {others}")

        status = self.save_status(victim["status_list"]["uri"])
        summary = {
            "issuer_url": self.issuer_url,
            "verifier_url": self.verifier_url,
            "status_list": str(status.relative_to(HOME)),
            "status_list_uri": victim["status_list"]["uri"],
            "revoked": victim["certificate_number"],
            "certificates": [
                {
                    "certificate_number": c["certificate_number"],
                    "name": c["name"],
                    "pdf": c["pdf"],
                    "qr_url": c["qr_url"],
                    "verdict": c["verdict"],
                }
                for c in issued
            ],
        }
        (HOME / "demo.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
        self.where_to_look(issued, victim)
        return summary

    def where_to_look(self, issued: list[dict[str, Any]], victim: dict[str, Any]) -> None:
        valid = issued[1]
        print(f"""
去哪里看 / where to look:
  查验页面 verifier page   {self.verifier_url}/   (paste a QR link, upload a PDF, or scan)
  有效证书 a valid QR      {valid["qr_url"]}
  已撤销   the revoked QR  {victim["qr_url"]}
  签发接口 issuer API docs {self.issuer_url}/docs   (OpenAPI; "Authorize" with the admin key
                           in {HOME}/ADMIN-API-KEY.txt)
  证书PDF  PDFs            {HOME}/pdf/<证书号码>.pdf   (signed; the e-licence is attached)
  日志     logs            {HOME}/logs/issuer.log, {HOME}/logs/verifier.log
  文件     files           {HOME}/certificates/<证书号码>.{{vc.jwt,json,qr.txt,qr.png}},
                           {HOME}/trust/, {HOME}/status/1.jwt, {HOME}/demo.json,
                           keys/ (encrypted; passphrase in {HOME}/DEMO-PASSPHRASE.txt: demo only)

On the command line, through the verifier service, then offline (from the files):
  .venv/bin/jiaozi verify {HOME}/pdf/{valid["certificate_number"]}.pdf --online {self.verifier_url}
  JIAOZI_HOME={HOME} .venv/bin/jiaozi verify "$(cat {HOME}/certificates/{victim["certificate_number"]}.qr.txt)" --status {HOME}/status/1.jwt --origin {self.verifier_url}
  JIAOZI_HOME={HOME} .venv/bin/jiaozi verify {HOME}/certificates/{valid["certificate_number"]}.json --status {HOME}/status/1.jwt --lang en""")
        sys.stdout.flush()

    def serve_until_interrupted(self) -> int:
        print(
            "\n签发与查验服务继续运行，按 Ctrl-C 停止 / both services keep running: "
            "press Ctrl-C to stop them.",
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
        pid = int((HOME / "demo.pid").read_text().strip())
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
    parser = argparse.ArgumentParser(
        prog="python -m jiaozi.demo",
        description="Start the issuer and verifier on SQLite under var/demo/, issue, verify "
        "and revoke sample certificates, then keep serving until Ctrl-C.",
    )
    parser.add_argument(
        "--exit",
        action="store_true",
        default=os.environ.get("JIAOZI_DEMO_EXIT", "") not in ("", "0"),
        help="stop the services and exit once the samples are made (or JIAOZI_DEMO_EXIT=1)",
    )
    parser.add_argument("--issuer-port", type=int, default=8100, help="0: any free port")
    parser.add_argument("--verifier-port", type=int, default=8200, help="0: any free port")
    args = parser.parse_args(argv)

    running = _previous_demo_running()
    if running is not None:
        print(
            f"demo: another demo (pid {running}) is using {HOME}/; stop it first "
            f"(Ctrl-C in its terminal, or kill {running})",
            file=sys.stderr,
        )
        return 1
    issuer_port = choose_port(args.issuer_port, "issuer", taken=set())
    verifier_port = choose_port(args.verifier_port, "verifier", taken={issuer_port})

    # Ctrl-C, `kill` and a closed terminal all stop the children (they run in their own
    # sessions, so only the demo hears the terminal's signals); SIGINT is set explicitly in
    # case the demo was started with it ignored (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    demo = Demo(issuer_port, verifier_port)
    code = 0
    try:
        demo.run()
        if not args.exit:
            code = demo.serve_until_interrupted()
    except KeyboardInterrupt:
        print("\n停止服务 / stopping the services…", file=sys.stderr)
    except DemoError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        code = 1
    finally:
        demo.stop()
        (HOME / "demo.pid").unlink(missing_ok=True)
    if not args.exit and code == 0:
        print("已停止 / stopped.", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
