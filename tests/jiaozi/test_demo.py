"""`make demo` does what the README promises: the key ceremony in its own root home, the
registry, two offices (北京 A, 上海 B) and the verifier on SQLite; sample certificates
issued at both offices through the API with their signed PDFs, verified, one revoked at
A and seen as revoked; a person certified at B restricted at A, after which the verifier
says B's certificate is not valid and B refuses the person; every private key in the home
docs/operations.md says; services stopped on ``--exit`` or on Ctrl-C.

Each run is in its own temporary working directory (never the developer's ``var/demo``)
on free ports; the ``--exit`` run is shared by the tests that read its results. Every wait
is bounded; nothing asserts how long anything took.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from credential import (
    PublicKey,
    TrustList,
    VerifyPolicy,
    load_status_list,
    photo_check,
    verify,
    verify_trust_list,
)
from jiaozi.demo.report import STOPPED
from jiaozi.demo.services import DemoError, Service, choose_port, clean_env, port_is_free
from tests.factory import REPO, logscan
from verifier.extract import extract

DEMO = [
    sys.executable, "-m", "jiaozi.demo", "--issuer-port", "0", "--issuer-b-port", "0",
    "--verifier-port", "0", "--registry-port", "0",
]  # fmt: skip
BEIJING, SHANGHAI = "urn:jiaozi:office:11001", "urn:jiaozi:office:31001"


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIAOZI_")}
    env["PYTHONPATH"] = str(REPO)
    return env


def port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@dataclass
class DemoRun:
    out: subprocess.CompletedProcess[str]
    base: Path  # var/demo
    summary: dict[str, Any]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    cwd = tmp_path_factory.mktemp("demo")
    out = subprocess.run(
        [*DEMO, "--exit"],
        cwd=cwd,
        env=demo_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=400,
    )
    base = cwd / "var" / "demo"
    # the services' logs and the demo's own stderr, for the session's log scan (its stdout
    # is what the person running the demo reads, not a log)
    logscan.keep(*(base / "logs").rglob("*.log"))
    logscan.keep_text("demo-stderr", out.stderr)
    assert out.returncode == 0, out.stdout + out.stderr
    return DemoRun(out, base, json.loads((base / "demo.json").read_text()))


def _trust(base: Path) -> TrustList:
    published = base / "published"
    roots = [
        PublicKey.from_jwk(k)
        for k in json.loads((published / "root.jwks.json").read_text())["keys"]
    ]
    return verify_trust_list((published / "trust-list.jwt").read_text().strip(), roots)


def test_demo_issues_prints_verifies_and_revokes(demo_run: DemoRun) -> None:
    stdout, demo, summary = demo_run.out.stdout, demo_run.base, demo_run.summary
    assert stdout.count("QR → 有效 (valid)") == 5, stdout
    assert "PDF 上传 / uploaded → 有效 (valid)" in stdout
    assert "结论：无效" in stdout and "✗ 证书状态" in stdout

    # every service was stopped, and the demo's pid file is gone
    for url in (summary["verifier_url"], summary["registry_url"]):
        assert port_is_free(port(url))
    for office in summary["offices"]:
        assert port_is_free(port(office["url"]))
    assert not (demo / "demo.pid").exists()
    for log in ("office-11001", "office-31001", "registry", "verifier"):
        assert "Application shutdown complete" in (demo / "logs" / f"{log}.log").read_text(), log

    certs = summary["certificates"]
    assert len(certs) == 5
    assert {c["office"] for c in certs} == {BEIJING, SHANGHAI}
    names = [c["name"] for c in certs]
    assert any(not _gb2312(n) for n in names), names  # one rare-character name
    revoked, barred = summary["revoked"], summary["national"]["certificate"]
    assert {c["certificate_number"]: c["verdict"] for c in certs} == {
        c["certificate_number"]: "not_valid"
        if c["certificate_number"] in (revoked, barred)
        else "valid"
        for c in certs
    }

    # Each PDF carries its credential and a QR that decodes; judged here, offline, from the
    # published trust list and the status lists the demo left, the revoked one and B's
    # certificate of the restricted person are not valid.
    trust = _trust(demo)
    status = {
        summary["status_list_uris"][office]: load_status_list(
            (demo / path).read_text().strip(), trust
        )
        for office, path in summary["status_lists"].items()
    }
    policy = VerifyPolicy(verifier_origin=summary["verifier_url"])
    now = dt.datetime.now(dt.UTC)
    for cert in certs:
        number = cert["certificate_number"]
        pdf = demo / "pdf" / f"{number}.pdf"
        assert pdf.name == Path(cert["pdf"]).name
        found = extract(pdf.read_bytes())
        assert found.kind == "pdf"
        assert found.credential == (demo / "certificates" / f"{number}.vc.jwt").read_text().strip()
        assert found.qr == cert["qr_url"]
        result = verify(
            found.qr, credential=found.credential, trust=trust, status=status, now=now,
            policy=policy,
        )  # fmt: skip
        want = ("not_valid", "revoked") if number in (revoked, barred) else ("valid", None)
        assert (result.verdict.value, result.reason and result.reason.value) == want, number
        # each sample carries its synthetic holder's photo, bound and attached (issue 15)
        assert found.photo is not None and photo_check(result, found.photo, in_pdf=True).ok

    doc = json.loads((demo / "certificates" / f"{revoked}.json").read_text())
    assert doc["credential"]["type"] == ["VerifiableCredential", "TeacherQualificationCredential"]
    assert (demo / "ADMIN-API-KEYS.txt").stat().st_mode & 0o777 == 0o600


def test_the_demo_prints_the_console_and_writes_its_officers_sign_in(demo_run: DemoRun) -> None:
    stdout, demo, summary = demo_run.out.stdout, demo_run.base, demo_run.summary
    assert f"{summary['offices'][0]['url']}/office" in stdout  # while it enrols them
    path = demo / "OFFICE-SIGN-IN.txt"
    assert path.stat().st_mode & 0o777 == 0o600
    people = sign_in_details(path.read_text())
    assert {p["username"]: p["role"] for p in people} == {
        "demo-admin": "admin", "demo-clerk": "clerk",
        "demo-sup-a": "supervisor", "demo-sup-b": "supervisor",
    }  # fmt: skip
    for p in people:
        assert p["otpauth uri"].startswith("otpauth://totp/")
        assert p["totp secret"] in p["otpauth uri"]
        assert len(p["recovery codes"].split()) == 10
        assert len(p["password"]) >= 12


def sign_in_details(text: str) -> list[dict[str, str]]:
    """The officers of OFFICE-SIGN-IN.txt, each as its "key: value" lines plus ``role``."""
    people: list[dict[str, str]] = []
    for block in text.split("\n[")[1:]:
        role, _, rest = block.partition("]\n")
        fields = dict(line.split(": ", 1) for line in rest.splitlines() if ": " in line)
        people.append({"role": role, **fields})
    return people


def test_with_exit_the_demo_says_the_services_stopped_and_offers_no_address(
    demo_run: DemoRun,
) -> None:
    stdout, summary = demo_run.out.stdout, demo_run.summary
    assert STOPPED in stdout
    last = stdout.split(STOPPED, 1)[1]
    assert "make demo" in last and "--exit" in last  # how to keep them serving
    # what follows names files and offline commands, no address to open: the only URL is
    # the verifier's origin that offline verification checks QR links against
    for found in re.finditer(r"http://\S+", last):
        assert last[: found.start()].endswith("--origin "), last[found.start() - 40 :]
        assert found[0] == summary["verifier_url"]
    for live in ("where to look", "/holder", "/docs", "--online", "Ctrl-C"):
        assert live not in last, live
    assert "CLAIM-CODES.txt" in last and "batch issue" in last


def test_the_demo_saves_every_officers_key_the_claim_codes_and_a_batch_env(
    demo_run: DemoRun,
) -> None:
    demo, summary = demo_run.base, demo_run.summary
    names = ("ADMIN-API-KEYS.txt", "CLERK-API-KEYS.txt", "SUPERVISOR-API-KEYS.txt",
             "OFFICE-SIGN-IN.txt", "CLAIM-CODES.txt", "batch-issue.env")  # fmt: skip
    for name in names:
        assert (demo / name).stat().st_mode & 0o777 == 0o600, name
    clerks = [line.split() for line in (demo / "CLERK-API-KEYS.txt").read_text().splitlines()]
    assert [c[0] for c in clerks] == [BEIJING, SHANGHAI] and all(len(c) == 2 for c in clerks)
    sups = [line.split() for line in (demo / "SUPERVISOR-API-KEYS.txt").read_text().splitlines()]
    assert [s[:2] for s in sups] == [[BEIJING, "demo-sup-a"], [BEIJING, "demo-sup-b"]]
    admins = (demo / "ADMIN-API-KEYS.txt").read_text().split()
    keys = [c[1] for c in clerks] + [s[2] for s in sups] + admins[1::2]
    assert len(set(keys)) == len(keys) == 6 and all(len(k) >= 32 for k in keys)

    # one live code per certificate, the holder pages' address with it
    codes = [
        line.split()
        for line in (demo / "CLAIM-CODES.txt").read_text().splitlines()
        if not line.startswith("#")
    ]
    assert [c[0] for c in codes] == [c["certificate_number"] for c in summary["certificates"]]
    for number, code, _, url in codes:
        assert re.fullmatch(r"[2-9A-Z]{4}(-[2-9A-Z]{4}){3}", code), code
        office = next(o for o in summary["offices"] if number[4:6] == o["home"][7:9])
        assert url == f"{office['url']}/holder"
    assert "claim_code" not in summary["holder"]  # demo.json is not 0600
    assert summary["holder"]["certificate_number"] in [c[0] for c in codes]

    # the env file: office A's settings, every one a setting the batch command reads
    from issuer.settings import IssuerSettings

    env = batch_env(demo)
    fields = {f"JIAOZI_{name.upper()}" for name in IssuerSettings.model_fields}
    assert set(env) <= fields | {"JIAOZI_HOME", "JIAOZI_KEY_PASSPHRASE"}, set(env) - fields
    office_env = (demo / "env" / "office-11001.env").read_text()
    for key, value in env.items():
        assert f"{key}={shlex.quote(value)}" in office_env, key
    assert env["JIAOZI_OFFICE_ID"] == BEIJING and "JIAOZI_API_KEY" not in env
    assert env["JIAOZI_DATABASE_URL"] == f"sqlite:///{demo / 'office-11001' / 'issuer.db'}"


def batch_env(demo: Path) -> dict[str, str]:
    """The variables batch-issue.env exports, as a shell that sources it sees them."""
    out = subprocess.run(
        ["sh", "-c", f". {shlex.quote(str(demo / 'batch-issue.env'))} && env -0"],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    pairs = (item.split("=", 1) for item in out.stdout.split("\0") if "=" in item)
    return {k: v for k, v in pairs if k.startswith("JIAOZI_")}


def console_sign_in(url: str, person: dict[str, str]) -> httpx.Response:
    """Sign ``person`` (of OFFICE-SIGN-IN.txt) in at the console of ``url`` as a browser
    would (the form's token, the Origin header, the TOTP code computed); return the home
    page the sign-in leads to."""
    import pyotp

    with httpx.Client(
        base_url=url, timeout=10, headers={"Origin": url}, follow_redirects=True
    ) as client:
        form = client.get("/office/signin")
        token = re.search(r'name="csrf" value="([^"]*)"', form.text)
        assert token, form.text
        code = pyotp.TOTP(person["totp secret"]).now()
        data = {"username": person["username"], "password": person["password"], "code": code}
        signed = client.post("/office/signin", data={**data, "csrf": token[1]})
        assert signed.status_code == 200, signed.text
        return signed


def test_a_restriction_at_office_a_invalidates_office_b_and_bars_the_person(
    demo_run: DemoRun,
) -> None:
    stdout, summary = demo_run.out.stdout, demo_run.summary
    national = summary["national"]
    assert national["recorded_at"] == BEIJING
    assert national["entry"].startswith(f"{BEIJING}#")
    barred = next(
        c for c in summary["certificates"] if c["certificate_number"] == national["certificate"]
    )
    assert barred["office"] == SHANGHAI and barred["name"] == national["person"]
    assert national["verdict"] == "not_valid"
    # B's refusal names the recording office (A) and the end of the bar
    assert BEIJING in national["refused"] and re.search(r"\d{4}-\d{2}-\d{2}", national["refused"])
    assert "审核人甲提出、审核人乙批准" in stdout
    assert f"上海（B）的证书 {barred['certificate_number']} 再次核验" in stdout
    assert f"上海（B）拒绝新的申请 / B refuses a new application: {national['refused']}" in stdout


def _documented_layout() -> list[tuple[list[str], str]]:
    """The demo tree of docs/operations.md ("What `make demo` writes where"): each line's
    paths (relative to var/demo) and description."""
    text = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text.split("### What `make demo` writes where", 1)[1]
    block = section.split("```", 2)[1]
    lines = [line for line in block.splitlines()[1:] if line.startswith("  ")]
    out = []
    for line in lines:
        paths, description = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        out.append((paths.split(), description))
    return out


def test_the_demo_keeps_every_key_where_operations_md_says(demo_run: DemoRun) -> None:
    demo = demo_run.base
    documented = _documented_layout()
    assert len(documented) >= 10
    for paths, _ in documented:
        for path in paths:
            assert (demo / path).exists(), f"docs/operations.md names {path}, the demo has none"
    # the directories holding private keys are exactly those the docs say hold them
    said = {paths[0].rstrip("/") for paths, text in documented if "private key" in text}
    pems = list(demo.rglob("*.pem"))
    held = {str(p.parent.relative_to(demo)) for p in pems}
    assert held == said
    assert pems and all(
        p.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----") for p in pems
    )
    # the root's private key is in the root home only, which is no other home's subtree
    assert {str(p.relative_to(demo)) for p in pems if p.parent.name == "root"} == {
        "root/keys/root/root-1.pem"
    }
    for home in ("registry", "office-11001", "office-31001", "verifier"):
        assert not (demo / home / "keys" / "root").exists()
        assert not list((demo / home).rglob("root-*.pem")), home
    assert not list((demo / "verifier").rglob("*.pem"))
    # each office's home holds its own keys only
    for office in ("office-11001", "office-31001"):
        assert [d.name for d in (demo / office / "keys").iterdir() if d.is_dir()] == [office]
    # the secrets the demo generated are its owner's alone
    envs = sorted(p.name for p in (demo / "env").iterdir())
    assert envs == [
        f"{n}.env" for n in ("office-11001", "office-31001", "registry", "root", "verifier")
    ]
    assert all((demo / "env" / e).stat().st_mode & 0o777 == 0o600 for e in envs)
    # the verifier's secrets are its client keys at the offices, never a key of a person
    # reference, a data key or a passphrase
    verifier_env = (demo / "env" / "verifier.env").read_text()
    assert "JIAOZI_ISSUERS=" in verifier_env
    for name in ("PASSPHRASE", "HMAC", "DATA_KEY", "AUDIT_KEY", "JIAOZI_HOME"):
        assert name not in verifier_env, name
    files = {p.name for p in (demo / "verifier").iterdir()}
    assert files - {"verifier.db-wal", "verifier.db-shm"} == {"root.jwks.json", "verifier.db"}


def test_docs_trust_md_names_the_same_homes() -> None:
    trust = (REPO / "docs" / "trust.md").read_text(encoding="utf-8")
    section = trust.split("### Where every key lives", 1)[1].split("\n## ", 1)[0]
    for said in ("root home", "office home", "registry home", "root-1.pem", "docsign.pem",
                 "office-75ec07c53dff373fe8be", "operations.md"):  # fmt: skip
        assert said in section, said


def test_demo_serves_until_ctrl_c(tmp_path: Path) -> None:
    log = tmp_path / "demo.out"
    with log.open("w") as out:
        proc = subprocess.Popen(
            DEMO,
            cwd=tmp_path,
            env=demo_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 300
        while "press Ctrl-C" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            if time.monotonic() > deadline:
                pytest.fail(f"the demo did not get to serving:\n{log.read_text()}")
            time.sleep(0.2)
        summary = json.loads((tmp_path / "var" / "demo" / "demo.json").read_text())
        page = httpx.get(summary["verifier_url"] + "/", timeout=10)
        assert page.status_code == 200
        for office in summary["offices"]:
            docs = httpx.get(office["url"] + "/openapi.json", timeout=10)
            assert docs.status_code == 200
        health = httpx.get(summary["registry_url"] + "/healthz", timeout=10)
        assert health.status_code == 200
        # the admin of A signs in at the console with the details the demo wrote down
        sign_in = (tmp_path / "var" / "demo" / "OFFICE-SIGN-IN.txt").read_text()
        admin = next(p for p in sign_in_details(sign_in) if p["role"] == "admin")
        home = console_sign_in(summary["offices"][0]["url"], admin)
        assert "演示管理员" in home.text and "/office/officers" in home.text

        printed = log.read_text()
        a_url = summary["offices"][0]["url"]
        for url in (f"{summary['verifier_url']}/v#", f"{a_url}/docs", f"{a_url}/office"):
            assert url in printed, url
        assert STOPPED not in printed
        # the claim code printed opens the teacher's certificates at the holder pages
        holder = re.search(
            r"持证人页面 holder pages\s+(\S+)\s+证书号码 number (\d{17})，领取码 claim code (\S+)",
            printed,
        )
        assert holder, printed
        holder_url, number, code = holder.groups()
        assert holder_url == f"{a_url}/holder" and number == summary["holder"]["certificate_number"]
        with httpx.Client(timeout=30, headers={"Origin": a_url}) as client:
            wrong = client.post(f"{holder_url}/login", data={"number": number, "code": "2" * 16})
            assert wrong.status_code == 401
            signed = client.post(f"{holder_url}/login", data={"number": number, "code": code})
            assert signed.status_code == 303, signed.text
            mine = client.get(f"{holder_url}/certificates")
            assert mine.status_code == 200 and number in mine.text

        # the printed batch command line, run as printed against the running office A
        demo = tmp_path / "var" / "demo"
        line = re.search(r"^  (\(\. \S*batch-issue\.env && .*batch issue .*\))$", printed, re.M)
        assert line, printed
        command = line[1].replace(".venv/bin/jiaozi", f"{shlex.quote(sys.executable)} -m jiaozi")
        batch = subprocess.run(
            ["sh", "-c", command],
            cwd=tmp_path,
            env=demo_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert batch.returncode == 0, batch.stdout + batch.stderr
        # office A's service sees the batch, asked with the clerk's and a supervisor's key
        clerk = (demo / "CLERK-API-KEYS.txt").read_text().split()[1]
        sup = (demo / "SUPERVISOR-API-KEYS.txt").read_text().split()[2]
        for key in (clerk, sup):
            r = httpx.get(
                f"{a_url}/api/v1/batches/1", headers={"Authorization": f"Bearer {key}"}, timeout=30
            )
            assert r.status_code == 200, r.text
            state = r.json()
            assert state["filename"] == "sample-applicants.csv" and state["state"] == "done"
            assert state["total_rows"] == 5 and state["issued_rows"] == state["valid_rows"] > 0

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, log.read_text()
        assert "已停止 / stopped." in log.read_text()
        urls = [o["url"] for o in summary["offices"]]
        for url in (*urls, summary["verifier_url"], summary["registry_url"]):
            with pytest.raises(httpx.TransportError):
                httpx.get(url + "/", timeout=2)
    finally:
        if proc.poll() is None:
            proc.terminate()  # the demo stops its services on SIGTERM too
            proc.wait(timeout=60)
        logscan.keep(*(tmp_path / "var" / "demo" / "logs").rglob("*.log"))


def test_a_taken_port_is_named_and_replaced(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        chosen = choose_port(taken, "issuer", taken=set())
    assert chosen != taken
    assert f"port {taken} on 127.0.0.1 is taken" in capsys.readouterr().out


def test_a_service_that_fails_to_start_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "issuer.log"
    service = Service.start(
        "issuer",
        ["issuer", "serve", "--port", "0"],  # a usage error: exits at once
        url="http://127.0.0.1:9",
        env={**clean_env(), "PYTHONPATH": str(REPO)},
        log=log,
    )
    try:
        with pytest.raises(DemoError) as caught:
            service.wait_ready("/", timeout=120)
    finally:
        service.stop()
    message = str(caught.value)
    assert "the issuer exited (code 64) while starting" in message
    assert str(log) in message and "--port" in message


def _gb2312(name: str) -> bool:
    try:
        name.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def test_the_demo_ceremony_hands_every_home_the_final_trust_list(tmp_path: Path) -> None:
    # the office onboarded first installed an older list (without the second office):
    # without the final one its national round could not check B's entries
    from credential import REGISTRY_ID
    from jiaozi.demo.ceremony import run_ceremony
    from jiaozi.demo.layout import OFFICES, Layout
    from keys import current_trust_list

    layout = Layout(tmp_path / "demo")
    layout.make()
    homes = ["root", "registry", *(s.home_name for s in OFFICES)]
    made = run_ceremony(
        layout, {h: f"passphrase-{h}-0123456789" for h in homes}, now=int(time.time())
    )
    final = current_trust_list(layout.root)
    assert made.sequence == final.sequence == 4
    listed = {o.id for o in final.offices}
    assert listed == {REGISTRY_ID, BEIJING, SHANGHAI}
    assert final.office(REGISTRY_ID).qualification_types == frozenset()
    for home in (layout.registry, *(layout.office(s) for s in OFFICES)):
        assert current_trust_list(home).sequence == final.sequence, home.name
    assert _trust(layout.base).sequence == final.sequence
    assert (layout.verifier / "root.jwks.json").read_bytes() == (
        layout.root / "trust" / "root.jwks.json"
    ).read_bytes()
