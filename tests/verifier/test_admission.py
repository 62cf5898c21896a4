"""Public verifiers hold no person-level data (issue 12 point 4): no person reference and no
person key in a synced verifier's database or an exported bundle; a version 1 database
loses what it held about persons at start; admission checks answer 410, pointing to the
registry; the restriction line says it checked the certificate number. Every test runs
on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factory import applicants
from tests.factory.verifier import PERSON_KEY, Harness, ask, make_harness, person_ref
from verifier import db
from verifier.bundle import export_bundle

REGISTRY = "https://registry.example.cn"


@pytest.fixture
def synced(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    gen = make_harness(database_url, tmp_path, registry_url=REGISTRY)
    h = next(gen)
    rows = applicants()
    h.issuer.restrict("r1", rows[5], category="lost", affected=("11000120260000051",))
    h.issuer.restrict("r2", rows[6], category="revoked")
    h.verifier.syncer.run_once(extra_status=[h.world.status_uri])
    yield h
    gen.close()


def _unfold(text: str) -> str:
    """Return ``text`` with the payload of every compact JWS in it decoded beside it (a
    person_ref inside a kept signed document is base64url, not plain text)."""
    out = [text]
    for word in text.replace('"', " ").split():
        parts = word.split(".")
        if len(parts) == 3 and len(parts[1]) > 8:
            try:
                raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
                out.append(raw.decode("utf-8"))
            except ValueError:
                continue
    return "\n".join(out)


def _forbidden() -> list[str]:
    refs = [person_ref(row) for row in applicants()[:12]]
    key = PERSON_KEY
    return [*refs, key, base64.b64encode(key.encode()).decode(), key.encode().hex()]


def _database_text(engine: sa.Engine) -> str:
    """Every value of every column of every table of the verifier's database."""
    found: list[str] = []
    with engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        for name in names:
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            for row in conn.execute(sa.select(table)):
                found.extend(str(v) for v in row)
            found.extend(c.name for c in table.columns)
    return _unfold("\n".join(found))


def test_a_synced_verifier_and_its_bundle_hold_no_person_reference_or_key(
    synced: Harness,
) -> None:
    engine = synced.verifier.engine
    text = _database_text(engine)
    assert "11000120260000051" in text and "restrictions" in text  # the scan saw the list
    for secret in _forbidden():
        assert secret not in text
    assert "person_ref" not in text
    bundle = json.dumps(export_bundle(engine, synced.clock()), ensure_ascii=False)
    unfolded = _unfold(bundle)
    assert "11000120260000051" in unfolded
    for secret in _forbidden():
        assert secret not in unfolded
    assert "person_ref" not in unfolded


def test_admission_checks_answer_410_naming_the_registry(synced: Harness) -> None:
    answer = ask(synced, "jzv_000000000000_" + "A" * 43, applicants()[5])
    assert answer.status_code == 410
    body = answer.json()
    assert body["type"].endswith("/admission_checks_moved")
    assert f"{REGISTRY}/api/v1/admission-checks" in body["detail"]
    assert REGISTRY in answer.headers["link"]
    with synced.verifier.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert not {"vf_admission_audit", "vf_employer"} & tables


def test_the_restriction_line_says_what_was_checked(synced: Harness) -> None:
    item = synced.world.issue(synced.world.certificate(applicants()[9]), idx=901)
    answer = synced.client.post(
        "/api/v1/verify", json={"credential": item.credential}, headers={"Accept-Language": "en"}
    )
    checks: dict[str, Any] = {c["name"]: c for c in answer.json()["checks"]}
    line = checks["restriction"]
    assert line["ok"] is True
    assert "certificate number" in line["detail"] and "registry" in line["detail"]
    zh = synced.client.post("/api/v1/verify", json={"credential": item.credential}).json()
    zh_line = {c["name"]: c for c in zh["checks"]}["restriction"]
    assert "证书编号" in zh_line["detail"] and "全国登记中心" in zh_line["detail"]


def test_a_version_1_database_loses_its_person_data_at_start(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    ref = person_ref(applicants()[5])
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE vf_restriction (source VARCHAR(600), entry_id VARCHAR(100), "
            "person_ref VARCHAR(64) NOT NULL, category VARCHAR(16), decision_date DATE, "
            "bar_until DATE, PRIMARY KEY (source, entry_id))"
        )
        conn.exec_driver_sql(
            "CREATE TABLE vf_admission_audit (query_id VARCHAR(32) PRIMARY KEY, "
            "person_ref VARCHAR(64), id_masked VARCHAR(40))"
        )
        conn.exec_driver_sql("CREATE TABLE vf_employer (id INTEGER PRIMARY KEY, name VARCHAR(200))")
        conn.execute(
            sa.text("INSERT INTO vf_restriction VALUES ('https://i', '1', :r, 'lost', NULL, NULL)"),
            {"r": ref},
        )
        conn.execute(
            sa.text("INSERT INTO vf_admission_audit VALUES ('q', :r, '110***********1234')"),
            {"r": ref},
        )
    engine.dispose()
    migrated = db.make_engine(database_url)
    text = _database_text(migrated)
    assert ref not in text and "person_ref" not in text
    with migrated.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        version = conn.execute(
            sa.select(db.meta.c.value).where(db.meta.c.name == "schema_version")
        ).scalar_one()
    assert "vf_restriction" in tables and not {"vf_admission_audit", "vf_employer"} & tables
    assert version == db.SCHEMA_VERSION == 2
    migrated.dispose()


def test_the_page_points_schools_to_the_registry(synced: Harness) -> None:
    zh = synced.client.get("/").text
    assert "学校和用人单位的准入查询请至全国登记中心办理" in zh
    assert "按证书编号核查" in zh
    en = synced.client.get("/?lang=en").text
    assert "admission checks at the national registry" in en
