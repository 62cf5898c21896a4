"""Accounts and roles (issue 3 item 2): officers, service clients and their API keys.

Every database test runs on SQLite and on PostgreSQL (see conftest.py). The static key of
the harness acts as the configured office's admin, which is how a fresh install starts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy.orm import Session

from issuer.accounts import service as accounts
from issuer.accounts.apikeys import new_api_key
from issuer.audit.chain import verify_chain
from issuer.db.models import ApiKey, Office, Officer
from issuer.settings import IssuerSettings
from issuer.web import deps
from issuer.web.app import create_app
from tests.factory import signer
from tests.factory.issuer import API_KEY, IssuerHarness, application

ADMIN = {"Authorization": f"Bearer {API_KEY}"}
OTHER_OFFICE = "urn:jiaozi:office:31001"


def bearer(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def create(env: IssuerHarness, username: str, role: str, headers=None) -> dict:
    r = env.client.post(
        "/api/v1/officers",
        json={"username": username, "display_name": f"{username} 同志", "role": role},
        headers=headers or ADMIN,
    )
    assert r.status_code == 201, r.text
    return r.json()


def issue_with(env: IssuerHarness, key: str, i: int = 1, **over: str):
    return env.client.post(
        "/api/v1/certificates",
        json=application(i, **over),
        headers=bearer(key, **{"Idempotency-Key": f"k-{i}-{key[:15]}-{sorted(over.items())}"}),
    )


def assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    return body


def text_values(engine: sa.Engine) -> Iterator[tuple[str, str, str]]:
    """Yield (table, column, text) for every text or binary value in every table."""
    inspector = sa.inspect(engine)
    meta = sa.MetaData()
    with engine.connect() as conn:
        for name in inspector.get_table_names():
            table = sa.Table(name, meta, autoload_with=conn)
            for row in conn.execute(sa.select(table)).mappings():
                for col, value in row.items():
                    if isinstance(value, bytes):
                        value = value.decode("latin-1")
                    if isinstance(value, str):
                        yield name, col, value


def other_office_admin(env: IssuerHarness) -> tuple[int, str]:
    """Insert a second office with an admin (directly); return (its officer id, key)."""
    now = dt.datetime.now(dt.UTC)
    new = new_api_key()
    with Session(env.engine) as s:
        s.add(
            Office(
                id=OTHER_OFFICE,
                name="上海市教师资格认定中心",
                province="31",
                office_code="001",
                created_at=now,
            )
        )
        s.flush()
        officer = Officer(
            office_id=OTHER_OFFICE,
            username="sh.admin",
            display_name="沪管理员",
            role="admin",
            created_at=now,
        )
        s.add(officer)
        s.flush()
        s.add(
            ApiKey(
                officer_id=officer.id,
                prefix=new.prefix,
                secret_hash=new.secret_hash,
                created_at=now,
            )
        )
        s.commit()
        assert officer.id is not None
        return officer.id, new.text


# --- roles ----------------------------------------------------------------------------------


def test_admin_creates_a_clerk_and_a_supervisor_whose_keys_issue(
    issuer_env: IssuerHarness,
) -> None:
    clerk = create(issuer_env, "wang.clerk", "clerk")
    supervisor = create(issuer_env, "li.supervisor", "supervisor")
    assert clerk["role"] == "clerk" and clerk["active"] is True
    assert clerk["office_id"] == issuer_env.settings.office_id
    assert clerk["api_key"].startswith("jz_")
    assert [k["prefix"] for k in clerk["api_keys"]] == [clerk["api_key"][3:15]]
    assert supervisor["role"] == "supervisor"

    r = issue_with(issuer_env, clerk["api_key"], 1)
    assert r.status_code == 201, r.text
    r2 = issue_with(issuer_env, supervisor["api_key"], 2)
    assert r2.status_code == 201, r2.text
    with issuer_env.engine.connect() as conn:
        actors = (
            conn.execute(
                sa.text(
                    "SELECT actor FROM audit_record WHERE action = 'certificate.issued' ORDER BY id"
                )
            )
            .scalars()
            .all()
        )
    assert actors == ["officer:wang.clerk", "officer:li.supervisor"]

    # The clerk reads the certificate back too.
    number = r.json()["certificate_number"]
    got = issuer_env.client.get(f"/api/v1/certificates/{number}", headers=bearer(clerk["api_key"]))
    assert got.status_code == 200


def test_a_clerk_on_an_admin_route_gets_403_problem_json(issuer_env: IssuerHarness) -> None:
    clerk = create(issuer_env, "clerk", "clerk")
    supervisor = create(issuer_env, "boss", "supervisor")
    for key in (clerk["api_key"], supervisor["api_key"]):
        h = bearer(key)
        body = assert_problem(
            issuer_env.client.post(
                "/api/v1/officers",
                json={"username": "x", "display_name": "X", "role": "admin"},
                headers=h,
            ),
            403,
        )
        assert body["type"].endswith("/forbidden")
        assert_problem(issuer_env.client.get("/api/v1/officers", headers=h), 403)
        assert_problem(
            issuer_env.client.post(f"/api/v1/officers/{clerk['id']}/api-keys", headers=h), 403
        )
        assert_problem(
            issuer_env.client.post(f"/api/v1/officers/{clerk['id']}/deactivate", headers=h), 403
        )
        prefix = clerk["api_keys"][0]["prefix"]
        assert_problem(issuer_env.client.delete(f"/api/v1/api-keys/{prefix}", headers=h), 403)
        assert_problem(
            issuer_env.client.post(
                "/api/v1/clients", json={"name": "v", "kind": "verifier"}, headers=h
            ),
            403,
        )
    en = issuer_env.client.get(
        "/api/v1/officers", headers=bearer(clerk["api_key"], **{"Accept-Language": "en"})
    )
    assert assert_problem(en, 403)["title"] == "This account may not do that"
    # Nothing was created by those attempts.
    names = [o["username"] for o in issuer_env.client.get("/api/v1/officers", headers=ADMIN).json()]
    assert names == ["clerk", "boss"]


def test_no_key_or_a_wrong_key_is_401(issuer_env: IssuerHarness) -> None:
    clerk = create(issuer_env, "clerk", "clerk")
    assert_problem(issuer_env.client.get("/api/v1/officers"), 401)
    forged = clerk["api_key"][:-4] + ("AAAA" if not clerk["api_key"].endswith("AAAA") else "BBBB")
    assert_problem(issuer_env.client.get("/api/v1/officers", headers=bearer(forged)), 401)
    assert issue_with(issuer_env, forged).status_code == 401


# --- keys -----------------------------------------------------------------------------------


def test_a_revoked_key_gets_401_and_a_new_key_works(issuer_env: IssuerHarness) -> None:
    clerk = create(issuer_env, "clerk", "clerk")
    old = clerk["api_key"]
    assert issue_with(issuer_env, old, 1).status_code == 201

    r = issuer_env.client.post(f"/api/v1/officers/{clerk['id']}/api-keys", headers=ADMIN)
    assert r.status_code == 201, r.text
    fresh = r.json()
    assert fresh["api_key"].startswith(f"jz_{fresh['prefix']}_")
    assert fresh["revoked_at"] is None

    prefix = old[3:15]
    r = issuer_env.client.delete(f"/api/v1/api-keys/{prefix}", headers=ADMIN)
    assert r.status_code == 204, r.text
    assert r.content == b""
    body = assert_problem(issue_with(issuer_env, old, 2), 401)
    assert body["type"].endswith("/unauthorized")
    assert issue_with(issuer_env, fresh["api_key"], 2).status_code == 201

    # Revoking again changes nothing; an unknown prefix is 404; a malformed one 422.
    assert issuer_env.client.delete(f"/api/v1/api-keys/{prefix}", headers=ADMIN).status_code == 204
    assert_problem(issuer_env.client.delete("/api/v1/api-keys/0123456789ab", headers=ADMIN), 404)
    assert_problem(issuer_env.client.delete("/api/v1/api-keys/XYZ", headers=ADMIN), 422)

    listed = issuer_env.client.get("/api/v1/officers", headers=ADMIN).json()[0]["api_keys"]
    assert [(k["prefix"], k["revoked_at"] is not None) for k in listed] == [
        (prefix, True),
        (fresh["prefix"], False),
    ]
    with issuer_env.engine.connect() as conn:
        revoked = conn.execute(
            sa.text("SELECT count(*) FROM audit_record WHERE action = 'api_key.revoked'")
        ).scalar_one()
    assert revoked == 1


def test_a_deactivated_officer_gets_401(issuer_env: IssuerHarness) -> None:
    clerk = create(issuer_env, "clerk", "clerk")
    assert issue_with(issuer_env, clerk["api_key"], 1).status_code == 201
    r = issuer_env.client.post(f"/api/v1/officers/{clerk['id']}/deactivate", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    assert "api_key" not in r.json()

    assert_problem(issue_with(issuer_env, clerk["api_key"], 2), 401)
    assert_problem(issuer_env.client.get("/api/v1/officers", headers=bearer(clerk["api_key"])), 401)
    # No new keys for a deactivated officer; deactivating again is harmless.
    assert_problem(
        issuer_env.client.post(f"/api/v1/officers/{clerk['id']}/api-keys", headers=ADMIN), 409
    )
    again = issuer_env.client.post(f"/api/v1/officers/{clerk['id']}/deactivate", headers=ADMIN)
    assert again.status_code == 200
    assert_problem(issuer_env.client.post("/api/v1/officers/999/deactivate", headers=ADMIN), 404)


def test_an_admin_cannot_deactivate_themself(issuer_env: IssuerHarness) -> None:
    admin = create(issuer_env, "second.admin", "admin")
    r = issuer_env.client.post(
        f"/api/v1/officers/{admin['id']}/deactivate", headers=bearer(admin["api_key"])
    )
    assert_problem(r, 409)
    # The admin officer manages accounts like the bootstrap key does.
    clerk = create(issuer_env, "clerk", "clerk", headers=bearer(admin["api_key"]))
    assert issue_with(issuer_env, clerk["api_key"]).status_code == 201


def test_keys_are_stored_hashed_and_shown_only_once(issuer_env: IssuerHarness) -> None:
    created = issuer_env.client.post(
        "/api/v1/officers",
        json={"username": "clerk", "display_name": "王五", "role": "clerk"},
        headers=ADMIN,
    )
    key = created.json()["api_key"]
    assert created.text.count(key) == 1
    r = issuer_env.client.post(f"/api/v1/officers/{created.json()['id']}/api-keys", headers=ADMIN)
    second = r.json()["api_key"]
    assert r.text.count(second) == 1
    client = issuer_env.client.post(
        "/api/v1/clients", json={"name": "teacher-mis", "kind": "mis"}, headers=ADMIN
    )
    assert client.status_code == 201, client.text
    third = client.json()["api_key"]
    assert client.json()["kind"] == "mis"
    assert issue_with(issuer_env, key).status_code == 201

    keys = [key, second, third]
    secrets = [k.split("_", 2)[2] for k in keys]
    # Lists show prefixes, never a key.
    for path in ("/api/v1/officers", "/api/v1/clients"):
        listing = issuer_env.client.get(path, headers=ADMIN)
        assert listing.status_code == 200
        for k, s in zip(keys, secrets, strict=True):
            assert k not in listing.text and s not in listing.text
    assert key[3:15] in issuer_env.client.get("/api/v1/officers", headers=ADMIN).text

    # The database holds neither a key nor its secret part anywhere, in any table.
    seen = 0
    for table, col, value in text_values(issuer_env.engine):
        seen += 1
        for k, s in zip(keys, secrets, strict=True):
            assert k not in value, (table, col)
            assert s not in value, (table, col)
    assert seen > 20
    with issuer_env.engine.connect() as conn:
        hashes = conn.execute(sa.text("SELECT prefix, secret_hash FROM api_key")).all()
    assert len(hashes) == 3 and all(len(h) == 64 for _, h in hashes)


# --- offices --------------------------------------------------------------------------------


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


# --- fields, audit, OpenAPI -----------------------------------------------------------------


def test_taken_username_is_409_naming_it_and_bad_fields_are_422(
    issuer_env: IssuerHarness,
) -> None:
    create(issuer_env, "zhang.wei", "clerk")
    dup = issuer_env.client.post(
        "/api/v1/officers",
        json={"username": "Zhang.Wei", "display_name": "另一个张伟", "role": "supervisor"},
        headers={**ADMIN, "Accept-Language": "en"},
    )
    body = assert_problem(dup, 409)
    assert "username" in body["title"] + body["detail"]
    assert "zhang.wei" in body["detail"]

    bad = issuer_env.client.post(
        "/api/v1/officers",
        json={"username": "has space", "display_name": " ", "role": "root"},
        headers=ADMIN,
    )
    errors = {e["field"]: e for e in assert_problem(bad, 422)["errors"]}
    assert set(errors) == {"username", "display_name", "role"}
    assert errors["role"]["code"] == "unknown_role"
    assert "角色" in errors["role"]["message"]
    missing = issuer_env.client.post("/api/v1/officers", json={"username": "a"}, headers=ADMIN)
    assert {e["field"] for e in assert_problem(missing, 422)["errors"]} == {"display_name", "role"}

    client_ok = issuer_env.client.post(
        "/api/v1/clients", json={"name": "verifier-1", "kind": "verifier"}, headers=ADMIN
    )
    assert client_ok.status_code == 201
    client_dup = issuer_env.client.post(
        "/api/v1/clients", json={"name": "verifier-1", "kind": "mis"}, headers=ADMIN
    )
    assert "name" in assert_problem(client_dup, 409)["detail"]
    bad_kind = issuer_env.client.post(
        "/api/v1/clients", json={"name": "x", "kind": "printer"}, headers=ADMIN
    )
    assert [e["field"] for e in assert_problem(bad_kind, 422)["errors"]] == ["kind"]


def test_a_service_clients_key_authenticates_but_manages_nothing(
    issuer_env: IssuerHarness,
) -> None:
    made = issuer_env.client.post(
        "/api/v1/clients", json={"name": "mis", "kind": "mis"}, headers=ADMIN
    ).json()
    h = bearer(made["api_key"])
    assert_problem(issuer_env.client.get("/api/v1/officers", headers=h), 403)
    assert_problem(issue_with(issuer_env, made["api_key"]), 403)
    prefix = made["api_keys"][0]["prefix"]
    assert issuer_env.client.delete(f"/api/v1/api-keys/{prefix}", headers=ADMIN).status_code == 204
    assert_problem(issuer_env.client.get("/api/v1/officers", headers=h), 401)


def test_every_account_change_is_audited_without_the_key(issuer_env: IssuerHarness) -> None:
    clerk = create(issuer_env, "clerk", "clerk")
    key2 = issuer_env.client.post(f"/api/v1/officers/{clerk['id']}/api-keys", headers=ADMIN).json()
    issuer_env.client.delete(f"/api/v1/api-keys/{key2['prefix']}", headers=ADMIN)
    issuer_env.client.post(f"/api/v1/officers/{clerk['id']}/deactivate", headers=ADMIN)
    issuer_env.client.post(
        "/api/v1/clients", json={"name": "v1", "kind": "verifier"}, headers=ADMIN
    )
    with issuer_env.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT actor, action, subject, detail_json FROM audit_record ORDER BY id")
        ).all()
    assert [(r.actor, r.action, r.subject) for r in rows] == [
        ("system", "office.created", issuer_env.settings.office_id),
        ("apikey:static", "officer.created", "officer:clerk"),
        ("apikey:static", "api_key.issued", "officer:clerk"),
        ("apikey:static", "api_key.revoked", "officer:clerk"),
        ("apikey:static", "officer.deactivated", "officer:clerk"),
        ("apikey:static", "client.created", "client:v1"),
    ]
    assert clerk["api_keys"][0]["prefix"] in rows[1].detail_json
    assert clerk["api_key"] not in repr(rows) and key2["api_key"] not in repr(rows)
    with Session(issuer_env.engine) as s:
        assert verify_chain(s) is None


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


def test_openapi_declares_the_problems_of_every_accounts_operation(
    issuer_env: IssuerHarness,
) -> None:
    paths = issuer_env.client.get("/openapi.json").json()["paths"]
    expected = {
        ("post", "/api/v1/officers"): {"401", "403", "409", "422"},
        ("get", "/api/v1/officers"): {"401", "403", "422"},
        ("post", "/api/v1/officers/{officer_id}/api-keys"): {"401", "403", "404", "409", "422"},
        ("delete", "/api/v1/api-keys/{prefix}"): {"401", "403", "404", "422"},
        ("post", "/api/v1/officers/{officer_id}/deactivate"): {"401", "403", "404", "409", "422"},
        ("post", "/api/v1/clients"): {"401", "403", "409", "422"},
        ("get", "/api/v1/clients"): {"401", "403", "422"},
    }
    for (method, path), codes in expected.items():
        codes = codes | {"400"}  # declared app-wide: a body that cannot even be parsed
        declared = {c for c in paths[path][method]["responses"] if c.startswith("4")}
        assert declared == codes, (method, path, declared)
        for c in codes:
            content = paths[path][method]["responses"][c]["content"]
            assert "application/problem+json" in content


# --- no database ----------------------------------------------------------------------------


def test_roles_are_the_ones_the_dependencies_know() -> None:
    assert accounts.ROLES == deps.ROLES


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


# --- concurrency and arbitrary input ---------------------------------------------------------


def test_concurrent_creations_of_one_username_make_one_officer(issuer_env: IssuerHarness) -> None:
    admin = create(issuer_env, "admin2", "admin")  # an officer's key: authentication reads rows

    def attempt(i: int) -> int:
        r = issuer_env.client.post(
            "/api/v1/officers",
            json={"username": "same", "display_name": f"第{i}位", "role": "clerk"},
            headers=bearer(admin["api_key"]) if i % 2 else ADMIN,
        )
        return r.status_code

    with ThreadPoolExecutor(12) as pool:
        codes = sorted(pool.map(attempt, range(24)))
    assert codes == [201] + [409] * 23
    with issuer_env.engine.connect() as conn:
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM officer WHERE username = 'same'")
            ).scalar_one()
            == 1
        )
        assert conn.execute(sa.text("SELECT count(*) FROM api_key")).scalar_one() == 2
    with Session(issuer_env.engine) as s:
        assert verify_chain(s) is None


_value = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["", " ", "clerk", "admin", "mis", "verifier", "a\x00b", "\ud800", "张三"]),
    st.integers(),
    st.none(),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    officer=st.dictionaries(st.sampled_from(["username", "display_name", "role", "x"]), _value),
    client=st.dictionaries(st.sampled_from(["name", "kind", "x"]), _value),
    officer_id=st.one_of(st.integers(-5, 2**40), st.text(max_size=5)),
    prefix=st.text(max_size=14),
)
def test_any_input_gets_a_declared_answer_never_a_500(
    issuer_env: IssuerHarness, officer, client, officer_id, prefix
) -> None:
    c = issuer_env.client
    h = {**ADMIN, "Content-Type": "application/json"}  # json.dumps escapes lone surrogates
    oid = quote(str(officer_id), safe="")
    answers = [
        (c.post("/api/v1/officers", content=json.dumps(officer), headers=h), {201, 409, 422}),
        (c.post("/api/v1/clients", content=json.dumps(client), headers=h), {201, 409, 422}),
        (c.post(f"/api/v1/officers/{oid}/api-keys", headers=ADMIN), {201, 404, 405, 409, 422}),
        (c.post(f"/api/v1/officers/{oid}/deactivate", headers=ADMIN), {200, 404, 405, 422}),
        (
            c.delete(f"/api/v1/api-keys/{quote(prefix, safe='')}", headers=ADMIN),
            {204, 404, 405, 422},
        ),
    ]
    for r, allowed in answers:
        assert r.status_code in allowed, (r.request.url, r.status_code, r.text)
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), r.text
