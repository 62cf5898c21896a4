"""Signing a batch in a process pool: forked workers inherit the key, spawned ones open
it from a SignerRef and check it is the parent's; what they sign verifies, and a re-run
or a second runner doubles nothing.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from credential import (
    KeySigner,
    Office,
    QualificationType,
    TrustList,
    Verdict,
    load_status_list,
    verify,
)
from issuer import batches, issuance
from issuer.audit.chain import verify_chain
from issuer.db.models import Batch, BatchItem, Certificate
from issuer.web.routes.batches import wait_for_batches
from tests.factory import APPLICANTS_CSV
from tests.factory.issuer import IssuerHarness, count_rows
from tests.factory.keys import make_store


def _pool_signer() -> tuple[KeySigner, batches.SignerRef, TrustList]:
    """A signer, the reference spawned workers open it by, and a trust list naming it."""
    key = Ed25519PrivateKey.generate()
    signer = KeySigner(key, "11001-9")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"worker-pass"),
    )
    office = Office(
        id="urn:jiaozi:office:11001",
        name="北京市教育委员会教师资格认定中心",
        province="11",
        office_code="001",
        qualification_types=frozenset(QualificationType),
        keys=(signer.public_key(),),
    )
    trust = TrustList(sequence=1, issued_at=int(time.time()) - 60, offices=(office,))
    return signer, batches.SignerRef.for_pem(signer, pem=pem, password=b"worker-pass"), trust


@pytest.mark.parametrize(
    ("workers", "start_method"), [(1, None), (2, "fork"), (2, "spawn")], ids=["1", "fork", "spawn"]
)
def test_service_resumes_and_a_second_runner_doubles_nothing(
    issuer_env: IssuerHarness, workers: int, start_method: str | None
) -> None:
    """run_batch directly: a partial run, a rerun and a stale runner; with a process pool
    (spawned workers re-open the key from a SignerRef) or without."""
    engine, settings = issuer_env.engine, issuer_env.settings
    signer, ref, trust = _pool_signer()
    data = APPLICANTS_CSV.read_bytes()
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as s:
        opened = batches.open_batch(
            s, data=data, filename="a.csv", settings=settings, actor="test", now=now
        )
    assert not opened.resumed and len(opened.rows) == 1000
    bid = opened.batch.id
    seen: list[tuple[int, int]] = []
    # the first 300 rows only, as if the run had stopped there
    batches.run_batch(
        engine,
        batch_id=bid,
        rows=opened.rows[:300],
        signer=signer,
        signer_ref=ref,
        start_method=start_method,
        settings=settings,
        actor="test",
        now_fn=lambda: dt.datetime.now(dt.UTC),
        chunk=128,
        workers=workers,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[0] == (0, 1000) and seen[-1] == (300, 1000)
    with Session(engine) as s:
        reopened = batches.open_batch(
            s, data=data, filename="a.csv", settings=settings, actor="test", now=now
        )
    assert reopened.resumed and reopened.batch.id == bid and reopened.batch.issued_rows == 300
    # Rows 2..301 are done; a stale runner offering all rows again issues only the rest.
    done = batches.run_batch(
        engine,
        batch_id=bid,
        rows=reopened.rows,
        signer=signer,
        signer_ref=ref,
        start_method=start_method,
        settings=settings,
        actor="test",
        now_fn=lambda: dt.datetime.now(dt.UTC),
        chunk=256,
        workers=workers,
    )
    assert done.state == "done" and done.issued_rows == 1000
    with Session(engine) as s:
        serials = sorted(s.scalars(sa.select(Certificate.serial)))
        assert serials == list(range(1, 1001))  # no gap, no reuse
        assert s.scalar(sa.select(sa.func.count()).select_from(BatchItem)) == 1000
        assert verify_chain(s) is None
    # A runner that still believes rows are pending finds every chunk already done.
    with Session(engine) as s:
        s.execute(sa.update(Batch).where(Batch.id == bid).values(state="issuing"))
        s.commit()
    batches.run_batch(
        engine,
        batch_id=bid,
        rows=opened.rows,
        signer=signer,
        signer_ref=ref,
        start_method=start_method,
        settings=settings,
        actor="test",
        now_fn=lambda: dt.datetime.now(dt.UTC),
        workers=workers,
    )
    assert count_rows(issuer_env, Certificate) == 1000
    # What the pool signed verifies under the key it was given.
    with Session(engine) as s:
        rows = s.execute(
            sa.select(Certificate.certificate_number, Certificate.qr_token, Certificate.kid)
            .order_by(Certificate.id)
            .limit(20)
        ).all()
    uri = f"{settings.public_url}/statuslists/1"
    token = issuance.status_list_token(
        Session(engine), list_id=1, signer=signer, settings=settings, now=dt.datetime.now(dt.UTC)
    )
    status = {uri: load_status_list(token, trust, expected_uri=uri)}
    for number, qr, kid in rows:
        assert kid == "11001-9"
        result = verify(qr, trust=trust, status=status, now=dt.datetime.now(dt.UTC))
        assert result.verdict is Verdict.VALID, result.checks
        assert result.certificate is not None and result.certificate.certificate_number == number


def test_a_worker_that_opens_another_key_stops_the_batch(issuer_env: IssuerHarness) -> None:
    """Spawned workers check that the key they opened is the parent's: never sign with
    another key (the run fails, nothing is issued, the batch says why)."""
    engine, settings = issuer_env.engine, issuer_env.settings
    signer, _, _ = _pool_signer()
    _, other_ref, _ = _pool_signer()
    with Session(engine) as s:
        opened = batches.open_batch(
            s,
            data=APPLICANTS_CSV.read_bytes(),
            filename="a.csv",
            settings=settings,
            actor="test",
            now=dt.datetime.now(dt.UTC),
        )
    with pytest.raises(RuntimeError, match="not key 11001-9 of this process"):
        batches.run_batch(
            engine,
            batch_id=opened.batch.id,
            rows=opened.rows,
            signer=signer,
            signer_ref=other_ref,
            start_method="spawn",
            settings=settings,
            actor="test",
            now_fn=lambda: dt.datetime.now(dt.UTC),
            workers=2,
        )
    assert count_rows(issuer_env, Certificate) == 0
    with Session(engine) as s:
        batch = batches.get_batch(s, batch_id=opened.batch.id, settings=settings)
    assert batch.state == "failed" and batches.batch_failure(batch) is not None


def test_a_key_store_reference_reopens_the_same_key(tmp_path, monkeypatch) -> None:
    """How a server's spawned workers get the key: the store named by the environment,
    the passphrase from it, and the parent's kid and public key checked."""
    now = int(time.time()) - 60
    store = make_store(tmp_path, now=now, passphrase=b"ref-test-passphrase")
    signer = store.active_signer("urn:jiaozi:office:11001", now=now + 60)
    ref = batches.SignerRef.for_key_store(signer, home=tmp_path, owner="urn:jiaozi:office:11001")
    ref.check_matches(signer)
    monkeypatch.setenv("JIAOZI_KEY_PASSPHRASE", "ref-test-passphrase")
    opened = ref.open(now=now + 60)
    assert opened.kid == signer.kid
    assert opened.public_key().to_jwk() == signer.public_key().to_jwk()
    other, _, _ = _pool_signer()
    with pytest.raises(RuntimeError):
        ref.check_matches(other)


