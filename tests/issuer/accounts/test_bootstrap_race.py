"""The bootstrap key makes ONE first admin, even when its holder sends requests together:
authentication checks "no admin yet" before the transaction, so without a second check
under a lock two requests could both pass it and make two admins, each key in one
person's hands (and each could approve the other's requests).

Every database test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy.orm import Session

from issuer import accounts, lifecycle
from issuer.errors import Unauthorized
from tests.factory.accounts import create
from tests.factory.issuer import ADMIN, IssuerHarness, ensure_office, rows


def _static(env: IssuerHarness) -> accounts.Principal:
    return accounts.Principal("apikey:static", env.settings.office_id, role="admin")


def test_a_bootstrap_request_authenticated_before_the_first_admin_is_refused_after_it(
    issuer_env: IssuerHarness,
) -> None:
    # The second request passed authentication while there was no admin (as two requests
    # sent together do); the first admin is made meanwhile; the second is refused inside
    # its own transaction and writes nothing.
    ensure_office(issuer_env)
    now = dt.datetime.now(dt.UTC)
    with Session(issuer_env.engine) as session:
        first = lifecycle.request_officer(
            session,
            username="admin-a",
            display_name="甲",
            role="admin",
            who=_static(issuer_env),
            now=now,
        )
        assert first["state"] == "done"
        with pytest.raises(Unauthorized):
            lifecycle.request_officer(
                session,
                username="admin-b",
                display_name="乙",
                role="admin",
                who=_static(issuer_env),
                now=now,
            )
    names = [r["username"] for r in rows(issuer_env, "SELECT username FROM officer")]
    assert names == ["admin-a"]


def test_a_bootstrap_role_change_after_the_first_admin_is_refused(
    issuer_env: IssuerHarness,
) -> None:
    clerk = create(issuer_env, "clerk-a", "clerk")
    create(issuer_env, "admin-a", "admin")
    with Session(issuer_env.engine) as session, pytest.raises(Unauthorized):
        lifecycle.request_role_change(
            session,
            officer_id=clerk["id"],
            role="admin",
            who=_static(issuer_env),
            now=dt.datetime.now(dt.UTC),
        )
    roles = {
        r["username"]: r["role"] for r in rows(issuer_env, "SELECT username, role FROM officer")
    }
    assert roles == {"clerk-a": "clerk", "admin-a": "admin"}


def test_admins_asked_for_together_with_the_bootstrap_key_make_one(
    issuer_env: IssuerHarness,
) -> None:
    ensure_office(issuer_env)
    start = threading.Barrier(4)
    codes: list[int] = []

    def ask(i: int) -> None:
        start.wait()
        r = issuer_env.client.post(
            "/api/v1/officers",
            json={"username": f"admin-{i}", "display_name": f"管理员{i}", "role": "admin"},
            headers=ADMIN,
        )
        codes.append(r.status_code)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201, 401, 401, 401]
    admins = rows(issuer_env, "SELECT username FROM officer WHERE role = 'admin'")
    assert len(admins) == 1
