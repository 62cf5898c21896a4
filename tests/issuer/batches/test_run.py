"""Batch issuance (issue 3 item 4): files in every accepted form issue every valid row once,
bad rows come back in the error report, and the HTTP flow works end to end.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
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
from issuer import issuance as services
from issuer.audit.chain import verify_chain
from issuer.batches import run as batches
from issuer.batches.reading import read_batch
from issuer.db.models import AuditRecord, Batch, BatchItem, Certificate, Event
from issuer.web.routes.batches import wait_for_batches
from tests.factory import APPLICANTS_CSV
from tests.factory.issuer import EN_HEADER, IssuerHarness, bad_rows_file, poll_batch, post_batch


def _count(env: IssuerHarness, model) -> int:
    with Session(env.engine) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


def _xlsx(data: bytes) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for record in csv.reader(io.StringIO(data.decode("utf-8"))):
        ws.append(record)
    for cell in ws["F"]:  # identity numbers as text, as a careful clerk formats them
        cell.number_format = "@"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _verify_sample(env: IssuerHarness, numbers: list[str], k: int = 20) -> None:
    """Fetch ``k`` random certificates over the API: both tokens verify VALID."""
    snapshots: dict[str, object] = {}
    now = dt.datetime.now(dt.UTC)
    for number in random.Random(7).sample(numbers, k):
        r = env.client.get(f"/api/v1/certificates/{number}", headers=env.headers())
        assert r.status_code == 200, r.text
        got = r.json()
        uri = got["status_list"]["uri"]
        if uri not in snapshots:
            snapshots[uri] = env.status_snapshot(uri)
        result = verify(
            got["qr_token"],
            credential=got["credential"],
            trust=env.trust,
            status=snapshots,  # type: ignore[arg-type]
            now=now,
        )
        assert result.verdict is Verdict.VALID, result.checks
        assert result.certificate is not None
        assert result.certificate.certificate_number == number


FORMS = {
    "utf8": lambda raw: raw,
    "gb18030": lambda raw: raw.decode("utf-8").encode("gb18030"),
    "xlsx": _xlsx,
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_shared_1000_applicants_issue_in_every_file_form(
    issuer_env: IssuerHarness, form: str
) -> None:
    raw = APPLICANTS_CSV.read_bytes()
    data = FORMS[form](raw)
    r = post_batch(issuer_env, data, f"applicants.{'xlsx' if form == 'xlsx' else 'csv'}")
    assert r.status_code == 202, r.text
    first = r.json()
    assert first["total_rows"] == 1000 and first["valid_rows"] == 1000
    assert first["error_rows"] == 0
    assert r.headers["Location"] == first["links"]["self"]
    got = poll_batch(issuer_env, first["id"])
    assert got["state"] == "done", got
    assert got["issued_rows"] == 1000 and got["finished_at"] is not None

    with Session(issuer_env.engine) as s:
        numbers = list(s.scalars(sa.select(Certificate.certificate_number)))
        assert len(numbers) == len(set(numbers)) == 1000
        rows = list(s.scalars(sa.select(BatchItem.row_number)))
        assert sorted(rows) == list(range(2, 1002))
        issued = sa.select(sa.func.count()).where(AuditRecord.action == "certificate.issued")
        assert s.scalar(issued) == 1000  # one per certificate (the app may add its own)
        assert s.scalar(sa.select(sa.func.count()).where(Event.type == "issued")) == 1000
        assert verify_chain(s) is None
    _verify_sample(issuer_env, numbers)

    # The same file again is the same batch, already done: nothing more is issued.
    again = post_batch(issuer_env, data, "again.csv")
    assert again.status_code == 202 and again.json()["id"] == first["id"]
    assert again.json()["state"] == "done"
    assert _count(issuer_env, Certificate) == 1000




def test_bad_rows_are_reported_and_good_rows_issued_over_http(issuer_env: IssuerHarness) -> None:
    data, expected, good_rows = bad_rows_file()
    r = post_batch(issuer_env, data, "bad-rows.csv")
    assert r.status_code == 202, r.text
    first = r.json()
    assert (first["total_rows"], first["valid_rows"], first["error_rows"]) == (10, 3, 7)
    got = poll_batch(issuer_env, first["id"])
    assert got["state"] == "done" and got["issued_rows"] == 3

    with Session(issuer_env.engine) as s:
        batch = s.get(Batch, first["id"])
        assert batch is not None
        stored = batches.batch_errors(batch)
        issued_rows = sorted(s.scalars(sa.select(BatchItem.row_number)))
    assert issued_rows == good_rows
    by_row: dict[int, set[str]] = {}
    for e in stored:
        by_row.setdefault(e.row_number, set()).add(e.code)
    assert by_row == expected
    # masked values only: no whole identity number anywhere in what is stored
    ids = {row[5] for row in csv.reader(io.StringIO(data.decode("utf-8")))}
    assert not any(i in batch.errors_json for i in ids if len(i) == 18)

    # The downloadable report, in Chinese by default, formula text guarded.
    rep = issuer_env.client.get(first["links"]["errors_csv"], headers=issuer_env.headers())
    assert rep.status_code == 200
    assert rep.headers["content-type"].startswith("text/csv")
    assert rep.headers["content-disposition"].startswith("attachment;")
    assert rep.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(rep.content.decode("utf-8-sig"))))
    assert table[0] == ["行号", "列", "原因", "值"]
    reported = {int(row[0]): row for row in table[1:]}
    assert set(reported) == set(expected)
    zh = {e.row_number: e.message_zh for e in stored}
    for row_number, row in reported.items():
        assert row[2] == zh[row_number]
    assert reported[5][1] == "id_number" and "校验码" in reported[5][2]
    assert reported[5][3].count("*") == 11  # the bad number, masked
    assert reported[11][3] == "'=1+1"  # never a live formula in the report
    assert reported[7][1] == "qualification_type"

    en = issuer_env.client.get(
        f"/api/v1/batches/{first['id']}/errors.csv?lang=en", headers=issuer_env.headers()
    )
    assert en.status_code == 200
    assert en.content.decode("utf-8-sig").splitlines()[0] == "Row,Column,Reason,Value"

    xl = issuer_env.client.get(first["links"]["errors_xlsx"], headers=issuer_env.headers())
    assert xl.status_code == 200 and xl.content.startswith(b"PK")
    assert "spreadsheetml" in xl.headers["content-type"]
    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(xl.content), read_only=True).worksheets[0]
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    assert cells[0] == ["行号", "列", "原因", "值"] and len(cells) == 1 + len(stored)


def test_batch_api_refuses_what_it_must(issuer_env: IssuerHarness) -> None:
    h = issuer_env.headers()
    # not a table at all: 422 problem, nothing stored
    r = post_batch(issuer_env, b"\x00\x01\x02 binary", "x.csv")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/batch_file")
    # over the upload limit: 413 problem
    r = post_batch(issuer_env, b"x" * (10 * 1024 * 1024 + 1), "huge.csv")
    assert r.status_code == 413, r.text
    assert r.json()["status"] == 413
    # no file field
    r = issuer_env.client.post(
        "/api/v1/batches", data={"other": "1"}, headers={"Authorization": h["Authorization"]}
    )
    assert r.status_code == 422, r.text
    # unknown batch, bad id, bad language
    assert issuer_env.client.get("/api/v1/batches/999", headers=h).status_code == 404
    assert issuer_env.client.get("/api/v1/batches/0", headers=h).status_code == 422
    r = issuer_env.client.get("/api/v1/batches/1/errors.csv?lang=fr", headers=h)
    assert r.status_code == 422
    # no key
    assert issuer_env.client.get("/api/v1/batches/1").status_code == 401
    with Session(issuer_env.engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Batch)) == 0


def test_too_many_rows_is_a_422_problem(issuer_env: IssuerHarness) -> None:
    header = ",".join(EN_HEADER).encode() + b"\r\n"
    line = b"r,a,1,2000-01-01,passport,E1,1,s,2026-01-01\r\n"
    data = header + line * 200_001
    assert len(data) < 10 * 1024 * 1024
    r = post_batch(issuer_env, data, "many.csv", **{"Accept-Language": "en"})
    assert r.status_code == 422, r.text
    assert "200,000" in r.json()["detail"]


def test_openapi_declares_the_batch_problems(issuer_env: IssuerHarness) -> None:
    spec = issuer_env.client.get("/openapi.json").json()
    post = spec["paths"]["/api/v1/batches"]["post"]
    assert {"401", "403", "413", "422"} <= set(post["responses"])
    assert "multipart/form-data" in post["requestBody"]["content"]
    for path in ("", "/errors.csv", "/errors.xlsx"):
        op = spec["paths"][f"/api/v1/batches/{{batch_id}}{path}"]["get"]
        assert {"401", "403", "404", "422"} <= set(op["responses"])


def _engine_and_settings(issuer_env: IssuerHarness):
    return issuer_env.engine, issuer_env.settings


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
    engine, settings = _engine_and_settings(issuer_env)
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
    assert _count(issuer_env, Certificate) == 1000
    # What the pool signed verifies under the key it was given.
    with Session(engine) as s:
        rows = s.execute(
            sa.select(Certificate.certificate_number, Certificate.qr_token, Certificate.kid)
            .order_by(Certificate.id)
            .limit(20)
        ).all()
    uri = f"{settings.public_url}/statuslists/1"
    token = services.status_list_token(
        Session(engine), list_id=1, signer=signer, settings=settings, now=dt.datetime.now(dt.UTC)
    )
    status = {uri: load_status_list(token, trust, expected_uri=uri)}
    for number, qr, kid in rows:
        assert kid == "11001-9"
        result = verify(qr, trust=trust, status=status, now=dt.datetime.now(dt.UTC))
        assert result.verdict is Verdict.VALID, result.checks
        assert result.certificate is not None and result.certificate.certificate_number == number


def test_a_failed_run_is_marked_with_its_reason_and_resumes(issuer_env: IssuerHarness) -> None:
    engine, settings = _engine_and_settings(issuer_env)
    data = APPLICANTS_CSV.read_bytes()
    with Session(engine) as s:
        opened = batches.open_batch(
            s,
            data=data,
            filename="a.csv",
            settings=settings,
            actor="test",
            now=dt.datetime.now(dt.UTC),
        )
    calls = 0

    def flaky_clock() -> dt.datetime:
        nonlocal calls
        calls += 1
        if calls == 4:  # once, in the middle of the run
            raise RuntimeError("clock broke")
        return dt.datetime.now(dt.UTC)

    with pytest.raises(RuntimeError, match="clock broke"):
        batches.run_batch(
            engine,
            batch_id=opened.batch.id,
            rows=opened.rows,
            signer=issuer_env.signer,
            settings=settings,
            actor="test",
            now_fn=flaky_clock,
            chunk=200,
            workers=1,
        )
    r = issuer_env.client.get(f"/api/v1/batches/{opened.batch.id}", headers=issuer_env.headers())
    got = r.json()
    assert got["state"] == "failed" and "clock broke" in got["failure"]
    assert 0 < got["issued_rows"] < 1000 and got["issued_rows"] % 200 == 0
    assert _count(issuer_env, Certificate) == got["issued_rows"]
    # The same file over HTTP resumes it.
    r = post_batch(issuer_env, data, "a.csv")
    assert r.status_code == 202 and r.json()["id"] == opened.batch.id
    final = poll_batch(issuer_env, opened.batch.id)
    assert final["state"] == "done", final
    assert final["issued_rows"] == 1000 and final["failure"] is None
    assert _count(issuer_env, Certificate) == 1000


def test_rows_outside_the_office_scope_are_row_errors(database_url: str, tmp_path) -> None:
    from issuer.db.engine import make_engine, upgrade
    from issuer.settings import IssuerSettings

    settings = IssuerSettings(
        database_url=database_url, qualification_types="primary,junior_middle"
    )
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        parsed = read_batch(APPLICANTS_CSV.read_bytes())
        inside = sum(1 for r in parsed.rows if r.qualification_type in settings.qualification_scope)
        with Session(engine) as s:
            opened = batches.open_batch(
                s,
                data=APPLICANTS_CSV.read_bytes(),
                filename="a.csv",
                settings=settings,
                actor="test",
                now=dt.datetime.now(dt.UTC),
            )
        assert len(opened.rows) == inside == opened.batch.valid_rows
        assert opened.batch.error_rows == 1000 - inside
        codes = {e.code for e in batches.batch_errors(opened.batch)}
        assert codes == {"out_of_scope"}
    finally:
        engine.dispose()


def test_a_worker_that_opens_another_key_stops_the_batch(issuer_env: IssuerHarness) -> None:
    """Spawned workers check that the key they opened is the parent's: never sign with
    another key (the run fails, nothing is issued, the batch says why)."""
    engine, settings = _engine_and_settings(issuer_env)
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
    assert _count(issuer_env, Certificate) == 0
    with Session(engine) as s:
        batch = batches.get_batch(s, batch_id=opened.batch.id, settings=settings)
    assert batch.state == "failed" and batches.batch_failure(batch) is not None


def test_a_key_store_reference_reopens_the_same_key(tmp_path, monkeypatch) -> None:
    """How a server's spawned workers get the key: the store named by the environment,
    the passphrase from it, and the parent's kid and public key checked."""
    from keys import KeyStore, add_office, init_trust

    now = int(time.time()) - 60
    store = KeyStore(tmp_path, b"ref-test-passphrase")
    init_trust(store, now=now)
    add_office(
        store,
        office_id="urn:jiaozi:office:11001",
        name="北京市教育委员会教师资格认定中心",
        province="11",
        office_code="001",
        qualification_types=range(1, 8),
        now=now,
    )
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