def test_the_server_signs_a_large_batch_in_spawned_workers(database_url: str, tmp_path) -> None:
    """In the server (other threads running) the pool is spawned and its workers open the
    key from a SignerRef; what they sign verifies."""
    import multiprocessing
    import subprocess
    import sys

    from fastapi.testclient import TestClient

    from issuer.settings import IssuerSettings
    from issuer.web.app import create_app
    from tests.factory import SHARED
    from tests.factory.issuer import API_KEY

    signer, ref, trust = _pool_signer()
    settings = IssuerSettings(
        database_url=database_url,
        public_url="http://testserver",
        api_key=API_KEY,
        id_hmac_key="test-id-hmac-key-0123456789-abcdef",
    )
    app = create_app(settings, signer=signer)
    app.state.batch_signer_ref = lambda s: ref if s is signer else None
    data = subprocess.run(
        [sys.executable, str(SHARED / "tools" / "make_applicants.py"), "--count", "2500"],
        check=True,
        capture_output=True,
    ).stdout
    h = {"Authorization": f"Bearer {API_KEY}"}
    with TestClient(app) as client:
        r = client.post("/api/v1/batches", files={"file": ("big.csv", data)}, headers=h)
        assert r.status_code == 202, r.text
        bid = r.json()["id"]
        deadline = time.monotonic() + 180
        workers: set[str] = set()
        while True:
            workers.update(p.name for p in multiprocessing.active_children())
            got = client.get(f"/api/v1/batches/{bid}", headers=h).json()
            if got["state"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        wait_for_batches(10)
        assert got["state"] == "done" and got["issued_rows"] == got["valid_rows"], got
        assert workers, "no signing worker was started"
        engine = app.state.engine
        with Session(engine) as s:
            rows = s.execute(
                sa.select(Certificate.certificate_number, Certificate.qr_token).limit(25)
            ).all()
            uri = f"{settings.public_url}/statuslists/1"
            token = issuance.status_list_token(
                s, list_id=1, signer=signer, settings=settings, now=dt.datetime.now(dt.UTC)
            )
    status = {uri: load_status_list(token, trust, expected_uri=uri)}
    for number, qr in rows:
        result = verify(qr, trust=trust, status=status, now=dt.datetime.now(dt.UTC))
        assert result.verdict is Verdict.VALID, result.checks
        assert result.certificate is not None and result.certificate.certificate_number == number
