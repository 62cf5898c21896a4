"""The office downloads a certificate's signed PDF: the page says what the credential
says, the credential rides inside, and the signature chains to the trust root."""

from __future__ import annotations

import io
import subprocess

import pytest
from asn1crypto import x509 as asn1_x509
from fastapi.testclient import TestClient
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from issuer.web.app import create_app
from tests.factory.issuer import API_KEY, IssuerHarness, application
from verifier.extract import extract


def _pdf(env: IssuerHarness, number: str, **headers: str):
    return env.client.get(
        f"/api/v1/certificates/{number}/pdf",
        headers={"Authorization": f"Bearer {API_KEY}", **headers},
    )


def test_pdf_carries_the_credential_and_a_trusted_signature(
    issuer_env: IssuerHarness, document_key
) -> None:
    issued = issuer_env.issue(application(3))
    assert issued.status_code == 201, issued.text
    body = issued.json()
    r = _pdf(issuer_env, body["certificate_number"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert f'filename="{body["certificate_number"]}.pdf"' in r.headers["content-disposition"]
    found = extract(r.content)
    assert found.credential == body["credential"]
    assert found.qr == body["qr_url"]  # the printed QR decodes to the token that was signed
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=r.content, capture_output=True, check=True
    ).stdout.decode()
    assert application(3)["id_number"] in text  # the office's print shows the full number
    assert body["certificate_number"] in text
    reader = PdfFileReader(io.BytesIO(r.content))
    (sig,) = reader.embedded_signatures
    root = asn1_x509.Certificate.load(document_key.chain_der[-1])
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[root]))
    assert (status.intact, status.valid, status.trusted) == (True, True, True)
    assert status.coverage.name == "ENTIRE_FILE"


def test_unknown_number_is_a_404_problem(issuer_env: IssuerHarness) -> None:
    r = _pdf(issuer_env, "20261100142000999", **{"Accept-Language": "en"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == "No such certificate"


def test_without_a_document_key_printing_is_503_not_500(issuer_env: IssuerHarness) -> None:
    app = create_app(issuer_env.settings, signer=issuer_env.signer)
    with TestClient(app) as client:
        issued = issuer_env.issue(application(4))
        number = issued.json()["certificate_number"]
        r = client.get(
            f"/api/v1/certificates/{number}/pdf", headers={"Authorization": f"Bearer {API_KEY}"}
        )
    assert r.status_code == 503
    assert r.json()["type"].endswith("printing_unavailable")


@pytest.mark.parametrize("who", ["nobody", "wrong"])
def test_pdf_needs_an_officer(issuer_env: IssuerHarness, who: str) -> None:
    issued = issuer_env.issue(application(5)).json()
    headers = {} if who == "nobody" else {"Authorization": "Bearer not-a-key"}
    r = issuer_env.client.get(
        f"/api/v1/certificates/{issued['certificate_number']}/pdf", headers=headers
    )
    assert r.status_code == 401


def test_a_document_key_that_cannot_be_opened_or_used_is_503_not_500(
    issuer_env: IssuerHarness, document_key
) -> None:
    import dataclasses

    from keys import WrongPassphraseError

    def unopenable():
        raise WrongPassphraseError("cannot decrypt the document-signing key")

    number = issuer_env.issue(application(6)).json()["certificate_number"]
    mismatched = dataclasses.replace(document_key, cert_der=document_key.chain_der[-1])
    for provider in (unopenable, lambda: mismatched):
        app = create_app(
            issuer_env.settings, signer=issuer_env.signer, document_key_provider=provider
        )
        with TestClient(app) as client:
            r = client.get(
                f"/api/v1/certificates/{number}/pdf",
                headers={"Authorization": f"Bearer {API_KEY}"},
            )
        assert r.status_code == 503, r.text
        assert r.json()["type"].endswith("printing_unavailable")