def test_the_same_file_posted_concurrently_is_one_batch_issued_once(
    issuer_env: IssuerHarness,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = APPLICANTS_CSV.read_bytes()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda i: post_batch(issuer_env, data, f"copy-{i}.csv"), range(4)))
    assert [a.status_code for a in answers] == [202] * 4, [a.text for a in answers]
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == 1
    got = poll_batch(issuer_env, ids.pop())
    assert got["state"] == "done" and got["issued_rows"] == 1000
    assert _count(issuer_env, Certificate) == 1000
    assert _count(issuer_env, Batch) == 1


def _issue_by_hand(issuer_env: IssuerHarness, k: int) -> str:
    """Issue applicant ``k`` as a clerk would, one at a time; return its number."""
    from issuer.issuance import CertificateCreate
    from tests.factory.issuer import application

    body = application(k, certified_on="2026-06-30")
    with Session(issuer_env.engine) as s:
        got = services.issue_certificate(
            s,
            request=CertificateCreate(**body),
            signer=issuer_env.signer,
            settings=issuer_env.settings,
            actor="clerk",
            now=dt.datetime.now(dt.UTC),
        )
    return got.certificate_number


def test_the_look_ahead_is_used_and_discarded_when_another_writer_moves_first(
    issuer_env: IssuerHarness,
) -> None:
    """The pool signs chunk N+1 while chunk N is written, numbered as if nobody else
    issued. A certificate issued between two chunks makes that guess wrong: the guess is
    thrown away and the chunk re-signed, and every number stays distinct and gapless."""

    engine, settings = _engine_and_settings(issuer_env)
    with Session(engine) as s:
        opened = batches.open_batch(
            s,
            data=APPLICANTS_CSV.read_bytes(),
            filename="a.csv",
            settings=settings,
            actor="test",
            now=dt.datetime.now(dt.UTC),
        )
    singles: list[str] = []

    def meanwhile(done: int, total: int) -> None:
        if done in (200, 600):  # between chunks: a clerk issues one certificate by hand
            singles.append(_issue_by_hand(issuer_env, 900 + len(singles)))

    timing = batches._Timing()
    batches.run_batch(
        engine,
        batch_id=opened.batch.id,
        rows=opened.rows,
        signer=issuer_env.signer,
        settings=settings,
        actor="test",
        now_fn=lambda: dt.datetime.now(dt.UTC),
        chunk=200,
        workers=2,
        start_method="fork",
        progress=meanwhile,
        timing=timing,
    )
    assert len(singles) == 2
    # 200 x 4, then the last 200 tapered (100, 50, 25, 25): every chunk but the first is
    # signed ahead, and the two after a hand-issued certificate are re-signed
    assert timing.chunks == 8, timing
    assert timing.ahead_missed == 2 and timing.ahead_used == 5, timing
    with Session(engine) as s:
        rows = s.execute(sa.select(Certificate.certificate_number, Certificate.serial)).all()
        assert verify_chain(s) is None
    assert len(rows) == 1002 and len({n for n, _ in rows}) == 1002
    assert sorted(serial for _, serial in rows) == list(range(1, 1003))
    numbers = [n for n, _ in rows if n not in singles]
    _verify_sample(issuer_env, numbers, k=30)


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
            token = services.status_list_token(
                s, list_id=1, signer=signer, settings=settings, now=dt.datetime.now(dt.UTC)
            )
    status = {uri: load_status_list(token, trust, expected_uri=uri)}
    for number, qr in rows:
        result = verify(qr, trust=trust, status=status, now=dt.datetime.now(dt.UTC))
        assert result.verdict is Verdict.VALID, result.checks
        assert result.certificate is not None and result.certificate.certificate_number == number


