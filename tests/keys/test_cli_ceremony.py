"""docs/key-ceremony.md, step by step, as an operator runs it: every command it shows, in a
ROOT home and an OFFICE home that never share a file except the request and the answer."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from credential import PublicKey, verify_trust_list
from keys import KeyStore, office_document_key, revoked_serials, root_keys
from tests.factory import REPO, T0

OFFICE = "urn:jiaozi:office:11001"
PASSPHRASE = "s3cret passphrase of the ceremony"
OFFICE_PASSPHRASE = "another passphrase, the office's own"
OFFICE_ARGS = (
    "--id",
    OFFICE,
    "--name",
    "北京市教育委员会",
    "--province",
    "11",
    "--office-code",
    "001",
    "--types",
    "kindergarten,primary",
)


def jiaozi(home: Path, *args: str, now: int, passphrase: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIAOZI_")}
    env.update(JIAOZI_HOME=str(home), JIAOZI_NOW=str(now), JIAOZI_KEY_PASSPHRASE=passphrase)
    result = subprocess.run(
        [sys.executable, "-m", "jiaozi", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=home.parent,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def root(tmp: Path, *args: str, now: int) -> str:
    return jiaozi(tmp / "root", *args, now=now, passphrase=PASSPHRASE)


def office(tmp: Path, *args: str, now: int) -> str:
    return jiaozi(tmp / "office", *args, now=now, passphrase=OFFICE_PASSPHRASE)


def no_root_key_under(home: Path, root_home: Path) -> None:
    assert not (home / "keys" / "root").exists()
    root_pems = [p.read_bytes() for p in (root_home / "keys" / "root").glob("*.pem")]
    assert root_pems
    for path in home.rglob("*"):
        if path.is_file():
            assert path.read_bytes() not in root_pems, path


def serial_of(output: str) -> str:
    match = re.search(r"serial ([0-9a-f]+)", output)
    assert match, output
    return match.group(1)


def test_the_key_ceremony_walkthrough(tmp_path: Path) -> None:
    assert REPO.exists()
    t = T0
    # 1. making the root (offline machine, root home)
    out = root(tmp_path, "trust", "init", now=t)
    assert "(ES256)" in out and "root.crt" in out
    root_cert = x509.load_der_x509_certificate((tmp_path / "root/trust/root.crt").read_bytes())
    assert root_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    # 2. onboarding an office: its keys on its machine, a request, the answer, installed
    out = office(tmp_path, "keys", "init-office", *OFFICE_ARGS, "--out", "request.json", now=t)
    assert "no secret in it" in out
    request = json.loads((tmp_path / "request.json").read_text())
    assert set(request) == {"format", "office", "jwks", "csr"}
    assert "PRIVATE" not in (tmp_path / "request.json").read_text()
    out = root(tmp_path, "trust", "onboard", "request.json", "--out", "answer.json", now=t + 10)
    first_serial = serial_of(out)
    assert "PRIVATE" not in (tmp_path / "answer.json").read_text()
    out = office(tmp_path, "keys", "install", "answer.json", now=t + 20)
    assert f"certificate {first_serial}" in out
    no_root_key_under(tmp_path / "office", tmp_path / "root")
    store = KeyStore(tmp_path / "office", OFFICE_PASSPHRASE.encode())
    assert office_document_key(store, OFFICE, now=t + 30).cert_der  # what serve calls
    out = root(tmp_path, "trust", "show", now=t + 30)
    assert OFFICE in out and "11001-1" in out

    # 3. signing and exporting the trust list for verifiers and the registry
    out = root(tmp_path, "trust", "export", "--out", "published", now=t + 40)
    assert "trust-list.jwt" in out

    # 4. rotating the office's token key: the office rotates, asks again, installs
    out = office(tmp_path, "keys", "rotate", "--office", OFFICE, now=t + 100)
    assert "no root key in this home" in out
    office(tmp_path, "keys", "init-office", *OFFICE_ARGS, "--out", "request.json", now=t + 110)
    out = root(tmp_path, "trust", "onboard", "request.json", "--out", "answer.json", now=t + 120)
    office(tmp_path, "keys", "install", "answer.json", now=t + 130)
    listed = verify_trust_list(
        (tmp_path / "office/trust/trust-list.jwt").read_text().strip(),
        root_keys(tmp_path / "root"),
    ).office(OFFICE)
    assert listed is not None and [k.kid for k in listed.keys] == ["11001-1", "11001-2"]

    # 5. revoking a document-signing certificate (the one the rotation superseded)
    out = root(tmp_path, "trust", "revoke-docsign", first_serial, now=t + 200)
    assert "revoked document-signing certificate" in out
    root(tmp_path, "trust", "export", "--out", "published", now=t + 210)
    crl = (tmp_path / "published/docsign.crl").read_bytes()
    published = json.loads((tmp_path / "published/root.jwks.json").read_text())
    pinned = [PublicKey.from_jwk(k) for k in published["keys"]]  # what verifiers pin
    assert revoked_serials(crl, pinned) == {int(first_serial, 16)}

    # 6. recovering from an office key compromise: token key and document-signing key
    old_key = office_document_key(store, OFFICE, now=t + 240).key_pem
    at = str(t + 250)
    root(tmp_path, "keys", "compromise", "11001-2", "--at", at, now=t + 300)
    office(tmp_path, "keys", "compromise", "11001-2", "--at", at, now=t + 300)
    office(tmp_path, "keys", "rotate", "--office", OFFICE, now=t + 310)
    office(
        tmp_path,
        "keys",
        "init-office",
        *OFFICE_ARGS,
        "--new-docsign-key",
        "--out",
        "request.json",
        now=t + 320,
    )
    out = root(tmp_path, "trust", "onboard", "request.json", "--out", "answer.json", now=t + 330)
    new_serial = serial_of(out)
    current = x509.load_der_x509_certificate(
        (tmp_path / "office/keys/office-11001/docsign.crt").read_bytes()
    )
    root(tmp_path, "trust", "revoke-docsign", f"{current.serial_number:x}", now=t + 340)
    office(tmp_path, "keys", "install", "answer.json", now=t + 350)
    installed = office_document_key(store, OFFICE, now=t + 360)
    assert x509.load_der_x509_certificate(installed.cert_der).serial_number == int(new_serial, 16)
    assert installed.key_pem != old_key  # the new document-signing key replaced the old
    out = root(tmp_path, "trust", "show", now=t + 400)
    assert "11001-2" in out and "COMPROMISED" in out and "11001-3" in out

    # 7. rotating the root: the list re-signed by the new key; offices renew their certificate
    out = root(tmp_path, "keys", "rotate", "--root", now=t + 500)
    assert "trust list re-signed" in out
    office(tmp_path, "keys", "init-office", *OFFICE_ARGS, "--out", "request.json", now=t + 510)
    root(tmp_path, "trust", "onboard", "request.json", "--out", "answer.json", now=t + 520)
    office(tmp_path, "keys", "install", "answer.json", now=t + 530)
    renewed = office_document_key(store, OFFICE, now=t + 540)
    new_root = x509.load_der_x509_certificate(renewed.chain_der[0])
    assert new_root.public_key() != root_cert.public_key()
    assert new_root.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) in {
        k.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        for k in root_keys(tmp_path / "office")
    }
    no_root_key_under(tmp_path / "office", tmp_path / "root")
