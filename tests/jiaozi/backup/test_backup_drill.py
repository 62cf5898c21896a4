"""The backup drill, on SQLite and on PostgreSQL: issue, back up, issue more, destroy the
database and the key store, restore; the audit chain verifies, nothing handed out after the
backup is handed out again, and the certificates of before the backup still verify with the
restored keys and trust list. Also: a tampered archive and a wrong passphrase are refused
with nothing changed, and a non-empty target without --force."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from credential import Verdict, load_status_list, verify
from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from jiaozi.backup.archive import BackupError
from jiaozi.backup.services import backup_issuer, restore_issuer
from keys import KeyStore, current_trust_list
from tests.conftest import PG_URL
from tests.factory.issuer import API_KEY, distinct_application
from tests.factory.keys import OFFICE, PASSPHRASE, make_store

ARCHIVE_PASSPHRASE = b"drill passphrase, not a real one"


@pytest.fixture(params=["sqlite", "postgresql"])
def drill_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (pg_dump dumps a whole database, not a schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'office.db'}"
        return
    admin: sa.Engine = request.getfixturevalue("pg_admin")
    name = f"backup_{uuid.uuid4().hex[:12]}"
    auto = admin.execution_options(isolation_level="AUTOCOMMIT")
    with auto.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield str(sa.engine.make_url(PG_URL).set(database=name))
    finally:
        _drop_pg(auto, name)


def _drop_pg(auto: sa.Engine, name: str) -> None:
    with auto.connect() as conn:
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')


def _destroy(url: str) -> None:
    """Lose the database: the SQLite file (and its WAL) deleted, or the PostgreSQL
    database dropped and made again empty, as a new server would have it."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    auto = sa.create_engine(
        sa.engine.make_url(PG_URL), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        _drop_pg(auto, str(parsed.database))
        with auto.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    finally:
        auto.dispose()


@pytest.fixture
def office_env(drill_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The office's environment as its service manager would set it; returns its home."""
    home = tmp_path / "office-home"
    make_store(home, now=int(time.time()) - 120)
    for name, value in {
        "JIAOZI_DATABASE_URL": drill_db,
        "JIAOZI_HOME": str(home),
        "JIAOZI_KEY_PASSPHRASE": PASSPHRASE.decode(),
        "JIAOZI_PUBLIC_URL": "http://testserver",
        "JIAOZI_VERIFIER_URL": "https://verify.example.cn",
        "JIAOZI_API_KEY": API_KEY,
        "JIAOZI_ID_HMAC_KEY": "test-id-hmac-key-0123456789-abcdef",
        "JIAOZI_PUBLISH_INTERVAL_SECONDS": "0",
        "JIAOZI_NATIONAL_SYNC_INTERVAL": "0",
    }.items():
        monkeypatch.setenv(name, value)
    return home


class Office:
    """The office's service on its database and key store, as `jiaozi issuer serve`."""

    def __init__(self, home: Path) -> None:
        self.settings = IssuerSettings()
        store = KeyStore(home, PASSPHRASE)
        signer = store.active_signer(OFFICE, now=int(time.time()))
        self.signer = signer
        self.app = create_app(self.settings, signer=signer)
        self.client = TestClient(self.app)

    def __enter__(self) -> Office:
        self.client.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(None, None, None)

    def issue(self, n: int) -> Any:
        headers = {"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": uuid.uuid4().hex}
        return self.client.post(
            "/api/v1/certificates", json=distinct_application(n), headers=headers
        )

    def issued(self, n: int) -> dict[str, Any]:
        r = self.issue(n)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def max_event(self) -> int:
        with self.app.state.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT max(seq) FROM event")).scalar_one())

    def first_event_of(self, certs: list[dict[str, Any]]) -> int:
        """Return the smallest event number of ``certs``' issuance."""
        numbers = [c["certificate_number"] for c in certs]
        with self.app.state.engine.connect() as conn:
            got = conn.execute(
                sa.select(sa.func.min(sa.column("seq")))
                .select_from(sa.table("event", sa.column("seq"), sa.column("certificate_number")))
                .where(sa.column("certificate_number").in_(numbers))
            ).scalar_one()
        return int(got)

    def entries(self) -> set[tuple[str, int]]:
        with self.app.state.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT l.uri, c.status_idx FROM certificate c "
                    "JOIN status_list l ON l.id = c.status_list_id"
                )
            ).all()
        return {(str(u), int(i)) for u, i in rows}

    def decide(self, change: str, number: str) -> None:
        """Suspend, reinstate or revoke ``number`` at once, as a supervisor would."""
        from credential import beijing_date
        from issuer.accounts import Principal
        from issuer.lifecycle import status, validate_decision

        now = dt.datetime.now(dt.UTC)
        decision = validate_decision(
            {
                "reason_code": "misconduct",
                "decision_date": beijing_date(now).isoformat(),
                "legal_basis": "《教师资格条例》第十九条",
            },
            today=beijing_date(now),
        )
        who = Principal(actor="officer:drill", office_id=OFFICE, role="supervisor")
        with Session(self.app.state.engine) as session:
            getattr(status, change)(
                session,
                number=number,
                decision=decision,
                who=who,
                signer=self.signer,
                settings=self.settings,
                now=now,
            )

    def audited(self, action: str) -> int:
        """Return how many audit records of ``action`` the chain holds."""
        with self.app.state.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text("SELECT count(*) FROM audit_record WHERE action = :a"), {"a": action}
                ).scalar_one()
            )

    def state(self, number: str) -> str:
        with self.app.state.engine.connect() as conn:
            return str(
                conn.execute(
                    sa.text("SELECT status FROM certificate WHERE certificate_number = :n"),
                    {"n": number},
                ).scalar_one()
            )