def test_still_free_sees_a_taken_status_index(issuer_env: IssuerHarness) -> None:
    """The look-ahead's check of its status indices (a plain SELECT) answers False when
    any of them is held by a certificate, True when none is."""
    from issuer.issuance import CertificateCreate
    from tests.factory.issuer import application

    engine, settings = _engine_and_settings(issuer_env)
    with Session(engine) as s:
        services.issue_certificate(
            s,
            request=CertificateCreate(**application(1, certified_on="2026-06-30")),
            signer=issuer_env.signer,
            settings=settings,
            actor="clerk",
            now=dt.datetime.now(dt.UTC),
        )
    with Session(engine) as s:
        list_id, taken = s.execute(
            sa.select(Certificate.status_list_id, Certificate.status_idx)
        ).one()
        row = read_batch(APPLICANTS_CSV.read_bytes(), filename="a.csv").rows[0]
        free = [batches._Job(row, 1, list_id, "u", i) for i in range(taken + 1, taken + 40)]
        indices = batches._Indices(settings)
        assert indices.still_free(s, free)
        assert not indices.still_free(s, [*free, batches._Job(row, 1, list_id, "u", taken)])
        assert indices.still_free(s, [batches._Job(row, 1, list_id + 1, "u", taken)])


# --- issue_file: the first chunk signed while the file is validated ----------------------


