"""Roles and API keys: what a clerk, a supervisor, an admin and a service client may do,
and a key's life (issued, shown once, stored hashed, revoked, its officer deactivated).

Every database test runs on SQLite and on PostgreSQL (see conftest.py). The static key of
the harness acts as the configured office's admin, which is how a fresh install starts.
"""

from __future__ import annotations

import sqlalchemy as sa

from issuer import accounts
from issuer.web import deps
from tests.factory.accounts import assert_problem, bearer, create, issue_with, text_values
from tests.factory.issuer import ADMIN, IssuerHarness

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


def test_roles_are_the_ones_the_dependencies_know() -> None:
    assert accounts.ROLES == deps.ROLES


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
    assert fresh["created_at"].endswith("Z")  # UTC on both databases

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
    assert listed[0]["revoked_at"].endswith("Z")
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
