"""End to end: a real issuer and a real verifier, each its own process
(``python -m jiaozi issuer serve`` / ``verifier serve``) on a free loopback port.

The national root is made in a root home and the office onboarded into its own fresh
``JIAOZI_HOME`` (no root private key in it) with the keys API, the ceremony exporting for
the verifier; the verifier syncs the trust list from the issuer's
``/trust-list.jwt``. A clerk issues two certificates; the first one's PDF is rendered, its
page rendered at 150 dpi in grey by ``pdftoppm``, and the QR decoded by zxing-cpp is what
is verified (``valid``). Two supervisors revoke it (request + approval); the verifier
says ``not_valid`` / ``revoked`` once it has synced. The issuer is stopped: the revoked
certificate stays revoked, with how old its status data is; once the status list's ttl
plus the verifier's grace have passed, the other, still valid certificate is
``cannot_determine`` / ``status_stale``, while the revoked one stays revoked.

Only 127.0.0.1; every wait is bounded; both processes are killed in ``finally``.
Needs poppler-utils (``scripts/system-packages.sh``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image

from credential import Certificate, IdType, QualificationType, Sex
from issuer.pdf import render_certificate
from issuer.settings import IssuerSettings
from keys import export_trust
from tests.factory import logscan
from tests.factory.issuer import application
from tests.factory.keys import make_store, root_home_of

PASSPHRASE = "correct horse battery staple 教资 e2e"
BOOTSTRAP_KEY = "e2e-bootstrap-key-0123456789-abcdefghij"
OFFICE = IssuerSettings().office_id
TTL = 2  # JIAOZI_STATUS_TTL_SECONDS of the issuer
GRACE = 2  # JIAOZI_STATUS_GRACE of the verifier
DECISION = {
    "reason_code": "misconduct",
    "decision_date": "2026-11-20",
    "legal_basis": "《教师资格条例》第十九条",
}


# ----------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIAOZI_")}
    env["JIAOZI_ENV"] = "development"  # production is the default
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("w")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "jiaozi", *args],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        out.close()  # the child holds its own descriptor


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited early:\n{log.read_text()}"
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {timeout} s:\n{log.read_text()}")


def poll(
    what: str,
    get: Callable[[], dict[str, Any]],
    ok: Callable[[dict[str, Any]], bool],
    timeout: float = 10,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while True:
        last = get()
        if ok(last):
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"{what}: not reached within {timeout} s; last answer {last}")
        time.sleep(0.25)


def office_home(home: Path, out: Path) -> None:
    """The office onboarded into ``home`` (the issuer's JIAOZI_HOME) by the key ceremony
    run in a root home apart; the ceremony exports for verifiers. The issuer then starts
    and prints PDFs from a home that holds no root private key."""
    make_store(home, passphrase=PASSPHRASE.encode(), office_id=OFFICE)
    assert not (home / "keys" / "root").exists()
    export_trust(root_home_of(home), out)


def certificate_of(i: int, issued: dict[str, Any]) -> Certificate:
    """The certificate the issuer signed, from the application sent and its answer."""
    row = application(i)
    return Certificate(
        certificate_number=issued["certificate_number"],
        name=row["name"],
        sex=Sex.parse(row["sex"]),
        birth_date=dt.date.fromisoformat(row["birth_date"]),
        id_type=IdType.parse(row["id_type"]),
        id_number=row["id_number"],
        qualification_type=QualificationType.parse(row["qualification_type"]),
        subject=issued["subject"],
        certified_on=dt.date.fromisoformat(issued["certified_on"]),
        office_name=issued["office_name"],
        office_code="11001",
        elicence_id=issued["elicence_id"],
        version=issued["version"],
        ethnicity=issued.get("ethnicity"),
    )


def qr_from_pdf(pdf: bytes) -> str:
    """Render the first page at 150 dpi in grey with pdftoppm; return the decoded QR."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.fail("pdftoppm is missing: run scripts/system-packages.sh (poppler-utils)")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.pdf"
        path.write_bytes(pdf)
        subprocess.run(
            [
                pdftoppm,
                "-r",
                "150",
                "-gray",
                "-png",
                "-f",
                "1",
                "-l",
                "1",
                str(path),
                str(Path(d) / "p"),
            ],
            check=True,
            timeout=60,
        )
        (page,) = sorted(Path(d).glob("p-*.png"))
        with Image.open(page) as im:
            codes = zxingcpp.read_barcodes(im.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(codes) == 1, f"{len(codes)} QR codes on the page"
    return codes[0].text


def ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# ----------------------------------------------------------------------------- the test


def test_issue_print_scan_revoke_outage_and_staleness(tmp_path: Path) -> None:
    home, dist = tmp_path / "home", tmp_path / "dist"
    office_home(home, dist)
    issuer_url = f"http://127.0.0.1:{free_port()}"
    verifier_url = f"http://127.0.0.1:{free_port()}"
    procs: list[subprocess.Popen[bytes]] = []
    http = httpx.Client(timeout=15)
    try:
        # --- the issuer ----------------------------------------------------------------
        issuer_log = tmp_path / "issuer.log"
        issuer = start(
            ["issuer", "serve", "--host", "127.0.0.1", "--port", issuer_url.rsplit(":", 1)[1]],
            clean_env(
                JIAOZI_HOME=str(home),
                JIAOZI_KEY_PASSPHRASE=PASSPHRASE,
                JIAOZI_DATABASE_URL=f"sqlite:///{tmp_path / 'issuer.db'}",
                JIAOZI_API_KEY=BOOTSTRAP_KEY,
                JIAOZI_PUBLIC_URL=issuer_url,
                JIAOZI_VERIFIER_URL=verifier_url,
                JIAOZI_STATUS_TTL_SECONDS=str(TTL),
            ),
            tmp_path,
            issuer_log,
        )
        procs.append(issuer)
        wait_ready(issuer, f"{issuer_url}/.well-known/jwks.json", issuer_log)
        trust = http.get(f"{issuer_url}/trust-list.jwt")
        assert trust.status_code == 200, trust.text
        assert trust.text.strip() == (dist / "trust-list.jwt").read_text().strip()

        admin = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}

        def officer(username: str, role: str) -> dict[str, str]:
            r = http.post(
                f"{issuer_url}/api/v1/officers",
                json={"username": username, "display_name": username, "role": role},
                headers=admin,
            )
            assert r.status_code == 201, r.text
            return {"Authorization": f"Bearer {r.json()['api_key']}"}

        sup_a, sup_b = officer("sup-a", "supervisor"), officer("sup-b", "supervisor")
        clerk = officer("clerk", "clerk")
        client = http.post(
            f"{issuer_url}/api/v1/clients",
            json={"name": "verifier-e2e", "kind": "verifier"},
            headers=admin,
        )
        assert client.status_code == 201, client.text
        feed_key = client.json()["api_key"]

        # --- the verifier --------------------------------------------------------------
        verifier_log = tmp_path / "verifier.log"
        verifier = start(
            ["verifier", "serve", "--host", "127.0.0.1", "--port", verifier_url.rsplit(":", 1)[1]],
            clean_env(
                JIAOZI_DATABASE_URL=f"sqlite:///{tmp_path / 'verifier.db'}",
                JIAOZI_PUBLIC_URL=verifier_url,
                JIAOZI_ROOT_JWKS=str(dist / "root.jwks.json"),
                JIAOZI_TRUST_LIST_URL=f"{issuer_url}/trust-list.jwt",
                JIAOZI_ISSUERS=json.dumps([{"base_url": issuer_url, "api_key": feed_key}]),
                JIAOZI_STATUS_GRACE=str(GRACE),
                JIAOZI_SYNC_INTERVAL="1",
            ),
            tmp_path,
            verifier_log,
        )
        procs.append(verifier)
        wait_ready(verifier, f"{verifier_url}/api/v1/sync-status", verifier_log)

        def verify(qr: str) -> dict[str, Any]:
            r = http.post(f"{verifier_url}/api/v1/verify", json={"qr": qr})
            # 503 no_trust_list until the first sync round has fetched the trust list
            if r.status_code == 503:
                return {"verdict": None, "problem": r.json()}
            assert r.status_code == 200, r.text
            answer: dict[str, Any] = r.json()
            return answer

        def verdict_is(verdict: str, reason: str | None) -> Callable[[dict[str, Any]], bool]:
            return lambda body: (body.get("verdict"), body.get("reason")) == (verdict, reason)

        # --- issue two certificates; print, scan and verify the first -------------------
        issued = []
        for i in (1, 2):
            r = http.post(
                f"{issuer_url}/api/v1/certificates",
                json=application(i),
                headers={**clerk, "Idempotency-Key": f"e2e-{i}"},
            )
            assert r.status_code == 201, r.text
            issued.append(r.json())
        first, second = issued
        assert first["qr_url"].startswith(verifier_url + "/v#"), first["qr_url"]

        pdf = render_certificate(
            certificate_of(1, first), qr_text=first["qr_url"], verifier_url=verifier_url
        )
        scanned = qr_from_pdf(pdf)
        assert scanned == first["qr_url"]

        body = poll("first verdict", lambda: verify(scanned), verdict_is("valid", None))
        assert body["status_as_of"] is not None, body
        body = poll("second verdict", lambda: verify(second["qr_url"]), verdict_is("valid", None))

        # --- revoke the first: supervisor A asks, supervisor B approves ------------------
        number = first["certificate_number"]
        asked = http.post(
            f"{issuer_url}/api/v1/certificates/{number}/revocations", json=DECISION, headers=sup_a
        )
        assert asked.status_code == 202, asked.text
        assert asked.json()["state"] == "pending"
        action = asked.json()["pending_action"]["id"]
        approved = http.post(f"{issuer_url}/api/v1/pending-actions/{action}/approve", headers=sup_b)
        assert approved.status_code == 200, approved.text
        assert approved.json()["decision"] == "approved"

        revoked = poll(
            "revocation seen", lambda: verify(scanned), verdict_is("not_valid", "revoked")
        )
        assert revoked["status_as_of"] is not None, revoked
        # the other certificate is still valid just before the issuer goes away
        body = verify(second["qr_url"])
        assert verdict_is("valid", None)(body), body

        # --- the issuer goes down -----------------------------------------------------------
        issuer.terminate()
        issuer.wait(timeout=15)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{issuer_url}/.well-known/jwks.json", timeout=2)

        # Still revoked, saying how old its data is. Times are whole seconds, so the list
        # fetched just before the stop may share checked_at's second: ask until it is older.
        def revoked_with_age(body: dict[str, Any]) -> bool:
            assert verdict_is("not_valid", "revoked")(body), body
            assert body["status_as_of"] is not None, body
            return ts(body["status_as_of"]) < ts(body["checked_at"])

        poll("revoked while the issuer is down", lambda: verify(scanned), revoked_with_age, 5)

        # --- past ttl + grace: the valid one cannot be determined; revoked stays revoked --
        stale = poll(
            "status_stale",
            lambda: verify(second["qr_url"]),
            verdict_is("cannot_determine", "status_stale"),
            timeout=10,
        )
        assert stale["status_as_of"] is not None, stale
        assert (ts(stale["checked_at"]) - ts(stale["status_as_of"])).total_seconds() > TTL + GRACE
        still = verify(scanned)
        assert verdict_is("not_valid", "revoked")(still), still

        sync = http.get(f"{verifier_url}/api/v1/sync-status")
        assert sync.status_code == 200, sync.text
        assert verifier.poll() is None, verifier_log.read_text()
    finally:
        http.close()
        for proc in procs:
            stop(proc)
        logscan.keep(*tmp_path.glob("*.log"))  # the servers' lines, for the session's scan