def _issue_file(issuer_env: IssuerHarness, data: bytes, **kw):
    engine, settings = _engine_and_settings(issuer_env)
    timing = batches._Timing()
    batch = batches.issue_file(
        engine,
        data=data,
        filename=kw.pop("filename", "round.csv"),
        signer=issuer_env.signer,
        settings=settings,
        actor="test",
        now_fn=kw.pop("now_fn", lambda: dt.datetime.now(dt.UTC)),
        workers=2,
        start_method="fork",
        timing=timing,
        **kw,
    )
    return batch, timing


def test_issue_file_signs_the_first_chunk_before_the_file_is_validated(
    issuer_env: IssuerHarness,
) -> None:
    """The pool's workers are running and the first chunk signed ahead before issuing
    starts; that chunk's signatures are the ones stored, and they verify."""
    import multiprocessing

    seen: list[tuple[int, int]] = []

    def opened(ob: batches.OpenedBatch) -> None:  # validated; nothing issued yet
        seen.append((len(multiprocessing.active_children()), _count(issuer_env, Certificate)))

    batch, timing = _issue_file(issuer_env, APPLICANTS_CSV.read_bytes(), chunk=200, opened=opened)
    assert seen and seen[0][0] >= 2 and seen[0][1] == 0, seen
    assert batch.state == "done" and batch.issued_rows == 1000
    # 200 x 4 and the last 200 tapered: every chunk, the first included, signed ahead
    assert timing.chunks == 8 and timing.ahead_used == 8 and timing.ahead_missed == 0, timing
    with Session(issuer_env.engine) as s:
        rows = s.execute(sa.select(Certificate.certificate_number, Certificate.serial)).all()
        assert verify_chain(s) is None
        assert _count(issuer_env, AuditRecord) == 1000
    assert sorted(serial for _, serial in rows) == list(range(1, 1001))
    _verify_sample(issuer_env, [n for n, _ in rows], k=30)


