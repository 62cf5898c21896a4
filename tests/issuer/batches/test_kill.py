"""``kill -9`` of a real ``jiaozi batch issue`` at five points of a 10,000-row batch, then a
re-run: every valid row issued exactly once, every number distinct and none skipped, one
audit record per certificate on an intact chain, and every QR token verifies.

SQLite (a file, as the command line uses it) and PostgreSQL (a schema of the test server).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import Verdict, load_status_list, verify
from issuer import issuance
from issuer.audit.chain import verify_chain
from issuer.batches.reading import read_batch
from issuer.db.engine import make_engine
from issuer.db.models import AuditRecord, Batch, BatchItem, Certificate, Event
from issuer.issuance import open_credential
from issuer.settings import IssuerSettings
from keys import KeyStore, current_trust_list
from tests.factory import SHARED
from tests.factory.keys import OFFICE, make_store

PASSPHRASE = "kill-test-passphrase"
ROWS = 10_000
KILL_AT = (None, 0.10, 0.30, 0.60, 0.90)  # None: as soon as the batch row exists


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next((line for line in status.splitlines() if line.startswith("State:")), "")
    return "Z" not in state.split(":", 1)[1][:3] if state else False


def _progress(engine: sa.Engine) -> tuple[bool, int]:
    """Return (the batch row exists, issued_rows) as committed, or (False, 0)."""
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(Batch.issued_rows)).first()
    except sa.exc.DBAPIError:  # tables not there yet, or the file is being created
        return False, 0
    return (row is not None, 0 if row is None else int(row[0]))


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    home = tmp_path / "home"
    now = int(time.time()) - 3600
    make_store(home, now=now, passphrase=PASSPHRASE.encode(), office_id=OFFICE)
    data = subprocess.run(
        [
            sys.executable,
            str(SHARED / "tools" / "make_applicants.py"),
            "--count",
            str(ROWS),
            "--seed",
            "11",
        ],
        check=True,
        capture_output=True,
    ).stdout
    batch_file = tmp_path / "round-2026.csv"
    batch_file.write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIAOZI_")}
    env.update(
        JIAOZI_ENV="development",  # production is the default
        JIAOZI_HOME=str(home),
        JIAOZI_KEY_PASSPHRASE=PASSPHRASE,
        JIAOZI_DATABASE_URL=database_url,
        JIAOZI_OFFICE_ID=OFFICE,
        JIAOZI_PUBLIC_URL="http://testserver",
        JIAOZI_ID_HMAC_KEY="kill-test-id-hmac-key-0123456789abcdef",
    )
    return home, batch_file, env


def _command(batch_file: Path) -> list[str]:
    return [sys.executable, "-m", "jiaozi", "batch", "issue", str(batch_file), "--chunk", "250"]


def test_kill_9_at_five_points_then_rerun_issues_every_row_once(world, database_url: str) -> None:
    home, batch_file, env = world
    expected = read_batch(batch_file.read_bytes())
    valid = len(expected.rows)
    assert valid + len({e.row_number for e in expected.errors}) == ROWS
    engine = make_engine(database_url)
    kills: list[tuple[str, int]] = []
    rng = random.Random(11)
    started = time.monotonic()
    try:
        for point in KILL_AT:
            proc = subprocess.Popen(
                _command(batch_file),
                env=env,
                cwd=batch_file.parent,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            try:
                workers: set[int] = set()
                deadline = time.monotonic() + 60
                while proc.poll() is None and time.monotonic() < deadline:
                    workers.update(_children(proc.pid))
                    exists, issued = _progress(engine)
                    if exists and (point is None or issued >= point * valid):
                        # somewhere inside the next chunk's transaction (250 rows take
                        # ~55 ms on an idle machine), not always at its start
                        time.sleep(rng.uniform(0.0, 0.04))
                        break
                    time.sleep(0.005)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=30)
                    kills.append((f"{point}", _progress(engine)[1]))
                else:  # finished before this point: the remaining points are moot
                    _out, err = proc.communicate()
                    pytest.fail(f"the run ended before the {point} kill point: {err.decode()}")
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(timeout=30)
                if proc.stdout is not None:
                    proc.stdout.close()
                if proc.stderr is not None:
                    proc.stderr.close()
            # The signing workers notice that their parent is gone and end too.
            deadline = time.monotonic() + 10
            while any(_alive(w) for w in workers) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not any(_alive(w) for w in workers), "orphaned signing workers"

        issued_before = [n for _, n in kills]
        assert issued_before == sorted(issued_before) and issued_before[-1] < valid, kills
        final = subprocess.run(
            _command(batch_file), env=env, cwd=batch_file.parent, capture_output=True, timeout=300
        )
        assert final.returncode == 0, final.stderr.decode()
        assert f"{valid:,} of {valid:,} valid rows issued" in final.stdout.decode()
        # The certificates, as the database now holds them.
        with Session(engine) as s:
            certs = s.execute(
                sa.select(
                    Certificate.id,
                    Certificate.certificate_number,
                    Certificate.year,
                    Certificate.serial,
                    Certificate.status_list_id,
                    Certificate.status_idx,
                    Certificate.qr_token,
                    Certificate.credential_jws,
                )
            ).all()
            items = s.execute(sa.select(BatchItem.row_number, BatchItem.certificate_id)).all()
            audits = s.execute(
                sa.select(AuditRecord.action, AuditRecord.subject, AuditRecord.detail_json).where(
                    AuditRecord.action == "certificate.issued"
                )
            ).all()
            events = s.scalar(sa.select(sa.func.count()).where(Event.type == "issued"))
            batch = s.execute(sa.select(Batch)).scalar_one()
            assert verify_chain(s) is None
        assert len(certs) == valid
        assert len({c.certificate_number for c in certs}) == valid
        # no number reused and none lost: each year's serials are exactly 1..n
        by_year = Counter(c.year for c in certs)
        for year, n in by_year.items():
            assert sorted(c.serial for c in certs if c.year == year) == list(range(1, n + 1))
        assert len({(c.status_list_id, c.status_idx) for c in certs}) == valid
        assert len(items) == valid
        assert sorted(r for r, _ in items) == sorted(r.row_number for r in expected.rows)
        assert {cid for _, cid in items} == {c.id for c in certs}
        assert (batch.state, batch.issued_rows, batch.valid_rows) == ("done", valid, valid)
        assert len(audits) == valid and events == valid
        assert sorted(a.subject for a in audits) == sorted(c.certificate_number for c in certs)
        # every token the database holds is the one its audit record vouches for
        import hashlib
        import json

        qr_hash = {c.certificate_number: c.qr_token for c in certs}
        for a in audits:
            detail = json.loads(a.detail_json)
            digest = hashlib.sha256(qr_hash[a.subject].encode("ascii")).hexdigest()
            assert detail["qr_sha256"] == digest

        # Every QR token verifies against the trust list and the issuer's status list.
        settings = IssuerSettings(
            database_url=database_url,
            office_id=OFFICE,
            public_url="http://testserver",
            id_hmac_key="kill-test-id-hmac-key-0123456789abcdef",
        )
        trust = current_trust_list(home)
        store = KeyStore(home, PASSPHRASE.encode())
        now = dt.datetime.now(dt.UTC)
        signer = store.active_signer(OFFICE, now=int(now.timestamp()))
        status = {}
        with Session(engine) as s:
            for list_id in {c.status_list_id for c in certs}:
                token = issuance.status_list_token(
                    s, list_id=list_id, signer=signer, settings=settings, now=now
                )
                snap = load_status_list(token, trust)
                status[snap.uri] = snap
        bad = [
            c.certificate_number
            for c in certs
            if verify(c.qr_token, trust=trust, status=status, now=now).verdict is not Verdict.VALID
        ]
        assert bad == []
        # and a sample of full credentials (sealed at rest) binds to its QR token
        for c in certs[:: max(1, valid // 25)]:
            credential = open_credential(
                settings, c.credential_jws, certificate_number=c.certificate_number
            )
            result = verify(c.qr_token, credential=credential, trust=trust, status=status, now=now)
            assert result.verdict is Verdict.VALID, result.checks
        print(f"kills at issued_rows={kills}; {time.monotonic() - started:.1f}s")
    finally:
        engine.dispose()
