"""The holder's photo bound into the e-licence by its digest (``credentialSubject.photo``,
the VC 2.0 ``digestSRI`` form) and judged against the photo a PDF carries: a swapped,
removed or added photo fails; where nothing can carry a photo, the check says so and is
no failure."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json

import pytest

from credential import (
    PHOTO_CHECK,
    MalformedError,
    Reason,
    StatusReference,
    Verdict,
    canonical_json,
    certificate_from_claims,
    credential_claims,
    parse_jws,
    photo_check,
    photo_digest,
    photo_digest_of,
)
from credential import _credential as cr
from tests.factory import World

PHOTO = b"\xff\xd8\xff\xe0 a normalised photo"
OTHER = b"\xff\xd8\xff\xe0 another certificate's photo"
SRI = "sha256-" + base64.b64encode(hashlib.sha256(PHOTO).digest()).decode()


def _issued(world: World, photo: bytes | None = PHOTO):
    cert = world.certificate(photo_digest=photo_digest(photo) if photo is not None else None)
    return cert, world.issue(cert)


def test_the_credential_binds_the_photo_by_its_digest_sri() -> None:
    world = World()
    cert, tokens = _issued(world)
    subject = parse_jws(tokens.credential).payload["credentialSubject"]
    assert subject["photo"] == {"digestSRI": SRI, "mediaType": "image/jpeg"}
    assert photo_digest(PHOTO) == SRI
    assert certificate_from_claims(parse_jws(tokens.credential).payload) == cert


def test_a_certificate_without_a_photo_is_unchanged() -> None:
    world = World()
    _, tokens = _issued(world, None)
    assert "photo" not in parse_jws(tokens.credential).payload["credentialSubject"]


def test_the_qr_token_does_not_carry_the_photo() -> None:
    world = World()
    _, with_photo = _issued(world)
    text = json.dumps(parse_jws(with_photo.qr_token).payload)
    assert "photo" not in text and "sha256-" not in text


def test_the_template_path_equals_canonical_json_with_a_photo() -> None:
    world = World()
    cert = world.certificate(photo_digest=SRI, ethnicity="汉族")
    status = StatusReference(9, world.status_uri)
    fast = cr._credential_json(cert, issuer="urn:x", issued_at=1_760_000_000, status=status)
    assert fast is not None
    assert fast == canonical_json(
        credential_claims(cert, issuer="urn:x", issued_at=1_760_000_000, status=status)
    )


@pytest.mark.parametrize(
    "bad",
    [
        "sha256-abc",
        "sha512-" + SRI[7:],
        SRI.replace("=", "A"),
        "sha256-" + base64.urlsafe_b64encode(b"\xfb" * 32).decode(),  # base64url, not base64
    ],
)
def test_a_misshapen_photo_digest_is_refused_when_signing(bad: str) -> None:
    world = World()
    cert = world.certificate(photo_digest=bad)
    assert (
        cr._credential_json(cert, issuer="x", issued_at=1, status=StatusReference(1, "u")) is None
    )
    with pytest.raises(MalformedError):
        world.issue(cert)


@pytest.mark.parametrize(
    "claim",
    [
        {"digestSRI": SRI},
        {"digestSRI": SRI, "mediaType": "image/png"},
        {"digestSRI": SRI, "mediaType": "image/jpeg", "id": "x"},
        {"digestSRI": 7, "mediaType": "image/jpeg"},
        "sha256",
    ],
)
def test_a_misshapen_photo_claim_is_malformed(claim: object) -> None:
    with pytest.raises(MalformedError):
        photo_digest_of({"photo": claim})
    assert photo_digest_of({}) is None


def _pdf_check(world: World, credential: str, photo: bytes | None):
    result = world.verify(credential=credential)
    return result.with_photo(photo_check(result, photo, in_pdf=True), photo)


def test_the_matching_photo_passes_and_is_kept_to_be_shown() -> None:
    world = World()
    _, tokens = _issued(world)
    result = _pdf_check(world, tokens.credential, PHOTO)
    assert result.verdict is Verdict.VALID
    assert result.check(PHOTO_CHECK).ok is True and result.photo == PHOTO
    doc = json.loads(result.json_bytes("zh"))
    assert doc["photo"] == "data:image/jpeg;base64," + base64.b64encode(PHOTO).decode()
    assert doc == result.to_json("zh")
    assert doc["checks"][-1]["detail"] == "PDF中的持证人照片与电子证照一致"


def test_swapped_photo_is_not_valid() -> None:
    world = World()
    _, tokens = _issued(world)
    result = _pdf_check(world, tokens.credential, OTHER)
    assert result.verdict is Verdict.NOT_VALID and result.reason is Reason.PHOTO_MISMATCH
    assert result.photo is None and "photo" not in result.to_json()


def test_photo_of_another_certificate_is_not_valid() -> None:
    world = World()
    _, mine = _issued(world)
    _, theirs = _issued(world, OTHER)
    assert photo_check(world.verify(credential=theirs.credential), PHOTO, in_pdf=True).ok is False
    assert _pdf_check(world, mine.credential, OTHER).reason is Reason.PHOTO_MISMATCH


def test_removed_photo_is_not_valid() -> None:
    world = World()
    _, tokens = _issued(world)
    result = _pdf_check(world, tokens.credential, None)
    assert result.verdict is Verdict.NOT_VALID and result.reason is Reason.PHOTO_MISMATCH


def test_a_photo_added_to_a_certificate_issued_without_one_is_not_valid() -> None:
    world = World()
    _, tokens = _issued(world, None)
    assert _pdf_check(world, tokens.credential, PHOTO).reason is Reason.PHOTO_MISMATCH


def test_a_pdf_of_a_certificate_without_photo_says_so_neutrally() -> None:
    world = World()
    _, tokens = _issued(world, None)
    result = _pdf_check(world, tokens.credential, None)
    assert result.verdict is Verdict.VALID
    check = result.check(PHOTO_CHECK)
    assert check.ok is None and "未附" in check.detail_zh and "without a photo" in check.detail


def test_a_qr_scan_or_bare_jws_says_the_photo_is_in_the_pdf_neutrally() -> None:
    world = World()
    _, tokens = _issued(world)
    for result in (world.verify(tokens.qr_token), world.verify(credential=tokens.credential)):
        check = photo_check(result, None, in_pdf=False)
        assert check.ok is None and "PDF" in check.detail_zh and "PDF" in check.detail
        assert result.with_photo(check, None).verdict is Verdict.VALID
    _, without = _issued(world, None)
    check = photo_check(world.verify(without.qr_token), None, in_pdf=False)
    assert check.ok is None and "未附" not in check.detail_zh  # a QR cannot tell


def test_nothing_is_judged_when_the_signature_fails() -> None:
    world = World()
    _, tokens = _issued(world)
    head, body, sig = tokens.credential.split(".")
    forged = f"{head}.{body}.{sig[:-4]}AAAA"
    result = world.verify(credential=forged)
    check = photo_check(result, PHOTO, in_pdf=True)
    assert check.ok is None and result.with_photo(check, PHOTO).photo is None


def test_replace_keeps_the_photo_through_a_new_version() -> None:
    world = World()
    cert, _ = _issued(world)
    assert dataclasses.replace(cert, version=2).photo_digest == SRI
