"""Key rotation and compromise end to end, on SQLite and PostgreSQL.

Issue with key A from the key store, rotate, issue with key B: new certificates use B and
the old ones still verify. Mark A compromised from before the first issuance: the old ones
no longer verify. Reissue by key A: they come back as version 2 signed by B, with the same
numbers and status entries, and verify again; B's certificates are untouched. The feed, the
audit trail and the superseded versions say what happened.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from credential import (
    Reason,
    Verdict,
    parse_jws,
)
from issuer.audit.check import verify_audit
from issuer.cli.maintenance import audit_group, reissue_command
from issuer.db.models import CertificateVersion, Event
from issuer.issuance import ReissueError, open_credential, reissue_by_key
from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from keys import (
    current_trust_list,
    mark_compromised,
    rotate_office,
)
from keys.cli import keys_group
from tests.factory.issuer import application, assert_no_identity_number
from tests.factory.keys import relist
from tests.factory.reissue import (
    OFFICE,
    T_COMPROMISE,
    T_ISSUE_A,
    T_ISSUE_B,
    T_MARK,
    T_REISSUE,
    T_ROTATE,
    Office,
    at,
    reissue_env,
)

T_CHECK = T_REISSUE + 60


def test_rotate_compromise_and_reissue_end_to_end(office: Office) -> None:
    old = [office.issue(60 + i, T_ISSUE_A + i) for i in range(5)]
    kid_a = office.store.active_key(OFFICE, now=T_ISSUE_A).kid

    new_key, trust = rotate_office(office.store, OFFICE, now=T_ROTATE)
    assert trust is None and new_key.kid != kid_a  # an office home: the ceremony re-lists
    relist(office.store, now=T_ROTATE, name=office.settings.office_name)
    kid_b = new_key.kid
    new = [office.issue(70 + i, T_ISSUE_B + i) for i in range(2)]

    rows = office.rows()
    assert {rows[n].kid for n in old} == {kid_a} and {rows[n].kid for n in new} == {kid_b}
    for n in old + new:
        result = office.check(n, T_ISSUE_B + 60)
        assert result.verdict is Verdict.VALID, (n, result)
    keys_listed = {k.kid for k in current_trust_list(office.home).office(OFFICE).keys}  # type: ignore[union-attr]
    assert keys_listed == {kid_a, kid_b}

    # key A compromised from before anything was issued with it
    mark_compromised(office.store, kid_a, at=T_COMPROMISE, now=T_MARK)
    listed = relist(office.store, now=T_MARK, name=office.settings.office_name)
    assert listed.find_key(kid_a)[1].compromised_at == T_COMPROMISE  # type: ignore[index]
    for n in old:
        result = office.check(n, T_MARK + 60)
        assert (result.verdict, result.reason) == (Verdict.NOT_VALID, Reason.KEY_NOT_VALID)
    for n in new:
        assert office.check(n, T_MARK + 60).verdict is Verdict.VALID
    before = office.rows()

    # one row from before kid was recorded: found through its token's header
    with office.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE certificate SET kid = NULL WHERE certificate_number = :n"),
            {"n": old[2]},
        )

    signer_b = office.store.active_signer(OFFICE, now=T_REISSUE)
    with Session(office.engine) as session:
        progress: list[int] = []
        count = reissue_by_key(
            session,
            kid=kid_a,
            signer=signer_b,
            settings=office.settings,
            actor="cli:test",
            now=at(T_REISSUE),
            chunk_size=2,
            progress=progress.append,
        )
    assert count == 5 and progress == [2, 4, 5]

    after = office.rows()
    for n in old:
        row, was = after[n], before[n]
        assert (row.version, row.kid, row.status_idx) == (2, kid_b, was.status_idx)
        assert row.status_list_id == was.status_list_id
        assert row.elicence_id.split(".")[-2] == "002"
        assert row.qr_token != was.qr_token
        credential = open_credential(office.settings, row.credential_jws, certificate_number=n)
        subject = parse_jws(credential).payload["credentialSubject"]
        old_subject = parse_jws(
            open_credential(office.settings, was.credential_jws, certificate_number=n)
        ).payload["credentialSubject"]
        assert subject["version"] == 2 and subject["elicenceId"] == row.elicence_id
        assert subject["identityDocument"] == old_subject["identityDocument"]
        assert parse_jws(credential).payload["jti"] == f"{n}.002"
        result = office.check(n, T_CHECK)
        assert result.verdict is Verdict.VALID, (n, result)
        assert result.certificate is not None and result.certificate.version == 2
    for n in new:  # B's certificates untouched
        assert (after[n].version, after[n].qr_token, after[n].credential_jws) == (
            1,
            before[n].qr_token,
            before[n].credential_jws,
        )
        assert office.check(n, T_CHECK).verdict is Verdict.VALID

    with Session(office.engine) as session:
        versions = session.scalars(sa.select(CertificateVersion)).all()
        assert len(versions) == 5
        by_cert = {v.certificate_id: v for v in versions}
        for n in old:
            v = by_cert[after[n].id]  # type: ignore[index]
            assert (v.version, v.kid, v.reason) == (1, kid_a, "key_compromised")
            assert v.qr_token == before[n].qr_token
            jws = open_credential(office.settings, v.credential_jws, certificate_number=n)
            assert jws == open_credential(
                office.settings, before[n].credential_jws, certificate_number=n
            )
        events = session.scalars(
            sa.select(Event).where(Event.type == "reissued").order_by(Event.seq)
        ).all()
        assert sorted(e.certificate_number for e in events) == sorted(old)  # type: ignore[type-var]
        assert {e.version for e in events} == {2}
        assert all(json.loads(e.data_json)["reason"] == "key_compromised" for e in events)
        report = verify_audit(
            session, public_keys=office.store.public_keys(OFFICE), office_id=OFFICE
        )
        assert report.ok and report.records_checked == 7 + 5, report

        # a second run finds nothing left to do
        again = reissue_by_key(
            session,
            kid=kid_a,
            signer=signer_b,
            settings=office.settings,
            actor="cli:test",
            now=at(T_CHECK),
        )
        assert again == 0
        with pytest.raises(ReissueError, match="rotate"):
            reissue_by_key(
                session,
                kid=kid_b,
                signer=signer_b,
                settings=office.settings,
                actor="cli:test",
                now=at(T_CHECK),
            )
    assert office.rows()[old[0]].version == 2

    ids = [application(60 + i)["id_number"] for i in range(5)]
    assert_no_identity_number(office.engine, ids)


def test_the_cli_reissues_and_checks_the_audit_trail(
    office: Office, database_url: str, tmp_path: Path
) -> None:
    old = [office.issue(80 + i, T_ISSUE_A + i) for i in range(3)]
    kid_a = office.store.active_key(OFFICE, now=T_ISSUE_A).kid
    runner = CliRunner()
    env = reissue_env(database_url, office.home)

    r = runner.invoke(reissue_command, ["--key", kid_a], env={**env, "JIAOZI_NOW": str(T_MARK)})
    assert r.exit_code == 2 and "not marked compromised" in r.output

    # the key commands, as an operator types them
    r = runner.invoke(
        keys_group, ["rotate", "--office", OFFICE], env={**env, "JIAOZI_NOW": str(T_ROTATE)}
    )
    assert r.exit_code == 0, r.output
    compromised_from = at(T_COMPROMISE).isoformat()
    r = runner.invoke(
        keys_group,
        ["compromise", kid_a, "--at", compromised_from],
        env={**env, "JIAOZI_NOW": str(T_MARK)},
    )
    assert r.exit_code == 0, r.output
    relist(office.store, now=T_MARK, name=office.settings.office_name)  # the key ceremony
    for n in old:
        assert office.check(n, T_MARK + 60).reason is Reason.KEY_NOT_VALID
    r = runner.invoke(
        reissue_command, ["--key", kid_a, "--chunk", "2"], env={**env, "JIAOZI_NOW": str(T_REISSUE)}
    )
    assert r.exit_code == 0, r.output
    assert "reissued 3 certificate(s)" in r.output
    assert all(office.rows()[n].version == 2 for n in old)
    # The status lists too are re-signed by the new key at once (issue 12 point 6).
    kid_b = office.store.active_key(OFFICE, now=T_REISSUE).kid
    with office.engine.connect() as conn:
        tokens = conn.execute(sa.text("SELECT signed_token FROM status_list")).scalars().all()
    heads = [json.loads(base64.urlsafe_b64decode(t.split(".")[0] + "==")) for t in tokens]
    claims = [json.loads(base64.urlsafe_b64decode(t.split(".")[1] + "==")) for t in tokens]
    assert heads and {h["kid"] for h in heads} == {kid_b} != {kid_a}
    assert {c["iat"] for c in claims} == {T_REISSUE}  # by the reissue, not an earlier read
    for n in old:
        assert office.check(n, T_CHECK).verdict is Verdict.VALID
    r = runner.invoke(reissue_command, ["--key", kid_a], env={**env, "JIAOZI_NOW": str(T_CHECK)})
    assert r.exit_code == 0 and "reissued 0 certificate(s)" in r.output
    r = runner.invoke(reissue_command, ["--key", "nope-1"], env=env)
    assert r.exit_code == 2

    r = runner.invoke(audit_group, ["checkpoint"], env={**env, "JIAOZI_NOW": str(T_CHECK)})
    assert r.exit_code == 0, r.output
    assert "record 6" in r.output
    r = runner.invoke(audit_group, ["verify", "--lang", "zh"], env=env)
    assert r.exit_code == 0, r.output
    assert "审计记录完好" in r.output and "6" in r.output
    r = runner.invoke(audit_group, ["verify", "--lang", "en"], env=env)
    assert r.exit_code == 0 and "holds" in r.output

    with office.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_record WHERE id >= 5"))
        conn.execute(
            sa.text(
                "UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_record WHERE id = 4) WHERE id = 1"
            )
        )
    r = runner.invoke(audit_group, ["verify", "--lang", "zh"], env=env)
    assert r.exit_code == 1
    assert "审计记录被篡改" in r.output and "5" in r.output
    r = runner.invoke(audit_group, ["verify", "--lang", "en"], env=env)
    assert r.exit_code == 1 and "deleted" in r.output and "First bad record: 5" in r.output
    r = runner.invoke(audit_group, ["verify", "--json"], env=env)
    assert r.exit_code == 1
    got = json.loads(r.output)
    assert (got["ok"], got["first_bad_seq"], got["reason"]) == (False, 5, "tail_deleted")

    # an auditor without the key store checks against the published JWKS
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(office.store.jwks(OFFICE)))
    bare = {k: v for k, v in env.items() if k != "JIAOZI_KEY_PASSPHRASE"}
    r = runner.invoke(
        audit_group,
        ["verify", "--jwks", str(jwks)],
        env={**bare, "JIAOZI_HOME": str(tmp_path / "none")},
    )
    assert r.exit_code == 1 and "5" in r.output


def test_the_running_service_signs_with_the_rotated_key_without_a_restart(
    office: Office,
) -> None:
    """``jiaozi issuer serve`` asks the key store for the active key on every use."""
    clock = {"now": T_ISSUE_A}
    settings = IssuerSettings(api_key="k" * 40)  # the rest from the environment
    app = create_app(
        settings,
        signer_provider=lambda: office.store.active_signer(OFFICE, now=clock["now"]),
        public_keys_provider=lambda: office.store.public_keys(OFFICE),
    )
    from issuer.web.deps import now as now_dependency

    app.dependency_overrides[now_dependency] = lambda: at(clock["now"])
    headers = {"Authorization": "Bearer " + "k" * 40}
    with TestClient(app) as client:

        def issue(i: int) -> str:
            r = client.post(
                "/api/v1/certificates",
                json=application(i),
                headers={**headers, "Idempotency-Key": f"svc-{i}"},
            )
            assert r.status_code == 201, r.text
            return str(parse_jws(r.json()["credential"]).kid)

        kid_a = issue(90)
        clock["now"] = T_ROTATE
        rotate_office(office.store, OFFICE, now=T_ROTATE)
        clock["now"] = T_ISSUE_B
        kid_b = issue(91)
        assert kid_a != kid_b == office.store.active_key(OFFICE, now=T_ISSUE_B).kid
        jwks = client.get("/.well-known/jwks.json").json()
        assert {k["kid"] for k in jwks["keys"]} == {kid_a, kid_b}
