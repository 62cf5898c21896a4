"""The holder's photo in an uploaded PDF (issue 15 point 1): judged against the digest the
e-licence binds. A swapped, removed or added photo is ``not_valid`` (``photo_mismatch``),
whether or not the forger could sign the file; a match is shown inline (a data: URL, the
response not cached) with a check line saying so; input that carries no photo says so
neutrally."""

from __future__ import annotations

import base64
import io
import logging

import pypdf
import pytest

from credential import qr_url
from issuer.photos import normalise_photo
from tests.factory import VERIFIER_URL, applicants
from tests.factory.pdf import document_signer, root_private_key, signed_pdf
from tests.factory.photos import synthetic_photo
from tests.factory.verifier import Harness, pdf, photo, upload
from verifier.extract import extract

MINE = normalise_photo(synthetic_photo(21)).jpeg
THEIRS = normalise_photo(synthetic_photo(22)).jpeg


def _pdf(api: Harness, idx: int, **kw: bytes | None) -> bytes:
    signer = document_signer(root_private_key(api.world))
    cert = api.world.certificate(applicants()[idx])
    return signed_pdf(api.world, cert, signer, idx=600 + idx, **kw)  # type: ignore[arg-type]


def _judged(api: Harness, data: bytes, lang: str = "en"):
    r = upload(api, data, "c.pdf", "application/pdf", **{"Accept-Language": lang})
    assert r.status_code == 200, r.text
    body = r.json()
    return r, body, {c["name"]: c for c in body["checks"]}


def test_the_issued_photo_matches_and_is_shown_inline(api: Harness) -> None:
    data = _pdf(api, 1, photo=MINE)
    assert extract(data).photo == MINE
    r, body, checks = _judged(api, data, "zh")
    assert body["verdict"] == "valid"
    assert checks["photo"]["ok"] is True
    assert checks["photo"]["detail"] == "PDF中的持证人照片与电子证照一致"
    assert body["photo"] == "data:image/jpeg;base64," + base64.b64encode(MINE).decode()
    assert r.headers["cache-control"] == "no-store"


def test_swapped_photo_in_a_pdf_the_forger_signed_is_not_valid(api: Harness) -> None:
    # the forger holds a document key (here: the office's own): the file signature holds,
    # the photo does not
    _, body, checks = _judged(api, _pdf(api, 2, photo=MINE, attached_photo=THEIRS))
    assert checks["file_signature"]["ok"] is True
    assert body["verdict"] == "not_valid" and body["reason"] == "photo_mismatch"
    assert checks["photo"]["ok"] is False and "swapped" in checks["photo"]["detail"]
    assert "photo" not in body


def test_swapped_photo_in_an_unsigned_pdf_is_not_valid(api: Harness) -> None:
    issued = api.world.issue(
        api.world.certificate(applicants()[3], photo_digest=_sri(MINE)), idx=603
    )
    data = pdf(qr_url(VERIFIER_URL, issued.qr_token), issued.credential, photo=THEIRS)
    _, body, checks = _judged(api, data)
    assert checks["file_signature"]["ok"] is None  # not signed: judged by its contents
    assert (body["verdict"], body["reason"]) == ("not_valid", "photo_mismatch")


def test_photo_of_another_certificate_is_not_valid(api: Harness) -> None:
    other = _pdf(api, 4, photo=THEIRS)
    theirs = pypdf.PdfReader(io.BytesIO(other)).attachments["photo.jpg"][0]
    issued = api.world.issue(
        api.world.certificate(applicants()[5], photo_digest=_sri(MINE)), idx=605
    )
    data = pdf(qr_url(VERIFIER_URL, issued.qr_token), issued.credential, photo=theirs)
    assert _judged(api, data)[1]["reason"] == "photo_mismatch"


def test_removed_photo_is_not_valid(api: Harness) -> None:
    issued = api.world.issue(
        api.world.certificate(applicants()[6], photo_digest=_sri(MINE)), idx=606
    )
    data = pdf(qr_url(VERIFIER_URL, issued.qr_token), issued.credential)
    _, body, checks = _judged(api, data)
    assert (body["verdict"], body["reason"]) == ("not_valid", "photo_mismatch")
    assert "removed" in checks["photo"]["detail"]


def test_a_pdf_without_a_photo_says_so_neutrally(api: Harness) -> None:
    _, body, checks = _judged(api, _pdf(api, 7), "zh")
    assert body["verdict"] == "valid" and "photo" not in body
    assert (
        checks["photo"]["ok"] is None and checks["photo"]["detail"] == "该证书签发时未附持证人照片"
    )


def test_a_photo_of_the_qr_says_the_photo_is_in_the_pdf(api: Harness) -> None:
    issued = api.world.issue(
        api.world.certificate(applicants()[8], photo_digest=_sri(MINE)), idx=608
    )
    r = upload(api, photo(qr_url(VERIFIER_URL, issued.qr_token)), "p.png", "image/png")
    body = r.json()
    check = {c["name"]: c for c in body["checks"]}["photo"]
    assert body["verdict"] == "valid" and check["ok"] is None and "PDF" in check["detail"]


@pytest.mark.parametrize(
    ("lang", "words"), [("zh-CN", "仅能在PDF证书上比对"), ("en", "compared only on the PDF")]
)
def test_json_verification_of_a_photo_bound_credential_says_it_neutrally(
    api: Harness, lang: str, words: str
) -> None:
    issued = api.world.issue(
        api.world.certificate(applicants()[9], photo_digest=_sri(MINE)), idx=609
    )
    # (a QR's text alone binds no photo: the QR token does not carry its digest)
    for body in (
        {"credential": issued.credential},
        {"credential": issued.credential, "qr": issued.qr_token},
    ):
        result = api.client.post(
            "/api/v1/verify", json=body, headers={"Accept-Language": lang}
        ).json()
        assert result["verdict"] == "valid" and "photo" not in result  # no failure, no photo
        (check,) = [c for c in result["checks"] if c["name"] == "photo"]
        assert check["ok"] is None and words in check["detail"], check


def test_json_verification_without_a_photo_is_unchanged(api: Harness) -> None:
    issued = api.world.issue(api.world.certificate(applicants()[11]), idx=611)
    result = api.client.post("/api/v1/verify", json={"credential": issued.credential}).json()
    assert result["verdict"] == "valid" and len(result["checks"]) == 8  # the contract's eight
    assert "photo" not in [c["name"] for c in result["checks"]]


def test_the_photo_is_never_logged(api: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _judged(api, _pdf(api, 10, photo=MINE))
    b64 = base64.b64encode(MINE).decode()
    assert all(b64[:40] not in r.getMessage() for r in caplog.records)
    assert all("data:image" not in r.getMessage() for r in caplog.records)


def _sri(jpeg: bytes) -> str:
    from credential import photo_digest

    return photo_digest(jpeg)


def test_the_verifier_page_names_the_photo_check_and_its_reason_in_both_languages() -> None:
    from verifier.web import STRINGS

    assert STRINGS["zh"]["js"]["check_names"]["photo"] == "持证人照片"
    assert STRINGS["en"]["js"]["check_names"]["photo"] == "Holder's photo"
    assert "照片" in STRINGS["zh"]["js"]["reasons"]["photo_mismatch"]
    assert "photo" in STRINGS["en"]["js"]["reasons"]["photo_mismatch"]
