"""A replacement (补发) with a new holder's photo (issue 15 point 1): the new version binds
and carries the new photo, the old version's credential still binds the old one; without
a photo the replacement keeps the certificate's. The photo never reaches the audit trail
or the pending request's public form (its SHA-256 does).

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import base64
import io

import pypdf
import sqlalchemy as sa

from credential import parse_jws, photo_digest
from issuer.db import tables
from issuer.photos import normalise_photo
from tests.factory.issuer import (
    IssuerHarness,
    ensure_office,
    issue,
    maker_checker_off,
    officer,
)
from tests.factory.photos import synthetic_photo

OLD, NEW = synthetic_photo(71), synthetic_photo(72, fmt="PNG")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _replace(env: IssuerHarness, number: str, key: str, **body: str):
    sup = officer(env, "sup-photo", "supervisor")  # (one replacement a test)
    return env.client.post(
        f"/api/v1/certificates/{number}/replacement",
        json={"reason_code": "damaged", **body},
        headers={**sup, "Idempotency-Key": key, "Accept-Language": "en"},
    )


def _stored(env: IssuerHarness) -> bytes:
    with env.engine.connect() as conn:
        return bytes(conn.execute(sa.select(tables.CERTIFICATE_PHOTO.c.jpeg)).scalar_one())


def test_a_replacement_with_a_new_photo_binds_and_carries_it(issuer_env: IssuerHarness) -> None:
    maker_checker_off(issuer_env)
    old = issue(issuer_env, 71, photo=_b64(OLD))
    number = old["certificate_number"]
    r = _replace(issuer_env, number, "replace-photo-0001", photo=_b64(NEW))
    assert r.status_code == 200, r.text
    new = r.json()["certificate"]
    want = normalise_photo(NEW).jpeg
    assert parse_jws(new["credential"]).payload["credentialSubject"]["photo"]["digestSRI"] == (
        photo_digest(want)
    )
    assert parse_jws(old["credential"]).payload["credentialSubject"]["photo"]["digestSRI"] == (
        photo_digest(normalise_photo(OLD).jpeg)
    )
    assert _stored(issuer_env) == want
    pdf = issuer_env.client.get(
        f"/api/v1/certificates/{number}/pdf", headers=issuer_env.headers()
    ).content
    assert pypdf.PdfReader(io.BytesIO(pdf)).attachments["photo.jpg"][0] == want
    with issuer_env.engine.connect() as conn:
        details = conn.execute(sa.select(tables.AUDIT_RECORD.c.detail_json)).scalars().all()
    text = " ".join(details)
    assert _b64(want)[:40] not in text and normalise_photo(NEW).sha256_hex in text


def test_a_replacement_without_a_photo_keeps_the_certificates(issuer_env: IssuerHarness) -> None:
    maker_checker_off(issuer_env)
    old = issue(issuer_env, 73, photo=_b64(OLD))
    r = _replace(issuer_env, old["certificate_number"], "replace-photo-0002")
    assert r.status_code == 200, r.text
    subject = parse_jws(r.json()["certificate"]["credential"]).payload["credentialSubject"]
    assert subject["photo"]["digestSRI"] == photo_digest(normalise_photo(OLD).jpeg)
    assert _stored(issuer_env) == normalise_photo(OLD).jpeg


def test_a_bad_new_photo_is_refused_naming_the_field(issuer_env: IssuerHarness) -> None:
    maker_checker_off(issuer_env)
    old = issue(issuer_env, 74, photo=_b64(OLD))
    r = _replace(issuer_env, old["certificate_number"], "replace-photo-0003", photo="xx!")
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["photo"]
    assert _stored(issuer_env) == normalise_photo(OLD).jpeg


def test_a_pending_replacement_keeps_the_photo_out_of_its_public_form(
    issuer_env: IssuerHarness,
) -> None:
    ensure_office(issuer_env)  # maker-checker on: the request waits for a second supervisor
    old = issue(issuer_env, 75, photo=_b64(OLD))
    r = _replace(issuer_env, old["certificate_number"], "replace-photo-0004", photo=_b64(NEW))
    assert r.status_code == 202, r.text
    payload = r.json()["pending_action"]["payload"]
    assert "photo" not in payload and payload["photo_sha256"] == normalise_photo(NEW).sha256_hex
