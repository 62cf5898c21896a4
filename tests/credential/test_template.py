"""The credential's and the QR token's payloads put together from templates
(``sign_certificate``'s usual path) are byte for byte ``canonical_json`` of
``credential_claims`` and ``qr_claims``: for every sample applicant and for arbitrary
text (quotes, backslashes, control characters, CJK, astral characters), numbers at the
safe-integer bounds, with and without ethnicity."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credential import (
    MalformedError,
    StatusReference,
    canonical_json,
    credential_claims,
    qr_claims,
)
from credential import _credential as cr
from credential._canonical import MAX_SAFE_INTEGER
from tests.factory import World, applicants

ROWS = applicants()
DIGEST = hashlib.sha256(b"x").digest()


def _both(cert, *, issuer: str, issued_at: int, status: StatusReference) -> None:
    fast = cr._credential_json(cert, issuer=issuer, issued_at=issued_at, status=status)
    assert fast == canonical_json(
        credential_claims(cert, issuer=issuer, issued_at=issued_at, status=status)
    )
    fast_qr = cr._qr_json(
        cert, issuer=issuer, issued_at=issued_at, status=status, credential_sha256=DIGEST
    )
    assert fast_qr == canonical_json(
        qr_claims(
            cert,
            issuer=issuer,
            issued_at=issued_at,
            status=status,
            credential_jws="x",
            credential_sha256=DIGEST,
        )
    )


@pytest.mark.parametrize("index", range(0, len(ROWS), 17))
def test_sample_applicants(index: int) -> None:
    world = World()
    cert = world.certificate(ROWS[index])
    _both(
        cert,
        issuer=world.office_id,
        issued_at=1_760_000_000,
        status=StatusReference(7, world.status_uri),
    )


text = st.text(max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    name=text,
    subject=text,
    id_number=st.text(min_size=1, max_size=20),
    office_name=text,
    office_code=text,
    issuer=text,
    uri=text,
    ethnicity=st.one_of(st.none(), st.just(""), text),
    number=text,
    eid=text,
    version=st.integers(0, MAX_SAFE_INTEGER),
    issued_at=st.sampled_from([0, 1, 1_760_000_000, 253402300799]),
    idx=st.integers(0, MAX_SAFE_INTEGER),
)
def test_arbitrary_values(**v: object) -> None:
    world = World()
    cert = dataclasses.replace(
        world.certificate(),
        name=v["name"],
        subject=v["subject"],
        id_number=v["id_number"],
        office_name=v["office_name"],
        office_code=v["office_code"],
        ethnicity=v["ethnicity"],
        certificate_number=v["number"],
        elicence_id=v["eid"],
        version=v["version"],
    )
    status = StatusReference(v["idx"], v["uri"])  # type: ignore[arg-type]
    try:
        expected = canonical_json(
            credential_claims(cert, issuer=v["issuer"], issued_at=v["issued_at"], status=status)  # type: ignore[arg-type]
        )
    except MalformedError:
        with pytest.raises(MalformedError):
            cr._credential_json(cert, issuer=v["issuer"], issued_at=v["issued_at"], status=status)  # type: ignore[arg-type]
        return
    got = cr._credential_json(cert, issuer=v["issuer"], issued_at=v["issued_at"], status=status)  # type: ignore[arg-type]
    assert got == expected
    _both(cert, issuer=v["issuer"], issued_at=v["issued_at"], status=status)  # type: ignore[arg-type]


def test_values_outside_the_template_take_the_general_path() -> None:
    world = World()
    status = StatusReference(1, world.status_uri)
    for cert, st_ in (
        (dataclasses.replace(world.certificate(), version=MAX_SAFE_INTEGER + 1), status),
        (dataclasses.replace(world.certificate(), version=True), status),
        (world.certificate(), StatusReference(1.5, world.status_uri)),  # type: ignore[arg-type]
    ):
        assert cr._credential_json(cert, issuer="x", issued_at=1, status=st_) is None
        assert (
            cr._qr_json(cert, issuer="x", issued_at=1, status=st_, credential_sha256=DIGEST) is None
        )


def test_a_lone_surrogate_is_refused_as_canonical_json_refuses_it() -> None:
    world = World()
    cert = dataclasses.replace(world.certificate(), name="a\ud800")
    with pytest.raises(MalformedError):
        cr._credential_json(cert, issuer="x", issued_at=1, status=StatusReference(1, "u"))
    with pytest.raises(MalformedError):
        cr._qr_json(
            cert, issuer="x", issued_at=1, status=StatusReference(1, "u"), credential_sha256=DIGEST
        )
