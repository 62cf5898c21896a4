"""Offices: an admin acts for their own office only, an office certifies only the
qualification types in its scope, and the configured office's row is made once.

Every database test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session

from issuer import accounts
from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from tests.factory import signer
from tests.factory.accounts import (
    OTHER_OFFICE,
    assert_problem,
    bearer,
    create,
    issue_with,
    other_office_admin,
)
from tests.factory.issuer import ADMIN, API_KEY, IssuerHarness, application


def test_an_admin_cannot_see_or_touch_another_offices_officers(
    issuer_env: IssuerHarness,
) -> None:
    clerk = create(issuer_env, "bj.clerk", "clerk")
    other_id, other_key = other_office_admin(issuer_env)
    oh = bearer(other_key)

    listed = issuer_env.client.get("/api/v1/officers", headers=oh)
    assert listed.status_code == 200
    assert [o["username"] for o in listed.json()] == ["sh.admin"]
    ours = issuer_env.client.get("/api/v1/officers", headers=ADMIN).json()
    assert [o["username"] for o in ours] == ["bj.clerk"]

    # Another office's officer is answered exactly like a missing one: 404, not 403.
    missing = issuer_env.client.post("/api/v1/officers/9999/api-keys", headers=oh)
    theirs = issuer_env.client.post(f"/api/v1/officers/{clerk['id']}/api-keys", headers=oh)
    assert_problem(theirs, 404)
    assert theirs.json() == missing.json() | {"detail": theirs.json()["detail"]}
    assert_problem(
        issuer_env.client.post(f"/api/v1/officers/{clerk['id']}/deactivate", headers=oh), 404
    )
    assert_problem(
        issuer_env.client.delete(f"/api/v1/api-keys/{clerk['api_keys'][0]['prefix']}", headers=oh),
        404,
    )
    # The other way round too.
    assert_problem(
        issuer_env.client.post(f"/api/v1/officers/{other_id}/deactivate", headers=ADMIN), 404
    )
    assert_problem(
        issuer_env.client.post(f"/api/v1/officers/{other_id}/api-keys", headers=ADMIN), 404
    )
    # Service clients belong to the office this issuer serves.
    assert_problem(
        issuer_env.client.post(
            "/api/v1/clients", json={"name": "v", "kind": "verifier"}, headers=oh
        ),
        403,
    )
    assert_problem(issuer_env.client.get("/api/v1/clients", headers=oh), 403)

    # The clerk still works and is still active.
    assert issue_with(issuer_env, clerk["api_key"]).status_code == 201
    # What the other admin creates belongs to the other office.
    made = create(issuer_env, "sh.clerk", "clerk", headers=oh)
    assert made["office_id"] == OTHER_OFFICE
    assert "sh.clerk" not in issuer_env.client.get("/api/v1/officers", headers=ADMIN).text


def test_out_of_scope_qualification_type_is_422_naming_it(database_url: str) -> None:
    settings = IssuerSettings(
        database_url=database_url,
        public_url="http://testserver",
        verifier_url="https://verify.example.cn",
        api_key=API_KEY,
        id_hmac_key="test-id-hmac-key-0123456789-abcdef",
        qualification_types="kindergarten,primary",
    )
    with TestClient(create_app(settings, signer=signer(kid="11001-1"))) as client:
        r = client.post(
            "/api/v1/officers",
            json={"username": "clerk", "display_name": "甲", "role": "clerk"},
            headers=ADMIN,
        )
        key = r.json()["api_key"]
        body = application(1)  # senior_middle
        h = bearer(key, **{"Idempotency-Key": "scope-1"})
        out = client.post("/api/v1/certificates", json=body, headers=h)
        problem = assert_problem(out, 422)
        assert [(e["field"], e["code"]) for e in problem["errors"]] == [
            ("qualification_type", "out_of_scope")
        ]
        assert "高级中学" in problem["errors"][0]["message"]
        en = client.post(
            "/api/v1/certificates",
            json=body,
            headers={**h, "Accept-Language": "en", "Idempotency-Key": "scope-2"},
        )
        assert "senior_middle" in assert_problem(en, 422)["errors"][0]["message"]
        with client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
            assert conn.execute(sa.text("SELECT count(*) FROM certificate")).scalar_one() == 0
            assert (
                conn.execute(sa.text("SELECT count(*) FROM idempotency_record")).scalar_one() == 0
            )
        ok = client.post(
            "/api/v1/certificates",
            json={**body, "qualification_type": "primary"},
            headers={**h, "Idempotency-Key": "scope-3"},
        )
        assert ok.status_code == 201, ok.text


def test_ensure_office_creates_the_row_once(issuer_env: IssuerHarness) -> None:
    now = dt.datetime.now(dt.UTC)
    with Session(issuer_env.engine) as s:
        first = accounts.ensure_office(s, settings=issuer_env.settings, now=now)
        again = accounts.ensure_office(s, settings=issuer_env.settings, now=now)
        assert (first.id, first.name, first.province, first.office_code) == (
            again.id,
            again.name,
            "11",
            "001",
        )
    with issuer_env.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM office")).scalar_one() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM audit_record")).scalar_one() == 1


def test_scope_setting_reads_slugs_digits_names_and_json(monkeypatch) -> None:
    assert len(IssuerSettings().qualification_types) == 7
    monkeypatch.setenv("JIAOZI_QUALIFICATION_TYPES", "primary, 4,初级中学")
    assert IssuerSettings().qualification_types == ("primary", "junior_middle", "senior_middle")
    monkeypatch.setenv("JIAOZI_QUALIFICATION_TYPES", '["higher_education"]')
    assert IssuerSettings().qualification_types == ("higher_education",)
    for bad in ("university", "", "[]", "[1"):
        monkeypatch.setenv("JIAOZI_QUALIFICATION_TYPES", bad)
        with pytest.raises(ValidationError, match="qualification_types"):
            IssuerSettings()