def test_a_head_start_voided_by_a_certificate_issued_meanwhile_is_signed_again(
    issuer_env: IssuerHarness,
) -> None:
    """A clerk issues one certificate between validation and issuing: the first chunk's
    guessed serials are taken, so it is signed again; numbers stay distinct and gapless."""
    singles: list[str] = []

    def opened(ob: batches.OpenedBatch) -> None:
        singles.append(_issue_by_hand(issuer_env, 901))

    batch, timing = _issue_file(issuer_env, APPLICANTS_CSV.read_bytes(), chunk=200, opened=opened)
    assert batch.issued_rows == 1000 and len(singles) == 1
    assert timing.ahead_missed == 1 and timing.ahead_used == 7, timing
    with Session(issuer_env.engine) as s:
        rows = s.execute(sa.select(Certificate.certificate_number, Certificate.serial)).all()
        assert verify_chain(s) is None
    assert len({n for n, _ in rows}) == 1001
    assert sorted(serial for _, serial in rows) == list(range(1, 1002))
    _verify_sample(issuer_env, [n for n, _ in rows if n not in singles], k=30)


def test_a_head_start_voided_by_a_restricted_person_issues_every_other_row(
    issuer_env: IssuerHarness,
) -> None:
    """A person in the first chunk is on the restricted list: that is found only after the
    whole file is read, so the chunk signed ahead (with that row) is thrown away; the
    row is reported and every other row issued, none of them twice."""
    from tests.factory.issuer import restrict

    with APPLICANTS_CSV.open(encoding="utf-8") as f:
        barred = list(csv.DictReader(f))[3]  # row 5 of the file
    restrict(issuer_env, barred, category="lost", bar_until=None)
    batch, timing = _issue_file(issuer_env, APPLICANTS_CSV.read_bytes(), chunk=200)
    assert batch.valid_rows == 999 and batch.issued_rows == 999
    assert [(e.row_number, e.code) for e in batches.batch_errors(batch)] == [(5, "restricted")]
    assert timing.ahead_missed == 1, timing
    with Session(issuer_env.engine) as s:
        items = s.execute(sa.select(BatchItem.row_number)).scalars().all()
        assert verify_chain(s) is None
    assert len(items) == 999 and 5 not in items and len(set(items)) == 999
    assert _count(issuer_env, Certificate) == 999