def _entry(cert: dict[str, Any]) -> tuple[str, int]:
    return cert["status_list"]["uri"], int(cert["status_list"]["idx"])


def _verdict(office: Office, home: Path, cert: dict[str, Any]) -> Verdict:
    """Judge ``cert`` as a verifier would, trusting only the RESTORED home's trust list."""
    trust = current_trust_list(home)
    uri = cert["status_list"]["uri"]
    r = office.client.get(uri.removeprefix("http://testserver"))
    assert r.status_code == 200, r.text
    snapshot = load_status_list(r.text, trust, expected_uri=uri)
    result = verify(
        cert["qr_token"], trust=trust, status={uri: snapshot}, now=dt.datetime.now(dt.UTC)
    )
    return result.verdict


def test_drill_issue_backup_issue_destroy_restore(office_env: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from jiaozi.cli import main

    home = office_env
    archive = tmp_path / "vault" / "office.jzbk"
    published = tmp_path / "public"  # what `export-public` wrote for the web server
    runner = CliRunner()
    with Office(home) as office:
        before = [office.issued(i) for i in range(1, 4)]
        manifest = backup_issuer(
            archive, passphrase=ARCHIVE_PASSPHRASE, home=home, key_passphrase=PASSPHRASE
        )
        after = [office.issued(i) for i in range(4, 8)]
        last_event = office.max_event()
        r = runner.invoke(main, ["issuer", "export-public", str(published)])
        assert r.exit_code == 0, r.output
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert manifest["audit_checkpoint"]["audit_seq"] >= 3
    assert manifest["high_water"]["serial_allowance"] == 50_000
    assert {m.split("/")[0] for m in manifest["members"]} >= {"home"}
    handed_out = {c["certificate_number"] for c in after}
    after_entries = {_entry(c) for c in after}

    _destroy(str(IssuerSettings().database_url))
    shutil.rmtree(home)

    done = restore_issuer(archive, passphrase=ARCHIVE_PASSPHRASE, home=home)
    assert done.audit_ok is True

    with Office(home) as office:
        # Until a fresh backup sets a new fence, issuance waits (restoring the same
        # archive twice must not fall behind what the first restore handed out).
        paused = office.issue(20)
        assert paused.status_code == 503, paused.text
        assert paused.json()["type"].endswith("backup_needed")

        backup_issuer(
            tmp_path / "vault" / "after-restore.jzbk",
            passphrase=ARCHIVE_PASSPHRASE,
            home=home,
            key_passphrase=PASSPHRASE,
        )
        fresh = [office.issued(i) for i in range(4, 10)]  # the same people again, too
        # Issued, but nothing signs a list before step 6 (docs: "How to restore").
        r = runner.invoke(main, ["issuer", "publish"])
        assert r.exit_code == 1 and "reconcile-status --published" in r.output, r.output
        r = runner.invoke(main, ["issuer", "reconcile-status", "--published", str(published)])
        assert r.exit_code == 0 and "may be published again" in r.output, r.output
        r = runner.invoke(main, ["issuer", "publish"])
        assert r.exit_code == 0, r.output
        numbers = {c["certificate_number"] for c in fresh}
        assert not numbers & handed_out
        serial_after = max(int(n[-6:]) for n in handed_out)
        assert min(int(n[-6:]) for n in numbers) > serial_after
        assert not {_entry(c) for c in fresh} & after_entries
        # the registry and the MIS saw events up to last_event: new ones come after them
        assert office.first_event_of(fresh) > last_event
        # the lists open at the backup are drawn from no more
        assert {_entry(c)[0] for c in fresh}.isdisjoint({_entry(c)[0] for c in before})
        # no (list, index) is held twice in the restored database
        assert len(office.entries()) == len(before) + len(fresh)

        for cert in before:
            assert _verdict(office, home, cert) is Verdict.VALID
        for cert in fresh:
            assert _verdict(office, home, cert) is Verdict.VALID


def test_tampered_archive_wrong_passphrase_and_busy_target_are_refused(
    office_env: Path, tmp_path: Path
) -> None:
    home = office_env
    archive = tmp_path / "office.jzbk"
    with Office(home) as office:
        office.issued(1)
        backup_issuer(archive, passphrase=ARCHIVE_PASSPHRASE, home=home, key_passphrase=PASSPHRASE)
        office.issued(2)
    keyring = sorted(p.relative_to(home) for p in home.rglob("*"))

    with pytest.raises(BackupError, match="wrong backup passphrase"):
        restore_issuer(archive, passphrase=b"not the passphrase at all", home=home, force=True)

    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    tampered = tmp_path / "tampered.jzbk"
    tampered.write_bytes(bytes(raw))
    with pytest.raises(BackupError, match="changed"):
        restore_issuer(tampered, passphrase=ARCHIVE_PASSPHRASE, home=home, force=True)
    cut = tmp_path / "cut.jzbk"
    cut.write_bytes(archive.read_bytes()[:-40])
    with pytest.raises(BackupError, match=r"cut short|changed"):
        restore_issuer(cut, passphrase=ARCHIVE_PASSPHRASE, home=home, force=True)

    with pytest.raises(BackupError, match="not empty"):
        restore_issuer(archive, passphrase=ARCHIVE_PASSPHRASE, home=home)

    # Nothing was changed by any refusal: both certificates are still there, the home too.
    with Office(home) as office:
        with office.app.state.engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM certificate")).scalar_one()
        assert count == 2
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == keyring
    assert not [p for p in home.parent.iterdir() if ".before-restore-" in p.name]
    assert os.environ["JIAOZI_HOME"] == str(home)


def test_the_issuer_commands(
    office_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from jiaozi.cli import main

    home = office_env
    monkeypatch.setenv("JIAOZI_BACKUP_PASSPHRASE", ARCHIVE_PASSPHRASE.decode())
    with Office(home) as office:
        office.issued(1)
    out = tmp_path / "office.jzbk"
    runner = CliRunner()
    r = runner.invoke(main, ["backup", "issuer", "--out", str(out), "--serials", "10"])
    assert r.exit_code == 0, r.output
    assert "audit checkpoint at record" in r.output
    _destroy(str(IssuerSettings().database_url))
    shutil.rmtree(home)
    r = runner.invoke(main, ["restore", "issuer", str(out)])
    assert r.exit_code == 0, r.output
    assert "issuance is paused until a fresh backup" in r.output
    r = runner.invoke(main, ["audit", "verify", "--lang", "en"])
    assert r.exit_code == 0, r.output


def _published(directory: Path, cert: dict[str, Any]) -> str:
    """Return the exported token of ``cert``'s status list."""
    list_id = cert["status_list"]["uri"].rsplit("/", 1)[-1]
    return (directory / "statuslists" / list_id).read_text("ascii")


def test_drill_restored_issuer_does_not_undo_what_was_published(
    office_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from jiaozi.cli import main
    from verifier.sync import cleared_invalid

    home = office_env
    archive = tmp_path / "vault" / "office.jzbk"
    published = tmp_path / "public"  # what `export-public` wrote for the web server
    runner = CliRunner()
    with Office(home) as office:
        revoked, suspended, reinstated, untouched = (office.issued(i) for i in range(1, 5))
        office.decide("suspend", reinstated["certificate_number"])
        backup_issuer(archive, passphrase=ARCHIVE_PASSPHRASE, home=home, key_passphrase=PASSPHRASE)
        # After the backup, published and seen by verifiers, then lost with the database:
        office.decide("revoke", revoked["certificate_number"])
        office.decide("suspend", suspended["certificate_number"])
        office.decide("reinstate", reinstated["certificate_number"])
        later = office.issued(5)  # not in the backup at all
        office.decide("revoke", later["certificate_number"])
        r = runner.invoke(main, ["issuer", "export-public", str(published)])
        assert r.exit_code == 0, r.output
    trust = current_trust_list(home)
    uri = revoked["status_list"]["uri"]
    assert {c["status_list"]["uri"] for c in (suspended, reinstated, untouched, later)} == {uri}
    held = load_status_list(_published(published, revoked), trust, expected_uri=uri)
    assert held.status_list.get(int(revoked["status_list"]["idx"])) == 1

    _destroy(str(IssuerSettings().database_url))
    shutil.rmtree(home)
    restore_issuer(archive, passphrase=ARCHIVE_PASSPHRASE, home=home)

    with Office(home) as office:
        # The defect: restored, the list is the backup's; signed anew it would un-revoke.
        assert office.state(revoked["certificate_number"]) == "valid"
        with office.app.state.engine.connect() as conn:
            data, bits = conn.execute(
                sa.text("SELECT data, bits FROM status_list WHERE uri = :u"), {"u": uri}
            ).one()
        from credential import StatusList

        assert cleared_invalid(held.status_list, StatusList.from_bytes(bytes(data), bits)) == 2

        # The gate: until reconciled, no list is signed, served or exported (the export
        # would overwrite the published lists the reconcile reads), each naming the step.
        refused = office.client.get(uri.removeprefix("http://testserver"))
        assert refused.status_code == 503, refused.text
        assert refused.json()["type"].endswith("reconcile_needed")
        exported = {p: p.read_bytes() for p in published.rglob("*") if p.is_file()}
        for command in (["issuer", "publish"], ["issuer", "export-public", str(published)]):
            r = runner.invoke(main, command)
            assert r.exit_code == 1, r.output
            assert "reconcile-status --published" in r.output, r.output
        assert {p: p.read_bytes() for p in published.rglob("*") if p.is_file()} == exported

        # A change spends a feed number: the fresh backup comes first (docs), then this.
        r = runner.invoke(main, ["issuer", "reconcile-status", "--published", str(published)])
        assert r.exit_code != 0 and "backup" in r.output.lower(), r.output
        backup_issuer(
            tmp_path / "vault" / "after-restore.jzbk",
            passphrase=ARCHIVE_PASSPHRASE,
            home=home,
            key_passphrase=PASSPHRASE,
        )
        r = runner.invoke(main, ["issuer", "reconcile-status", "--published", str(published)])
        assert r.exit_code == 0, r.output
        assert "3 certificate(s) reconciled, 1 entr(ies) retained" in r.output
        assert office.state(revoked["certificate_number"]) == "revoked"
        assert office.state(suspended["certificate_number"]) == "suspended"
        assert office.state(reinstated["certificate_number"]) == "valid"
        assert office.state(untouched["certificate_number"]) == "valid"
        with office.app.state.engine.connect() as conn:
            audited = conn.execute(
                sa.text(
                    "SELECT subject, detail_json FROM audit_record "
                    "WHERE action = 'status.reconciled' ORDER BY id"
                )
            ).all()
        assert sorted(s for s, _ in audited) == sorted(
            c["certificate_number"] for c in (revoked, suspended, reinstated)
        )
        assert all(str(held.issued_at) in d for _, d in audited)
        # A second run finds nothing left to take.
        r = runner.invoke(main, ["issuer", "reconcile-status", "--published", str(published)])
        assert r.exit_code == 0 and "0 certificate(s) reconciled" in r.output, r.output
        assert "may be published again" not in r.output  # the first run cleared the gate
        assert office.audited("status.reconcile_done") == 1

        r = runner.invoke(main, ["audit", "verify", "--lang", "en"])
        assert r.exit_code == 0, r.output  # the chain holds the reconciled records whole
        r = runner.invoke(main, ["issuer", "publish"])
        assert r.exit_code == 0, r.output
        got = office.client.get(uri.removeprefix("http://testserver"))
        assert got.status_code == 200, got.text
        new = load_status_list(got.text, trust, expected_uri=uri)
        values = {
            name: new.status_list.get(int(c["status_list"]["idx"]))
            for name, c in {
                "revoked": revoked,
                "suspended": suspended,
                "reinstated": reinstated,
                "untouched": untouched,
                "later": later,
            }.items()
        }
        assert values == {
            "revoked": 1,
            "suspended": 2,
            "reinstated": 0,
            "untouched": 0,
            "later": 1,
        }
        # A verifier holding the post-backup list takes the republished one.
        assert new.issued_at >= held.issued_at
        assert cleared_invalid(held.status_list, new.status_list) == 0
        assert _verdict(office, home, revoked) is Verdict.NOT_VALID
        assert _verdict(office, home, reinstated) is Verdict.VALID


def test_none_published_clears_the_gate_said_and_audited(office_env: Path, tmp_path: Path) -> None:
    """An office that never published a list (no export, no public URL to read) clears
    the restore's gate explicitly; the audit chain says so and publication goes on."""
    from click.testing import CliRunner

    from jiaozi.cli import main

    home = office_env
    archive = tmp_path / "vault" / "office.jzbk"
    runner = CliRunner()
    with Office(home) as office:
        cert = office.issued(1)
        backup_issuer(archive, passphrase=ARCHIVE_PASSPHRASE, home=home, key_passphrase=PASSPHRASE)
    _destroy(str(IssuerSettings().database_url))
    shutil.rmtree(home)
    done = restore_issuer(archive, passphrase=ARCHIVE_PASSPHRASE, home=home)
    assert any("reconcile-status" in note for note in done.notes)
    path = cert["status_list"]["uri"].removeprefix("http://testserver")

    with Office(home) as office:
        backup_issuer(
            tmp_path / "vault" / "after.jzbk",
            passphrase=ARCHIVE_PASSPHRASE,
            home=home,
            key_passphrase=PASSPHRASE,
        )
        assert office.client.get(path).status_code == 503
        for wrong in ([], ["--none-published", "--published", str(tmp_path)]):
            r = runner.invoke(main, ["issuer", "reconcile-status", *wrong])
            assert r.exit_code == 64 and "exactly one of" in r.output, r.output
        assert office.audited("status.reconcile_none_published") == 0

        r = runner.invoke(main, ["issuer", "reconcile-status", "--none-published"])
        assert r.exit_code == 0, r.output
        assert "WARNING" in r.output and "may be published again" in r.output
        assert office.audited("status.reconcile_none_published") == 1
        assert office.audited("status.reconcile_done") == 0
        with office.app.state.engine.connect() as conn:
            detail = conn.execute(
                sa.text(
                    "SELECT detail_json FROM audit_record "
                    "WHERE action = 'status.reconcile_none_published'"
                )
            ).scalar_one()
        assert json.loads(detail)["none_published"] is True

        r = runner.invoke(main, ["issuer", "publish"])
        assert r.exit_code == 0, r.output
        assert _verdict(office, home, cert) is Verdict.VALID
        # Nothing left to clear: said, and not recorded twice.
        r = runner.invoke(main, ["issuer", "reconcile-status", "--none-published"])
        assert r.exit_code == 0 and "nothing changed" in r.output, r.output
        assert office.audited("status.reconcile_none_published") == 1
        r = runner.invoke(main, ["audit", "verify", "--lang", "en"])
        assert r.exit_code == 0, r.output
