"""Account requests: field rules and name conflicts, the audit record of every change,
the problems OpenAPI declares, concurrent creations, and arbitrary input (never a 500).

Every database test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from issuer.audit.chain import verify_chain
from tests.factory.accounts import assert_problem, bearer, create, personal_admin
from tests.factory.issuer import ADMIN, IssuerHarness, officer

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
    hidden = issuer_env.client.post(
        "/api/v1/officers",
        json={"username": "li.na", "display_name": "李\u200b娜", "role": "clerk"},
        headers=ADMIN,
    )
    # the code every other field gives an invisible character, not one of its own
    assert [(e["field"], e["code"]) for e in assert_problem(hidden, 422)["errors"]] == [
        ("display_name", "characters")
    ]
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


# --- concurrency and arbitrary input ---------------------------------------------------------


def test_concurrent_creations_of_one_username_make_one_officer(issuer_env: IssuerHarness) -> None:
    admin = create(issuer_env, "admin2", "admin")  # an officer's key: authentication reads rows
    # a second admin (the bootstrap key stopped working with the first)
    other = officer(issuer_env, "admin3", "admin")

    def attempt(i: int) -> int:
        r = issuer_env.client.post(
            "/api/v1/officers",
            json={"username": "same", "display_name": f"第{i}位", "role": "clerk"},
            headers=bearer(admin["api_key"]) if i % 2 else other,
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
        assert conn.execute(sa.text("SELECT count(*) FROM api_key")).scalar_one() == 3
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
    admin = personal_admin(issuer_env)  # the bootstrap key ends with an admin made here
    h = {**admin, "Content-Type": "application/json"}  # json.dumps escapes lone surrogates
    oid = quote(str(officer_id), safe="")
    role = {"role": officer.get("role")}
    answers = [
        (c.post("/api/v1/officers", content=json.dumps(officer), headers=h), {201, 202, 409, 422}),
        (c.post("/api/v1/clients", content=json.dumps(client), headers=h), {201, 409, 422}),
        (c.post(f"/api/v1/officers/{oid}/api-keys", headers=admin), {201, 404, 405, 409, 422}),
        (
            c.post(f"/api/v1/officers/{oid}/role", content=json.dumps(role), headers=h),
            {202, 404, 405, 409, 422},
        ),
        (c.post(f"/api/v1/officers/{oid}/deactivate", headers=admin), {200, 404, 405, 409, 422}),
        (
            c.delete(f"/api/v1/api-keys/{quote(prefix, safe='')}", headers=admin),
            {204, 404, 405, 422},
        ),
    ]
    for r, allowed in answers:
        assert r.status_code in allowed, (r.request.url, r.status_code, r.text)
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), r.text
