"""Registry and verifier round trips through `jiaozi backup` / `jiaozi restore`, and the
archive passphrase's rules."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from jiaozi.backup.archive import BackupError, backup_passphrase
from jiaozi.backup.services import backup_registry, restore_registry
from jiaozi.cli import main

PASS = "a passphrase for the tests only"
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def test_registry_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from registry.db import make_engine
    from registry.feed import add_client, authenticate

    home = tmp_path / "registry-home"
    db = home / "registry.db"  # as make demo lays it out: the database inside the home
    (home / "keys" / "registry").mkdir(parents=True)
    (home / "keys" / "registry" / "keyring.json").write_text('{"k": 1}')
    (home / "trust").mkdir()
    (home / "trust" / "trust-list.jwt").write_text("a.b.c")
    monkeypatch.setenv("JIAOZI_REGISTRY_DATABASE_URL", f"sqlite:///{db}")
    engine = make_engine(f"sqlite:///{db}")
    key = add_client(engine, "mis", identity=False, now=NOW)
    engine.dispose()

    with pytest.raises(BackupError, match="outside"):
        backup_registry(home / "backups" / "r.jzbk", passphrase=PASS.encode(), home=home)
    out = tmp_path / "registry.jzbk"
    manifest = backup_registry(out, passphrase=PASS.encode(), home=home, now=NOW)
    assert manifest["service"] == "registry"
    assert set(manifest["members"]) == {
        "database.sqlite",
        "home/keys/registry/keyring.json",
        "home/trust/trust-list.jwt",
    }
    db.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    (home / "keys" / "registry" / "keyring.json").unlink()
    (home / "trust" / "trust-list.jwt").write_text("changed")

    with pytest.raises(BackupError, match="not empty"):  # the home still has a file
        restore_registry(out, passphrase=PASS.encode(), home=home)
    assert not db.exists()
    done = restore_registry(out, passphrase=PASS.encode(), home=home, force=True)
    assert (home / "keys" / "registry" / "keyring.json").read_text() == '{"k": 1}'
    assert (home / "trust" / "trust-list.jwt").read_text() == "a.b.c"
    assert [p.read_text() for p in done.kept_aside[0].rglob("*.jwt")] == ["changed"]
    engine = make_engine(f"sqlite:///{db}")
    try:
        client = authenticate(engine, key)
    finally:
        engine.dispose()
    assert client is not None and client.name == "mis"


def test_verifier_round_trip_through_the_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from verifier.db import documents, make_engine

    db = tmp_path / "verifier.db"
    jwks = tmp_path / "trust" / "root.jwks.json"
    jwks.parent.mkdir()
    jwks.write_text('{"keys": []}')
    url = f"sqlite:///{db}"
    monkeypatch.setenv("JIAOZI_DATABASE_URL", url)
    monkeypatch.setenv("JIAOZI_ROOT_JWKS", str(jwks))
    monkeypatch.setenv("JIAOZI_BACKUP_PASSPHRASE", PASS)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            documents.insert().values(
                kind="trust", key="", token="t.o.k", version=7, fetched_at=NOW, checked_at=NOW
            )
        )
    engine.dispose()

    runner = CliRunner()
    out = tmp_path / "vault" / "verifier.jzbk"
    r = runner.invoke(main, ["backup", "verifier", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    r = runner.invoke(main, ["restore", "verifier", str(out)])
    assert r.exit_code == 2 and "not empty" in r.output

    db.unlink()
    jwks.unlink()
    wrong = tmp_path / "wrong-passphrase"
    wrong.write_text("not the archive's passphrase\n")
    r = runner.invoke(main, ["restore", "verifier", str(out), "--passphrase-file", str(wrong)])
    assert r.exit_code == 2 and "wrong backup passphrase" in r.output
    assert not db.exists()

    r = runner.invoke(main, ["restore", "verifier", str(out)])
    assert r.exit_code == 0, r.output
    assert jwks.read_text() == '{"keys": []}'
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(documents.c.version)).scalar_one() == 7
    engine.dispose()

    r = runner.invoke(main, ["restore", "issuer", str(out)])  # another service's archive
    assert r.exit_code == 2 and "backup of the verifier" in r.output


def test_the_passphrase_rules(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no backup passphrase"):
        backup_passphrase(None, production=False, environ={})
    with pytest.raises(BackupError, match="too weak"):
        backup_passphrase(None, production=True, environ={"JIAOZI_BACKUP_PASSPHRASE": "short"})
    with pytest.raises(BackupError, match="too weak"):
        backup_passphrase(None, production=True, environ={"JIAOZI_BACKUP_PASSPHRASE": "ab" * 20})
    assert backup_passphrase(None, production=False, environ={"JIAOZI_BACKUP_PASSPHRASE": "x"})
    f = tmp_path / "pass"
    f.write_text(PASS + "\nsecond line ignored\n")
    got = backup_passphrase(f, production=True, environ={"JIAOZI_BACKUP_PASSPHRASE": "other"})
    assert got == PASS.encode()
