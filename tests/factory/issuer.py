"""Shared test helpers."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import itertools
import os
import random
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from credential import (
    IdType,
    KeySigner,
    Office,
    QualificationType,
    StatusSnapshot,
    TrustList,
    Verdict,
    load_status_list,
    verify,
)
from issuer import issuance
from issuer.accounts import new_api_key
from issuer.db.models import (
    ApiKey,
    Officer,
    Restriction,
    ServiceClient,
)
from issuer.db.models import (
    Office as OfficeRow,
)
from issuer.settings import IssuerSettings
from issuer.web.routes.batches import wait_for_batches
from tests.factory import APPLICANTS_CSV, applicants
from tests.factory.batchfile import EN_HEADER, person
from tests.factory.keys import make_store

API_KEY = "test-api-key-0123456789-abcdefghij"


_APPLICANTS = applicants()


def application(i: int = 1, **over: str) -> dict[str, str]:
    """Return a POST body built from shared applicant ``i`` (modulo 1,000) with ``over``."""
    row = _APPLICANTS[i % len(_APPLICANTS)]
    body = {
        "name": row["name"],
        "sex": row["gender"],
        "birth_date": row["birth_date"],
        "id_type": row["id_type"],
        "id_number": row["id_number"],
        "qualification_type": row["qualification_type"],
        "subject": row["subject"],
        "certified_on": row["issue_date"],
    }
    body.update(over)
    return body


def distinct_application(n: int, **over: str) -> dict[str, str]:
    """Return ``application(n, **over)`` for the first 1,000 and, past them, the same row
    for an invented person of its own (one person is certified once per qualification)."""
    if n < len(_APPLICANTS):
        return application(n, **over)
    row = person(n, f"req-{n}")
    mine = {"sex": row[2], "birth_date": row[3], "id_type": row[4], "id_number": row[5]}
    return application(n, **{**mine, **over})


@dataclass
class IssuerHarness:
    """An issuer app on one database, with a client and the trust world to verify against."""

    settings: IssuerSettings
    signer: KeySigner
    app: object
    client: TestClient
    _keys: itertools.count = field(default_factory=lambda: itertools.count(1))

    def headers(self, key: str | None = None, **extra: str) -> dict[str, str]:
        h = {"Authorization": f"Bearer {API_KEY}"}
        h["Idempotency-Key"] = key or f"test-{uuid.uuid4().hex}"
        h.update(extra)
        return h

    def issue(self, body: dict[str, str], *, key: str | None = None, client=None, **hdr: str):
        return (client or self.client).post(
            "/api/v1/certificates", json=body, headers=self.headers(key, **hdr)
        )

    @property
    def engine(self) -> sa.Engine:
        return self.app.state.engine  # type: ignore[attr-defined]

    @property
    def trust(self) -> TrustList:
        office = Office(
            id=self.settings.office_id,
            name=self.settings.office_name,
            province=self.settings.province,
            office_code=self.settings.office_code,
            qualification_types=frozenset(QualificationType),
            keys=(self.signer.public_key(),),
        )
        return TrustList(
            sequence=1, issued_at=int(dt.datetime.now(dt.UTC).timestamp()) - 60, offices=(office,)
        )

    def status_snapshot(self, uri: str) -> StatusSnapshot:
        path = uri.removeprefix(self.settings.public_url)
        r = self.client.get(path)
        assert r.status_code == 200, r.text
        return load_status_list(r.text, self.trust, expected_uri=uri)


DECISION = {
    "reason_code": "misconduct",
    "decision_date": "2026-11-20",
    "legal_basis": "《教师资格条例》第十九条",
}


def officer(env: IssuerHarness, username: str, role: str) -> dict[str, str]:
    """Create an officer of the harness's office; return its auth header."""
    ensure_office(env)
    key = new_api_key()
    now = dt.datetime.now(dt.UTC)
    with Session(env.engine) as session, session.begin():
        o = Officer(
            office_id=env.settings.office_id,
            username=username,
            display_name=username,
            role=role,
            created_at=now,
        )
        session.add(o)
        session.flush()
        session.add(
            ApiKey(officer_id=o.id, prefix=key.prefix, secret_hash=key.secret_hash, created_at=now)
        )
    return {"Authorization": f"Bearer {key.text}"}


def service_client(env: IssuerHarness, name: str, kind: str) -> dict[str, str]:
    key = new_api_key()
    now = dt.datetime.now(dt.UTC)
    with Session(env.engine) as session, session.begin():
        c = ServiceClient(name=name, kind=kind, created_at=now)
        session.add(c)
        session.flush()
        session.add(
            ApiKey(client_id=c.id, prefix=key.prefix, secret_hash=key.secret_hash, created_at=now)
        )
    return {"Authorization": f"Bearer {key.text}"}


