"""An office with an SM2 key beside its EdDSA key issues dual-signed e-licences (issue 16):
the API and the holder's ``.json`` carry the JWS JSON serialization with both signatures,
while ``credential``, the ``.vc.jwt`` and the QR's digest binding stay the compact EdDSA
JWS that old verifiers read."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from credential import (
    DualSigner,
    VerifyPolicy,
    compact_of,
    parse_jws_json,
    verify,
)
from issuer import holder
from issuer.db.models import Certificate
from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from keys import DocumentSigningKey
from tests.factory import signer
from tests.factory.issuer import API_KEY, IssuerHarness, application

SM2 = signer("SM2SM3", kid="11001-sm2-1")


@pytest.fixture
def dual_env(database_url: str, document_key: DocumentSigningKey) -> Iterator[IssuerHarness]:
    settings = IssuerSettings(
        database_url=database_url,
        public_url="http://testserver",
        verifier_url="https://verify.example.cn",
        api_key=API_KEY,
        id_hmac_key="test-id-hmac-key-0123456789-abcdef",
    )
    main = signer(kid="11001-1")
    app = create_app(
        settings, signer=DualSigner(main, SM2), document_key_provider=lambda: document_key
    )
    with TestClient(app) as client:
        yield IssuerHarness(settings, main, app, client)


def _trust(env: IssuerHarness):  # the harness's list with the SM2 key beside the EdDSA one
    trust = env.trust
    office = trust.offices[0]
    return dataclasses.replace(
        trust, offices=(dataclasses.replace(office, keys=(*office.keys, SM2.public_key())),)
    )


def test_an_issued_certificate_is_dual_signed_and_verifies_with_sm2_required(
    dual_env: IssuerHarness,
) -> None:
    r = dual_env.issue(application(1))
    assert r.status_code == 201, r.text
    cert = r.json()
    dual = cert["credential_json"]
    assert dual is not None and compact_of(dual) == cert["credential"]
    multi = parse_jws_json(dual)
    assert [s.kid for s in (multi.primary, *multi.others)] == ["11001-1", "11001-sm2-1"]
    uri = cert["status_list"]["uri"]
    status = {uri: dual_env.status_snapshot(uri)}
    now = dt.datetime.now(dt.UTC)
    trust = _trust(dual_env)
    required = VerifyPolicy(require_sm2=True)
    # the QR binds the compact first signature: with the dual form it still matches
    both = verify(
        cert["qr_token"], credential=dual, trust=trust, status=status, now=now, policy=required
    )
    assert (both.verdict, both.reason) == ("valid", None)
    assert next(c for c in both.checks if c.name == "binding").ok is True
    # the compact form alone is what an old verifier reads: valid, unless SM2 is required
    old = verify(credential=cert["credential"], trust=trust, status=status, now=now)
    assert old.verdict == "valid"
    strict = verify(
        credential=cert["credential"], trust=trust, status=status, now=now, policy=required
    )
    assert (strict.verdict, strict.reason) == ("not_valid", "sm2_required")
    # read back through the API: the same two forms
    again = dual_env.client.get(
        f"/api/v1/certificates/{cert['certificate_number']}", headers=dual_env.headers()
    ).json()
    assert (again["credential"], again["credential_json"]) == (cert["credential"], dual)
    # the holder's downloads: .json names both, .vc.jwt (its "jws") stays compact
    with Session(dual_env.engine) as session:
        row = session.scalars(
            sa.select(Certificate).where(
                Certificate.certificate_number == cert["certificate_number"]  # type: ignore[arg-type]
            )
        ).one()
        doc = holder.credential_document(row, settings=dual_env.settings)
    assert doc["jws"] == cert["credential"] and doc["jws_json"] == dual
    assert json.loads(holder.dumps(doc))["jws_json"] == dual
    # stored sealed, never as clear text
    assert not row.credential_jws.startswith("{")


def test_an_office_without_sm2_keys_issues_as_before(issuer_env: IssuerHarness) -> None:
    r = issuer_env.issue(application(2))
    assert r.status_code == 201, r.text
    assert r.json()["credential_json"] is None


def test_the_pdf_carries_both_forms_and_the_verifier_reads_the_dual_one(
    dual_env: IssuerHarness,
) -> None:
    from pypdf import PdfReader

    from verifier.extract import extract

    cert = dual_env.issue(application(3)).json()
    number = cert["certificate_number"]
    r = dual_env.client.get(f"/api/v1/certificates/{number}/pdf", headers=dual_env.headers())
    assert r.status_code == 200, r.text
    attached = PdfReader(io.BytesIO(r.content)).attachments
    assert attached[f"{number}.vc.jwt"] == [cert["credential"].encode("ascii")]
    assert attached[f"{number}.vc.jws.json"] == [cert["credential_json"].encode("ascii")]
    found = extract(r.content)
    assert found.credential == cert["credential_json"]
    assert found.qr == cert["qr_url"]


def test_reissue_by_a_compromised_sm2_key_re_signs_its_dual_forms(
    dual_env: IssuerHarness,
) -> None:
    from issuer.issuance.reissue import ReissueError, reissue_by_key

    numbers = [dual_env.issue(application(i)).json()["certificate_number"] for i in (4, 5)]
    new_sm2 = signer("SM2SM3", kid="11001-sm2-2")
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    with Session(dual_env.engine) as session:
        with pytest.raises(ReissueError):  # never with the compromised key itself
            reissue_by_key(
                session,
                kid=SM2.kid,
                signer=DualSigner(dual_env.signer, SM2),
                settings=dual_env.settings,
                actor="test",
                now=now,
                sm2=True,
            )
        count = reissue_by_key(
            session,
            kid=SM2.kid,
            signer=DualSigner(dual_env.signer, new_sm2),
            settings=dual_env.settings,
            actor="test",
            now=now,
            sm2=True,
        )
        assert count == 2
        again = reissue_by_key(
            session,
            kid=SM2.kid,
            signer=DualSigner(dual_env.signer, new_sm2),
            settings=dual_env.settings,
            actor="test",
            now=now,
            sm2=True,
        )
        assert again == 0  # idempotent
    for number in numbers:
        got = dual_env.client.get(
            f"/api/v1/certificates/{number}", headers=dual_env.headers()
        ).json()
        assert got["version"] == 2
        assert parse_jws_json(got["credential_json"]).others[0].kid == "11001-sm2-2"