def test_a_file_refused_after_the_head_start_leaves_no_batch_and_no_worker(
    issuer_env: IssuerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An XLSX is counted while it is validated: one over the row limit is refused after
    the first chunk was already being signed. Nothing is issued, the batch row is gone and
    the pool is shut."""
    import multiprocessing

    from issuer.batches.reading import BatchFileError

    started: list[object] = []
    real = batches._head_start

    def head_start(*args, **kw):
        started.append(got := real(*args, **kw))
        return got

    monkeypatch.setattr(batches, "_head_start", head_start)
    with APPLICANTS_CSV.open(encoding="utf-8") as f:
        head = "".join(f.readline() for _ in range(31))
    with pytest.raises(BatchFileError) as caught:
        _issue_file(
            issuer_env,
            _xlsx(head.encode("utf-8")),
            filename="round.xlsx",
            chunk=10,
            max_rows=25,
        )
    assert caught.value.code == "too_many_rows"
    assert len(started) == 1 and isinstance(started[0], batches._Head), started
    assert _count(issuer_env, Certificate) == 0 and _count(issuer_env, Batch) == 0
    assert multiprocessing.active_children() == []


def test_a_head_start_signed_long_before_issuing_is_signed_again(
    issuer_env: IssuerHarness,
) -> None:
    """A first chunk signed while a long file validated would carry a signing time long
    before its issuance: past _HEAD_MAX_AGE it is signed again at issuing time."""
    clock = [dt.datetime.now(dt.UTC)]

    def opened(ob: batches.OpenedBatch) -> None:  # a long file took this long to read
        clock[0] += batches._HEAD_MAX_AGE + dt.timedelta(seconds=2)

    after = clock[0] + batches._HEAD_MAX_AGE
    batch, timing = _issue_file(
        issuer_env,
        APPLICANTS_CSV.read_bytes(),
        chunk=200,
        opened=opened,
        now_fn=lambda: clock[0],
    )
    assert batch.issued_rows == 1000
    assert timing.ahead_missed == 1 and timing.ahead_used == 7, timing
    with Session(issuer_env.engine) as s:
        created = s.execute(sa.select(Certificate.created_at)).scalars().all()
    assert len(created) == 1000
    assert min(c.replace(tzinfo=dt.UTC) if c.tzinfo is None else c for c in created) > after