ADMIN = {"Authorization": f"Bearer {API_KEY}"}


def issue(env: IssuerHarness, i: int, **over: str) -> dict[str, Any]:
    r = env.issue(application(i, **over))
    assert r.status_code == 201, r.text
    return r.json()


def verdict(env: IssuerHarness, cert: dict[str, Any]):
    uri = cert["status_list"]["uri"]
    snapshot = env.status_snapshot(uri)
    return verify(
        cert["qr_token"], trust=env.trust, status={uri: snapshot}, now=dt.datetime.now(dt.UTC)
    )


def list_value(env: IssuerHarness, cert: dict[str, Any]) -> int:
    snapshot = env.status_snapshot(cert["status_list"]["uri"])
    return snapshot.status_list.get(cert["status_list"]["idx"])


def post(env: IssuerHarness, path: str, body: Any, headers: dict[str, str]):
    return env.client.post(path, json=body, headers=headers)


def rows(env: IssuerHarness, sql: str) -> list[dict[str, Any]]:
    with env.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]


def full_id_numbers(text: str) -> list[str]:
    """Return the valid GB 11643 identity numbers appearing in ``text``."""
    return [m for m in RESIDENT_ID.findall(text) if gb11643_ok(m)]


def post_batch(env: IssuerHarness, data: bytes, name: str, **headers: str):
    h = {"Authorization": env.headers()["Authorization"], **headers}
    return env.client.post("/api/v1/batches", files={"file": (name, data)}, headers=h)


def poll_batch(env: IssuerHarness, batch_id: int, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = env.client.get(f"/api/v1/batches/{batch_id}", headers=env.headers())
        assert r.status_code == 200, r.text
        got = r.json()
        if got["state"] in ("done", "failed") or time.monotonic() > deadline:
            wait_for_batches(5)
            return got
        time.sleep(0.05)


def bad_rows_file() -> tuple[bytes, dict[int, set[str]], list[int]]:
    """Return a CSV of good and bad rows, the expected {row: {error codes}}, good rows."""
    people = list(csv.reader(io.StringIO(APPLICANTS_CSV.read_text(encoding="utf-8"))))[1:]
    good = people[:3]
    bad_check = list(people[3])
    last = bad_check[5][17]
    bad_check[5] = bad_check[5][:17] + ("0" if last != "0" else "1")
    mismatch = list(people[4])
    born = dt.date.fromisoformat(mismatch[3]) + dt.timedelta(days=1)
    mismatch[3] = born.isoformat()
    unknown_qt = list(people[5])
    unknown_qt[6] = "university"
    empty_name = list(people[6])
    empty_name[1] = ""
    long_name = list(people[7])
    long_name[1] = "名" * 200
    duplicate = ["req-dup", *good[0][1:]]  # row 2 again under another request id
    formula = list(people[8])
    formula[1] = "=1+1"
    rows = [*good, bad_check, mismatch, unknown_qt, empty_name, long_name, duplicate, formula]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EN_HEADER)
    writer.writerows(rows)
    expected = {
        5: {"check_digit"},
        6: {"birth_date_mismatch"},
        7: {"unknown_qualification_type"},
        8: {"required"},
        9: {"too_long"},
        10: {"duplicate_row"},
        11: {"formula_text"},
    }
    return out.getvalue().encode("utf-8"), expected, [2, 3, 4]


def batch_cli_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    home = tmp_path / "home"
    make_store(
        home, now=int(time.time()) - 3600, passphrase=b"cli-test-passphrase", office_id=OFFICE
    )
    # English messages whatever the caller's locale (the command line follows it)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JIAOZI_") and k not in ("LC_ALL", "LC_MESSAGES")
    }
    env.update(
        LANG="C.UTF-8",
        JIAOZI_ENV="development",  # production is the default
        JIAOZI_HOME=str(home),
        JIAOZI_KEY_PASSPHRASE="cli-test-passphrase",
        JIAOZI_DATABASE_URL=database_url,
        JIAOZI_OFFICE_ID=OFFICE,
    )
    return env


def restrict(
    env: IssuerHarness, row: dict[str, str], *, category: str, bar_until: dt.date | None
) -> None:
    ref = issuance.person_ref(env.settings, IdType.parse(row["id_type"]), row["id_number"])
    with Session(env.engine) as s:
        s.add(
            Restriction(
                person_ref=ref,
                id_type=row["id_type"],
                category=category,
                decision_date=dt.date(2025, 1, 1),
                bar_until=bar_until,
                deciding_office=env.settings.office_id,
                legal_basis="《教师资格条例》第十九条",
                affected_json="[]",
                recorded_at=dt.datetime.now(dt.UTC),
            )
        )
        s.commit()


