"""Identity numbers at rest (contract section 2): the stored credential (and the saved
idempotent answer that contains it) is sealed under the data key, so no identity number
appears in the database in clear, not even base64url-encoded."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import parse_jws
from issuer.issuance import SealedDataError, get_certificate
from issuer.issuance.sealing import PREFIX
from tests.factory.issuer import (
    IssuerHarness,
    application,
    assert_no_identity_number,
    decodings,
)


def test_no_identity_number_is_stored_in_clear_anywhere(issuer_env: IssuerHarness) -> None:
    bodies = [application(40 + i) for i in range(4)]
    ids = [b["id_number"] for b in bodies]
    assert all(len(i) == 18 for i in ids)
    issued = []
    for n, body in enumerate(bodies):
        r = issuer_env.issue(body, key=f"sealed-{n}")
        assert r.status_code == 201, r.text
        issued.append(r.json())
        # the replayed answer comes out of the sealed idempotency record unchanged
        again = issuer_env.issue(body, key=f"sealed-{n}")
        assert again.status_code == 201 and again.content == r.content
    # the same check finds the number when it is there only base64url-encoded
    assert any(ids[0].encode() in d for d in decodings(issued[0]["credential"]))
    assert assert_no_identity_number(issuer_env.engine, ids) > 50

    with issuer_env.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT credential_jws, kid FROM certificate")).all()
    assert all(s.credential_jws.startswith(PREFIX) for s in stored)
    assert {s.kid for s in stored} == {issuer_env.signer.kid}

    for got, body in zip(issued, bodies, strict=True):
        r = issuer_env.client.get(
            f"/api/v1/certificates/{got['certificate_number']}", headers=issuer_env.headers()
        )
        assert r.status_code == 200
        assert r.json()["credential"] == got["credential"]
        subject = parse_jws(r.json()["credential"]).payload["credentialSubject"]
        assert subject["identityDocument"]["number"] == body["id_number"]


@pytest.mark.parametrize("change", ["tamper", "move"])
def test_a_tampered_or_moved_credential_does_not_open(
    issuer_env: IssuerHarness, change: str
) -> None:
    numbers = []
    for i in range(2):
        r = issuer_env.issue(application(50 + i))
        assert r.status_code == 201
        numbers.append(r.json()["certificate_number"])
    with issuer_env.engine.begin() as conn:
        if change == "tamper":
            value = conn.execute(
                sa.text("SELECT credential_jws FROM certificate WHERE certificate_number = :n"),
                {"n": numbers[0]},
            ).scalar_one()
            i = len(PREFIX) + 40
            value = value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1 :]
        else:  # the second certificate's sealed credential copied onto the first's row
            value = conn.execute(
                sa.text("SELECT credential_jws FROM certificate WHERE certificate_number = :n"),
                {"n": numbers[1]},
            ).scalar_one()
        conn.execute(
            sa.text("UPDATE certificate SET credential_jws = :v WHERE certificate_number = :n"),
            {"v": value, "n": numbers[0]},
        )
    with Session(issuer_env.engine) as session:
        with pytest.raises(SealedDataError):
            get_certificate(
                session,
                number=numbers[0],
                office_id=issuer_env.settings.office_id,
                settings=issuer_env.settings,
            )
        ok = get_certificate(
            session,
            number=numbers[1],
            office_id=issuer_env.settings.office_id,
            settings=issuer_env.settings,
        )
    assert parse_jws(ok.credential).payload["credentialSubject"]["certificateNumber"] == numbers[1]
