"""``jiaozi accounts ...`` and ``jiaozi issuer serve`` as real processes.

Database tests run on SQLite and on PostgreSQL (see conftest.py). Every subprocess has a
bounded wait and is killed in ``finally``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from keys import KeyStore
from tests.factory import logscan, signer
from tests.factory.issuer import API_KEY, application
from tests.factory.keys import make_store

KEY_LINE = re.compile(r"jz_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
OFFICE = IssuerSettings().office_id
PASSPHRASE = "correct horse battery staple 教资"


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIAOZI_")}
    env["JIAOZI_ENV"] = "development"  # production is the default
    env["JIAOZI_HOME"] = str(tmp_path / "home")
    env.update(extra)
    return env


def jiaozi(*args: str, env: dict[str, str], cwd: Path, timeout: float = 120):
    done = subprocess.run(
        [sys.executable, "-m", "jiaozi", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    logscan.keep_text("-".join(args[:2]), done.stderr)  # its log lines, for the session's scan
    return done


def one_line_error(result) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_create_admin_prints_a_key_once_that_authenticates_the_app(
    database_url: str, tmp_path: Path
) -> None:
    env = cli_env(tmp_path, JIAOZI_DATABASE_URL=database_url)
    r = jiaozi(
        "accounts", "create-admin", "--username", "root", "--name", "管理员", env=env, cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    keys = KEY_LINE.findall(r.stdout)
    assert len(keys) == 1 and r.stdout.strip() == keys[0]
    assert "will not be shown again" in r.stderr
    key = keys[0]

    # The same username again: one line, exit 1, nothing printed on stdout.
    again = jiaozi(
        "accounts", "create-admin", "--username", "root", "--name", "X", env=env, cwd=tmp_path
    )
    assert "username" in one_line_error(again)
    assert again.stdout == ""

    clerk = jiaozi(
        "accounts",
        "create-officer",
        "--username",
        "clerk",
        "--name",
        "经办人",
        "--role",
        "clerk",
        env=env,
        cwd=tmp_path,
    )
    assert clerk.returncode == 0, clerk.stderr
    clerk_key = KEY_LINE.fullmatch(clerk.stdout.strip())
    assert clerk_key is not None
    client = jiaozi(
        "accounts", "create-client", "--name", "mis", "--kind", "mis", env=env, cwd=tmp_path
    )
    assert client.returncode == 0, client.stderr
    assert KEY_LINE.fullmatch(client.stdout.strip())

    settings = IssuerSettings(
        database_url=database_url,
        public_url="http://testserver",
        api_key=API_KEY,
        id_hmac_key="test-id-hmac-key-0123456789-abcdef",
    )
    with TestClient(create_app(settings, signer=signer(kid="11001-1"))) as http:
        listed = http.get("/api/v1/officers", headers={"Authorization": f"Bearer {key}"})
        assert listed.status_code == 200, listed.text
        assert [(o["username"], o["role"]) for o in listed.json()] == [
            ("root", "admin"),
            ("clerk", "clerk"),
        ]
        assert key not in listed.text
        clients = http.get("/api/v1/clients", headers={"Authorization": f"Bearer {key}"})
        assert [c["name"] for c in clients.json()] == ["mis"]
        issued = http.post(
            "/api/v1/certificates",
            json=application(1),
            headers={"Authorization": f"Bearer {clerk_key.group(0)}", "Idempotency-Key": "cli-1"},
        )
        assert issued.status_code == 201, issued.text


def test_accounts_usage_and_field_errors(tmp_path: Path) -> None:
    env = cli_env(tmp_path, JIAOZI_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    bad_role = jiaozi(
        "accounts",
        "create-officer",
        "--username",
        "a",
        "--name",
        "A",
        "--role",
        "root",
        env=env,
        cwd=tmp_path,
    )
    assert bad_role.returncode == 64, bad_role.stderr
    missing = jiaozi("accounts", "create-admin", "--username", "a", env=env, cwd=tmp_path)
    assert missing.returncode == 64
    bad_kind = jiaozi(
        "accounts", "create-client", "--name", "a", "--kind", "x", env=env, cwd=tmp_path
    )
    assert bad_kind.returncode == 64
    bad_name = jiaozi(
        "accounts", "create-admin", "--username", "has space", "--name", "A", env=env, cwd=tmp_path
    )
    assert one_line_error(bad_name).startswith("Error: username:")
    bad_settings = jiaozi(
        "accounts",
        "create-admin",
        "--username",
        "a",
        "--name",
        "A",
        env={**env, "JIAOZI_PROVINCE": "abc"},
        cwd=tmp_path,
    )
    assert "JIAOZI_PROVINCE" in one_line_error(bad_settings)
    bad_db = jiaozi(
        "accounts",
        "create-admin",
        "--username",
        "a",
        "--name",
        "A",
        env={**env, "JIAOZI_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"},
        cwd=tmp_path,
    )
    assert one_line_error(bad_db).startswith("Error: database:")


def test_verify_does_not_import_the_issuer(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from jiaozi.cli import main\n"
        "try:\n    main(['verify', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('issuer', 'fastapi', 'sqlalchemy', 'uvicorn')))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=cli_env(tmp_path),
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"
    listed = jiaozi("--help", env=cli_env(tmp_path), cwd=tmp_path)
    assert re.search(r"^\s+accounts\s", listed.stdout, re.M)
    assert re.search(r"^\s+issuer\s", listed.stdout, re.M)


# --- jiaozi issuer serve --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def office_home(tmp_path: Path) -> KeyStore:
    return make_store(tmp_path / "home", passphrase=PASSPHRASE.encode(), office_id=OFFICE)


def test_serve_starts_answers_jwks_and_stops_on_sigterm(database_url: str, tmp_path: Path) -> None:
    store = office_home(tmp_path)
    port = free_port()
    env = cli_env(
        tmp_path,
        JIAOZI_DATABASE_URL=database_url,
        JIAOZI_KEY_PASSPHRASE=PASSPHRASE,
        JIAOZI_API_KEY=API_KEY,
    )
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jiaozi", "issuer", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        jwks = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                jwks = httpx.get(f"{base}/.well-known/jwks.json", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert jwks is not None, "issuer did not answer within 60 s"
        assert jwks.status_code == 200
        assert jwks.json() == store.jwks(OFFICE)
        assert len(jwks.json()["keys"]) == 1

        # It signs with the office key from the store.
        r = httpx.post(
            f"{base}/api/v1/certificates",
            json=application(1),
            headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "serve-1"},
            timeout=30,
        )
        assert r.status_code == 201, r.text
        kid = store.active_key(OFFICE, now=int(time.time())).kid
        header = json.loads(base64.urlsafe_b64decode(r.json()["qr_token"].split(".")[0] + "=="))
        assert header["kid"] == kid

        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal (the usual convention).
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
        log.flush()
        assert "Application shutdown complete" in (tmp_path / "serve.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        log.close()
        logscan.keep(tmp_path / "serve.log")  # the server's lines, for the session's scan
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/.well-known/jwks.json", timeout=2)


def test_serve_without_keys_or_passphrase_says_why_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "issuer.db"
    env = cli_env(tmp_path, JIAOZI_DATABASE_URL=f"sqlite:///{db}")
    no_keys = jiaozi(
        "issuer", "serve", "--port", str(free_port()), env=env, cwd=tmp_path, timeout=60
    )
    assert "no keys" in one_line_error(no_keys)

    office_home(tmp_path)
    no_pass = jiaozi(
        "issuer", "serve", "--port", str(free_port()), env=env, cwd=tmp_path, timeout=60
    )
    assert "JIAOZI_KEY_PASSPHRASE" in one_line_error(no_pass)
    wrong = jiaozi(
        "issuer",
        "serve",
        "--port",
        str(free_port()),
        env={**env, "JIAOZI_KEY_PASSPHRASE": "wrong"},
        cwd=tmp_path,
        timeout=60,
    )
    assert "JIAOZI_KEY_PASSPHRASE" in one_line_error(wrong)
    assert not db.exists()  # refused before touching the database
    bad_port = jiaozi("issuer", "serve", "--port", "70000", env=env, cwd=tmp_path)
    assert bad_port.returncode == 64


@pytest.mark.parametrize("service", ["issuer", "verifier"])
def test_serve_without_jiaozi_env_refuses_the_development_secrets_naming_it(
    tmp_path: Path, service: str
) -> None:
    env = cli_env(tmp_path, JIAOZI_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    del env["JIAOZI_ENV"]  # production is the default
    refused = jiaozi(service, "serve", "--port", str(free_port()), env=env, cwd=tmp_path)
    line = one_line_error(refused)
    assert "JIAOZI_ENV" in line and "production" in line, line
    assert not (tmp_path / "x.db").exists()  # refused before touching the database


# --- forwarding headers: believed only from configured proxies -------------------------------


def test_serve_trusts_no_forwarding_header_by_default_so_a_rotated_one_cannot_dodge_a_lockout(
    tmp_path: Path,
) -> None:
    """uvicorn's own default believes X-Forwarded-For from loopback: a caller on the host (or
    behind a proxy on it) chose the address the holder login lockout counted by rotating it."""
    office_home(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = cli_env(
        tmp_path,
        JIAOZI_DATABASE_URL=f"sqlite:///{tmp_path / 'issuer.db'}",
        JIAOZI_KEY_PASSPHRASE=PASSPHRASE,
        JIAOZI_API_KEY=API_KEY,
        JIAOZI_PUBLIC_URL=base,
        JIAOZI_HOLDER_ADDRESS_MAX_FAILURES="2",
    )
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jiaozi", "issuer", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "issuer did not answer within 60 s"
            try:
                httpx.get(f"{base}/.well-known/jwks.json", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        statuses = []
        for i in range(3):
            r = httpx.post(
                f"{base}/holder/login",
                data={"number": f"2026110014300{i:04d}", "code": "AAAA-BBBB-CCCC-DDDD"},
                headers={"Origin": base, "X-Forwarded-For": f"203.0.113.{i + 1}"},
                timeout=30,
            )
            statuses.append(r.status_code)
        # counted against the socket's address (127.0.0.1), not the three the header named
        assert statuses == [401, 401, 429]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()
        logscan.keep(tmp_path / "serve.log")  # the server's lines, for the session's scan


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("", ()),
        ("10.0.0.5, 192.168.1.0/24", ("10.0.0.5/32", "192.168.1.0/24")),
        ('["::1"]', ("::1/128",)),
    ],
)
def test_forwarding_headers_are_believed_only_from_the_configured_proxies(
    monkeypatch: pytest.MonkeyPatch, configured: str, expected: tuple[str, ...]
) -> None:
    from issuer.cli.commands import proxy_options

    monkeypatch.setenv("JIAOZI_TRUSTED_PROXIES", configured)
    settings = IssuerSettings()
    assert settings.trusted_proxies == expected
    # uvicorn's own reading (whose default trusts loopback) stays off: the app reads the
    # headers from these proxies only (tests/issuer/web/test_hosts.py)
    assert proxy_options(settings) == {"proxy_headers": False}


@pytest.mark.parametrize("configured", ["*", "proxy.example.cn", "10.0.0.300", "[1]"])
def test_a_trusted_proxy_that_is_not_an_address_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, configured: str
) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("JIAOZI_TRUSTED_PROXIES", configured)
    with pytest.raises(ValidationError, match="trusted_proxies"):
        IssuerSettings()