def assert_no_identity_number(engine: sa.Engine, numbers: list[str]) -> int:
    seen = 0
    for table, column, data in database_dump(engine):
        seen += 1
        for number in numbers:
            assert number.encode("ascii") not in data, f"{number} in clear in {table}.{column}"
    return seen


def entry_body(i: int, **over: Any) -> dict[str, Any]:
    person = application(i)
    body = {
        "name": person["name"],
        "id_type": person["id_type"],
        "id_number": person["id_number"],
        "category": "revoked",
        "decision_date": "2026-11-20",
        "legal_basis": "《教师资格条例》第十九条；刑事判决书（2026）京0105刑初123号",
    }
    body.update(over)
    return body


def record(
    env: IssuerHarness, body: dict[str, Any], maker: dict[str, str], checker: dict[str, str]
) -> dict[str, Any]:
    """Request an entry as ``maker`` and approve it as ``checker``; return the entry."""
    r = post(env, "/api/v1/restrictions", body, maker)
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "pending"
    action = r.json()["pending_action"]
    assert action["kind"] == "restrict"
    assert "person_ref" not in action["payload"] and "id_hash" not in action["payload"]
    ok = post(env, f"/api/v1/pending-actions/{action['id']}/approve", None, checker)
    assert ok.status_code == 200, ok.text
    return ok.json()["result"]["restriction"]


def ensure_office(env: IssuerHarness) -> None:
    s = env.settings
    with Session(env.engine) as session, session.begin():
        if session.get(OfficeRow, s.office_id) is None:
            session.add(
                OfficeRow(
                    id=s.office_id,
                    name=s.office_name,
                    province=s.province,
                    office_code=s.office_code,
                    maker_checker=True,
                    created_at=dt.datetime.now(dt.UTC),
                )
            )


def maker_checker_off(env: IssuerHarness) -> None:
    """Switch the harness office's maker-checker off in the database, as a deployment
    would (over the API it takes two admins: tests/issuer/accounts/test_two_person.py)."""
    ensure_office(env)
    with Session(env.engine) as session, session.begin():
        office = session.get(OfficeRow, env.settings.office_id)
        assert office is not None
        office.maker_checker = False


RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")


def gb11643_ok(text: str) -> bool:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c) * w for c, w in zip(text[:17], weights, strict=True))
    return "10X98765432"[total % 11] == text[17].upper()


OFFICE = "urn:jiaozi:office:11001"


def database_dump(engine: sa.Engine) -> Iterator[tuple[str, str, bytes]]:
    """Yield (table, column, bytes) for every non-null value of every table."""
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(sa.select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    for data in decodings(value):
                        yield table.name, column, data


def decodings(value: object) -> Iterator[bytes]:
    """Yield ``value`` as bytes and every base64url run inside it, decoded."""
    if isinstance(value, bytes | bytearray | memoryview):
        yield bytes(value)
        return
    text = str(value)
    yield text.encode("utf-8")
    for run in B64_RUN.findall(text):
        for start in range(4):  # a run may start mid-quantum inside a longer text
            part = run[start:]
            try:
                yield base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
            except ValueError:
                continue


B64_RUN = re.compile(r"[A-Za-z0-9_-]{16,}")


# --- batches: shared by tests/issuer/batches/test_run.py, test_pool.py, test_head_start.py ---


def count_rows(env: IssuerHarness, model: Any) -> int:
    """Return how many rows ``model``'s table holds."""
    with Session(env.engine) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


def xlsx_from_csv(data: bytes) -> bytes:
    """Return the UTF-8 CSV ``data`` as an XLSX workbook (identity numbers as text)."""
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


def verify_sample(env: IssuerHarness, numbers: list[str], k: int = 20) -> None:
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


def replaced_at_once(env: IssuerHarness, i: int = 1) -> tuple[dict[str, Any], dict[str, Any]]:
    """Issue applicant ``i``'s certificate and replace it (maker-checker switched off);
    return (the old version, the new one) as the API showed them."""
    maker_checker_off(env)
    old = issue(env, i)
    sup = officer(env, "sup-replace", "supervisor")
    r = env.client.post(
        f"/api/v1/certificates/{old['certificate_number']}/replacement",
        json={"reason_code": "damaged"},
        headers={**sup, "Idempotency-Key": f"replace-{i}"},
    )
    assert r.status_code == 200, r.text
    return old, r.json()["certificate"]
