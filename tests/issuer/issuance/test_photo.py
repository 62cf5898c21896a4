"""The holder's photo through the issuer (issue 15 point 1): the API's create body takes
``photo`` (base64 of a JPEG or PNG), the normalised photo is bound into the credential,
stored with the certificate, attached to the signed PDF beside the credential, and the
verifier finds it matches. Refusals name the field ``photo``; nothing is written."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import io

import pypdf
import sqlalchemy as sa

from credential import Verdict, parse_jws, photo_check, photo_digest, verify
from issuer.db import tables
from issuer.photos import normalise_photo
from tests.factory.issuer import API_KEY, IssuerHarness, application
from tests.factory.photos import GPS_MAKER, jpeg_with_gps, png_bomb, synthetic_photo
from verifier.extract import extract


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _count(env: IssuerHarness) -> tuple[int, int]:
    with env.engine.connect() as conn:
        certs = conn.execute(sa.select(sa.func.count()).select_from(tables.CERTIFICATE)).scalar()
        photos = conn.execute(
            sa.select(sa.func.count()).select_from(tables.CERTIFICATE_PHOTO)
        ).scalar()
    return int(certs or 0), int(photos or 0)


def _pdf(env: IssuerHarness, number: str) -> bytes:
    r = env.client.get(
        f"/api/v1/certificates/{number}/pdf", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    assert r.status_code == 200, r.text
    return r.content


def test_round_trip_credential_pdf_verifier(issuer_env: IssuerHarness, document_key) -> None:
    sent = jpeg_with_gps(31, orientation=6)
    r = issuer_env.issue({**application(31), "photo": _b64(sent)})
    assert r.status_code == 201, r.text
    body = r.json()
    expected = normalise_photo(sent).jpeg
    subject = parse_jws(body["credential"]).payload["credentialSubject"]
    assert subject["photo"] == {"digestSRI": photo_digest(expected), "mediaType": "image/jpeg"}
    assert "photo" not in str(parse_jws(body["qr_token"]).payload)
    pdf = _pdf(issuer_env, body["certificate_number"])
    attached = pypdf.PdfReader(io.BytesIO(pdf)).attachments["photo.jpg"][0]
    assert attached == expected and GPS_MAKER.encode() not in attached  # stripped
    found = extract(pdf)
    assert found.photo == expected and found.credential == body["credential"]
    uri = body["status_list"]["uri"]
    assert found.qr == body["qr_url"]
    result = verify(
        body["qr_token"],
        credential=found.credential,
        trust=issuer_env.trust,
        status={uri: issuer_env.status_snapshot(uri)},
        now=dt.datetime.now(dt.UTC),
    )
    judged = result.with_photo(photo_check(result, found.photo, in_pdf=True), found.photo)
    assert judged.verdict is Verdict.VALID and judged.photo == expected
    with issuer_env.engine.connect() as conn:
        sha = conn.execute(sa.select(tables.CERTIFICATE_PHOTO.c.sha256)).scalar_one()
    assert sha == hashlib.sha256(expected).hexdigest()


def test_without_a_photo_the_certificate_is_as_before(issuer_env: IssuerHarness) -> None:
    r = issuer_env.issue(application(32))
    assert r.status_code == 201, r.text
    body = r.json()
    assert "photo" not in parse_jws(body["credential"]).payload["credentialSubject"]
    assert (
        "photo.jpg"
        not in pypdf.PdfReader(io.BytesIO(_pdf(issuer_env, body["certificate_number"]))).attachments
    )
    assert _count(issuer_env) == (1, 0)


def test_a_png_photo_is_taken_and_stored_as_jpeg(issuer_env: IssuerHarness) -> None:
    png = synthetic_photo(33, fmt="PNG")
    r = issuer_env.issue({**application(33), "photo": _b64(png)})
    assert r.status_code == 201, r.text
    with issuer_env.engine.connect() as conn:
        jpeg = conn.execute(sa.select(tables.CERTIFICATE_PHOTO.c.jpeg)).scalar_one()
    assert jpeg == normalise_photo(png).jpeg and jpeg.startswith(b"\xff\xd8\xff")


def _refused(env: IssuerHarness, body: dict[str, str], lang: str = "en") -> dict:
    r = env.issue(body, **{"Accept-Language": lang})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert _count(env) == (0, 0)  # nothing written
    return r.json()


def test_a_bad_photo_is_a_problem_naming_the_field(issuer_env: IssuerHarness) -> None:
    for data, words in (
        (synthetic_photo(34, size=(800, 600)), "portrait"),
        (synthetic_photo(34, size=(200, 280)), "at least 260 x 364"),
        (b"GIF89a not a photo", "not a JPEG or PNG"),
        (png_bomb(), "too large"),
    ):
        problem = _refused(issuer_env, {**application(34), "photo": _b64(data)})
        (err,) = [e for e in problem["errors"] if e["field"] == "photo"]
        assert words in err["message"], err


def test_not_base64_is_refused_in_chinese_by_default(issuer_env: IssuerHarness) -> None:
    problem = _refused(issuer_env, {**application(35), "photo": "not base64!"}, lang="zh-CN")
    (err,) = problem["errors"]
    assert err["field"] == "photo" and "Base64" in err["message"] and "照片" in err["message"]


def test_a_bad_photo_and_a_bad_field_are_named_together(issuer_env: IssuerHarness) -> None:
    body = {**application(36), "photo": _b64(b"x"), "birth_date": "1800-01-01"}
    fields = {e["field"] for e in _refused(issuer_env, body)["errors"]}
    assert {"photo", "birth_date"} <= fields


def test_the_office_can_require_a_photo(issuer_env: IssuerHarness) -> None:
    from fastapi.testclient import TestClient

    from issuer.web.app import create_app

    settings = issuer_env.settings.model_copy(update={"photo_required": True})
    app = create_app(settings, signer=issuer_env.signer)
    with TestClient(app) as client:
        r = issuer_env.issue(application(37), client=client, **{"Accept-Language": "en"})
        assert r.status_code == 422, r.text
        assert [(e["field"], "photo" in e["message"]) for e in r.json()["errors"]] == [
            ("photo", True)
        ]
        ok = issuer_env.issue(
            {**application(37), "photo": _b64(synthetic_photo(37))}, client=client
        )
        assert ok.status_code == 201, ok.text


def test_an_idempotent_retry_with_the_photo_replays(issuer_env: IssuerHarness) -> None:
    body = {**application(38), "photo": _b64(synthetic_photo(38))}
    first = issuer_env.issue(body, key="photo-key-0000000001")
    again = issuer_env.issue(body, key="photo-key-0000000001")
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["certificate_number"] == first.json()["certificate_number"]
    other = issuer_env.issue(
        {**body, "photo": _b64(synthetic_photo(39))}, key="photo-key-0000000001"
    )
    assert other.status_code == 422  # the same key with another photo
    assert _count(issuer_env) == (1, 1)


def test_a_key_compromise_reissue_keeps_the_photo() -> None:
    # the new version's facts come from the old credential: the binding carries over
    from credential import Certificate

    fields = {f.name for f in dataclasses.fields(Certificate)}
    assert "photo_digest" in fields
