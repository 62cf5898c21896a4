"""`jiaozi trust ...` and `jiaozi keys ...` run as a real process, as an operator would."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from credential import PublicKey, verify_trust_list
from tests.factory import REPO, T0

OFFICE = "urn:jiaozi:office:11001"


def jiaozi(
    home: Path, *args: str, now: int = T0, passphrase: str | None = "s3cret passphrase"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIAOZI_")}
    env.update(JIAOZI_HOME=str(home), JIAOZI_NOW=str(now))
    if passphrase is not None:
        env["JIAOZI_KEY_PASSPHRASE"] = passphrase
    return subprocess.run(
        [sys.executable, "-m", "jiaozi", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def add_office(
    home: Path,
    *extra: str,
    now: int = T0,
    types: str = "kindergarten,primary,junior_middle",
    passphrase: str = "s3cret passphrase",
) -> subprocess.CompletedProcess[str]:
    return jiaozi(
        home,
        "trust",
        "add-office",
        "--id",
        OFFICE,
        "--name",
        "北京市教育委员会",
        "--province",
        "11",
        "--office-code",
        "001",
        "--types",
        types,
        *extra,
        now=now,
        passphrase=passphrase,
    )


def test_operator_flow_init_add_rotate_compromise_export(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert "root-1" in ok(jiaozi(home, "trust", "init"))
    assert "seq 2" in ok(add_office(home, "--alg", "ES256"))
    assert "11001-2" in ok(jiaozi(home, "keys", "rotate", "--office", OFFICE, now=T0 + 100))
    out = ok(jiaozi(home, "keys", "compromise", "11001-2", "--at", str(T0 + 150), now=T0 + 200))
    assert "seq 4" in out and "rotate" in out  # the office has no signing key left
    shown = ok(jiaozi(home, "trust", "show", now=T0 + 200))
    assert (
        "COMPROMISED" in shown
        and "Junior middle school" in shown
        and "no key may sign now" in shown
    )

    export = tmp_path / "export"
    assert "seq 4" in ok(jiaozi(home, "trust", "export", "--out", str(export)))
    pins = [
        PublicKey.from_jwk(j)
        for j in json.loads((export / "root.jwks.json").read_text(encoding="utf-8"))["keys"]
    ]
    token = (export / "trust-list.jwt").read_text(encoding="ascii").strip()
    trust = verify_trust_list(token, pins)
    assert trust.sequence == 4
    office = trust.office(OFFICE)
    assert office is not None
    keys = {k.kid: k for k in office.keys}
    assert keys["11001-1"].exp == T0 + 101 and keys["11001-1"].compromised_at is None
    assert keys["11001-2"].compromised_at == T0 + 150
    assert keys["11001-1"].alg.value == "ES256"

    # stdout export is the same token; private keys are encrypted and 0600
    assert ok(jiaozi(home, "trust", "export")).strip() == token
    for pem in (home / "keys").rglob("*.pem"):
        assert pem.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert stat.S_IMODE(pem.stat().st_mode) == 0o600

    jwks = json.loads(ok(jiaozi(home, "keys", "jwks", "--office", OFFICE)))
    assert [j["kid"] for j in jwks["keys"]] == ["11001-1", "11001-2"]
    assert all("d" not in j for j in jwks["keys"])


def test_compromise_time_as_rfc3339(tmp_path: Path) -> None:
    ok(jiaozi(tmp_path, "trust", "init"))
    ok(add_office(tmp_path))
    at = "2026-11-29T16:00:30+08:00"  # T0 + 30 (T0 is 08:00 UTC)
    ok(jiaozi(tmp_path, "keys", "compromise", "11001-1", "--at", at, now=T0 + 60))
    jwks = json.loads(ok(jiaozi(tmp_path, "keys", "jwks", "--office", OFFICE)))
    assert jwks["keys"][0]["compromised_at"] == T0 + 30
    naive = jiaozi(tmp_path, "keys", "compromise", "11001-1", "--at", "2026-11-29T08:00:00")
    assert naive.returncode == 64 and "UTC offset" in naive.stderr


def test_missing_passphrase_is_a_one_line_error(tmp_path: Path) -> None:
    result = jiaozi(tmp_path, "trust", "init", passphrase=None)
    assert result.returncode == 1
    assert "JIAOZI_KEY_PASSPHRASE" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "trust").exists()


def test_wrong_passphrase_is_a_one_line_error(tmp_path: Path) -> None:
    ok(jiaozi(tmp_path, "trust", "init"))
    result = add_office(tmp_path, passphrase="wrong")
    assert result.returncode == 1 and "cannot decrypt" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("trust", "init", "--no-such-option"),
        ("trust", "add-office", "--id", OFFICE),  # missing required options
        ("keys", "rotate"),  # neither --office nor --root
        ("keys", "compromise", "11001-1", "--at", "yesterday"),
    ],
)
def test_usage_errors_exit_64(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = jiaozi(tmp_path, *args)
    assert result.returncode == 64, result.stderr
    assert "Traceback" not in result.stderr


def test_domain_errors_exit_1(tmp_path: Path) -> None:
    assert "jiaozi trust init" in jiaozi(tmp_path, "trust", "show").stderr
    ok(jiaozi(tmp_path, "trust", "init"))
    again = jiaozi(tmp_path, "trust", "init")
    assert again.returncode == 1 and "already initialised" in again.stderr
    bad = add_office(tmp_path, types="primary,nursery")
    assert bad.returncode == 1 and "nursery" in bad.stderr
    unknown = jiaozi(tmp_path, "keys", "compromise", "nope-1", "--at", str(T0))
    assert unknown.returncode == 1 and "nope-1" in unknown.stderr


def test_office_holding_its_own_keys(tmp_path: Path) -> None:
    """The office creates its key at home; the authority imports its JWKS."""
    office_home, authority = tmp_path / "office", tmp_path / "authority"
    ok(jiaozi(office_home, "keys", "create", "--office", OFFICE))
    jwks_file = tmp_path / "office.jwks.json"
    jwks_file.write_text(ok(jiaozi(office_home, "keys", "jwks", "--office", OFFICE)))
    ok(jiaozi(authority, "trust", "init"))
    assert "seq 2" in ok(add_office(authority, "--jwks", str(jwks_file)))
    assert not (authority / "keys" / "office-11001").exists()

    evil = tmp_path / "evil.jwks.json"
    evil.write_text(
        json.dumps(
            {
                "keys": [
                    {
                        "kty": "OKP",
                        "crv": "Ed25519",
                        "x": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                        "kid": "evil-1",
                    }
                ]
            }
        )
    )
    refused = jiaozi(
        authority,
        "trust",
        "add-office",
        "--id",
        "urn:jiaozi:office:31002",
        "--name",
        "上海",
        "--province",
        "31",
        "--office-code",
        "002",
        "--types",
        "primary",
        "--jwks",
        str(evil),
    )
    assert refused.returncode == 1 and "small order" in refused.stderr
