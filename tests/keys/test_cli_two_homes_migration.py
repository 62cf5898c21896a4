"""docs/key-ceremony.md, "Moving an older installation to two homes", as an operator runs it:
one home that held an Ed25519 root and the office's keys together becomes an offline root
home (ES256 root after the rotation) and an office home holding only the office's keys,
whose earlier signatures still check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from credential import verify_trust_list
from keys import KeyStore, office_document_key, root_keys
from tests.factory import T0
from tests.keys.test_cli_ceremony import (
    OFFICE,
    OFFICE_ARGS,
    PASSPHRASE,
    no_root_key_under,
    root,
)


def _refused(home: Path, *args: str, now: int) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("JIAOZI_")}
    env.update(JIAOZI_HOME=str(home), JIAOZI_NOW=str(now), JIAOZI_KEY_PASSPHRASE=PASSPHRASE)
    result = subprocess.run(
        [sys.executable, "-m", "jiaozi", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=home.parent,
        timeout=120,
    )
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    return result.stderr


def test_an_old_single_home_with_an_ed25519_root_moves_to_two_homes(tmp_path: Path) -> None:
    t = T0
    # the old layout: the root and the office's token key in one home, the root Ed25519
    out = root(tmp_path, "trust", "init", "--alg", "EdDSA", now=t)
    assert "(EdDSA)" in out
    root(tmp_path, "trust", "add-office", *OFFICE_ARGS, now=t + 10)
    old_home = tmp_path / "root"
    office_dir = old_home / "keys" / "office-11001"
    assert office_dir.is_dir()
    old_store = KeyStore(old_home, PASSPHRASE.encode())
    token_signer = old_store.active_signer(OFFICE, now=t + 20)
    old_kid = token_signer.kid
    signed_before = token_signer.sign(b"a credential signed before the move")

    # init-office refuses a home holding root keys
    assert (
        "root"
        in _refused(
            old_home, "keys", "init-office", *OFFICE_ARGS, "--out", "r.json", now=t + 30
        ).lower()
    )

    # MOVE the office's keys out to the office's own home (same passphrase, as the docs allow)
    new_home = tmp_path / "office"
    (new_home / "keys").mkdir(parents=True)
    shutil.move(str(office_dir), str(new_home / "keys" / "office-11001"))
    # the root becomes ES256 (step 7 with --alg ES256): PDF validators accept no Ed25519 CA
    out = root(tmp_path, "keys", "rotate", "--root", "--alg", "ES256", now=t + 100)
    assert "trust list re-signed" in out

    def at_office(*args: str, now: int) -> str:
        import os

        env = {k: v for k, v in os.environ.items() if not k.startswith("JIAOZI_")}
        env.update(JIAOZI_HOME=str(new_home), JIAOZI_NOW=str(now), JIAOZI_KEY_PASSPHRASE=PASSPHRASE)
        result = subprocess.run(
            [sys.executable, "-m", "jiaozi", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    # step 2 from init-office on: the office keeps its token key, gets a P-256 docsign key
    at_office("keys", "init-office", *OFFICE_ARGS, "--out", "request.json", now=t + 110)
    root(tmp_path, "trust", "onboard", "request.json", "--out", "answer.json", now=t + 120)
    at_office("keys", "install", "answer.json", now=t + 130)

    no_root_key_under(new_home, old_home)
    store = KeyStore(new_home, PASSPHRASE.encode())
    doc = office_document_key(store, OFFICE, now=t + 140)
    assert doc.cert_der
    assert store.active_key(OFFICE, now=t + 140).kid == old_kid  # the token key moved, not remade

    # what the office signed before the move still checks under the re-signed list
    listed = verify_trust_list(
        (new_home / "trust" / "trust-list.jwt").read_text().strip(), root_keys(old_home)
    )
    entry = listed.office(OFFICE)
    assert entry is not None
    [key] = [k for k in entry.keys if k.kid == old_kid]
    assert key.verify(b"a credential signed before the move", signed_before)
    assert not key.verify(b"another text", signed_before)
    # the root's current key is ES256 now; the retired Ed25519 one is kept for old lists
    algs = sorted(str(k.alg) for k in root_keys(old_home))
    assert algs == ["ES256", "EdDSA"], algs
