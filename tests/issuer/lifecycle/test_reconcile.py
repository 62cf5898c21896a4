"""After a restore, the status published since the backup taken back (issuer.lifecycle
.reconcile): what it refuses, what it keeps, what it skips. The whole drill (backup,
revoke, restore, reconcile, republish) is tests/jiaozi/backup/test_backup_drill.py.

Every test with ``issuer_env`` runs on SQLite and on PostgreSQL (see conftest.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from credential import (
    STATUS_LIST_TYP,
    StatusList,
    StatusValue,
    TrustList,
    encode_jws,
    status_list_claims,
)
from issuer.errors import Conflict
from issuer.lifecycle import reconcile_status, restored_backup_at
from issuer.lifecycle.reconcile import differing_entries
from tests.factory import signer
from tests.factory.issuer import (
    DECISION,
    IssuerHarness,
    issue,
    maker_checker_off,
    officer,
    post,
    rows,
)


def _published(
    env: IssuerHarness, uri: str, values: dict[int, int], *, iat: int, key: Any = None
) -> str:
    """Return a status list token for ``uri`` as the office would have published it."""
    (row,) = rows(env, f"SELECT size, bits FROM status_list WHERE uri = '{uri}'")
    lst = StatusList(int(row["size"]), bits=int(row["bits"]))
    for i, v in values.items():
        lst.set(i, v)
    claims = status_list_claims(lst, uri=uri, iat=iat, exp=iat + 86400, ttl=300)
    return encode_jws({"typ": STATUS_LIST_TYP}, claims, key or env.signer)


def _run(env: IssuerHarness, tokens: list[str], trust: TrustList, since: int | None) -> Any:
    with Session(env.engine) as session:
        return reconcile_status(
            session,
            tokens=tokens,
            trust=trust,
            settings=env.settings,
            actor="cli:test",
            now=dt.datetime.now(dt.UTC),
            backup_at=since,
        )


def _status(env: IssuerHarness, number: str) -> str:
    (row,) = rows(env, f"SELECT status FROM certificate WHERE certificate_number = '{number}'")
    return str(row["status"])


def test_differing_entries() -> None:
    a, b = StatusList(64), StatusList(64)
    assert differing_entries(a, b) == []
    b.set(5, 1)
    b.set(6, 2)
    b.set(63, 1)
    assert differing_entries(a, b) == [5, 6, 63]
    with pytest.raises(ValueError):
        differing_entries(a, StatusList(32))


def test_a_list_that_does_not_verify_changes_nothing(issuer_env: IssuerHarness) -> None:
    env = issuer_env
    cert = issue(env, 1)
    uri, idx = cert["status_list"]["uri"], int(cert["status_list"]["idx"])
    now = int(dt.datetime.now(dt.UTC).timestamp())
    good = _published(env, uri, {idx: 1}, iat=now)
    forged = _published(env, uri, {idx: 1}, iat=now, key=signer(kid="11001-1"))  # same kid
    with pytest.raises(Conflict) as err:
        _run(env, [good, forged], env.trust, now - 60)
    assert "list 2" in err.value.detail
    assert _status(env, cert["certificate_number"]) == "valid"
    assert rows(env, "SELECT id FROM audit_record WHERE action LIKE 'status.%'") == []


def test_without_a_restore_the_backup_time_must_be_given(issuer_env: IssuerHarness) -> None:
    env = issuer_env
    issue(env, 1)
    with Session(env.engine) as session:
        assert restored_backup_at(session) is None
    with pytest.raises(Conflict, match=r"records no restore from a backup"):
        _run(env, [], env.trust, None)


def test_revoked_stays_revoked_and_older_or_unknown_lists_change_nothing(
    issuer_env: IssuerHarness,
) -> None:
    env = issuer_env
    maker_checker_off(env)
    sup = officer(env, "sup-a", "supervisor")
    gone, kept = issue(env, 1), issue(env, 2)
    number = gone["certificate_number"]
    r = post(env, f"/api/v1/certificates/{number}/revocations", DECISION, sup)
    assert r.status_code == 200, r.text
    uri = gone["status_list"]["uri"]
    now = int(dt.datetime.now(dt.UTC).timestamp())
    kept_idx = int(kept["status_list"]["idx"])
    # published VALID for the revoked one, SUSPENDED for the other: after the backup
    newer = _published(env, uri, {kept_idx: int(StatusValue.SUSPENDED)}, iat=now)
    done = _run(env, [newer], env.trust, now - 60)
    assert done.kept_revoked == [number]
    assert [(c.certificate_number, c.after) for c in done.changed] == [
        (kept["certificate_number"], "suspended")
    ]
    assert _status(env, number) == "revoked"
    assert _status(env, kept["certificate_number"]) == "suspended"
    (rec,) = rows(env, "SELECT subject FROM audit_record WHERE action = 'status.reconciled'")
    assert rec["subject"] == kept["certificate_number"]

    # published before the backup: nothing newer than the database, skipped
    older = _published(env, uri, {kept_idx: int(StatusValue.INVALID)}, iat=now - 120)
    done = _run(env, [older], env.trust, now - 60)
    assert done.older == [uri] and done.changed == [] and done.list_ids == set()
    assert _status(env, kept["certificate_number"]) == "suspended"

    # a list the restored database never had (made after the backup): reported only
    lost = uri.rsplit("/", 1)[0] + "/999999"
    claims = status_list_claims(StatusList(1024), uri=lost, iat=now, exp=now + 600, ttl=300)
    token = encode_jws({"typ": STATUS_LIST_TYP}, claims, env.signer)
    done = _run(env, [token], env.trust, now - 60)
    assert done.unknown == [lost] and done.changed == []
