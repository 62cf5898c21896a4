"""``certificate_from_claims`` is the exact inverse of ``credential_claims``: what an
office prints or re-signs later is what it signed, for every sample applicant."""

from __future__ import annotations

import copy

import pytest

from credential import (
    MalformedError,
    StatusReference,
    certificate_from_claims,
    credential_claims,
)
from tests.factory import World, applicants

ROWS = applicants()


def _claims(world: World, **over: object) -> dict:
    return credential_claims(
        world.certificate(**over),
        issuer=world.office_id,
        issued_at=1_760_000_000,
        status=StatusReference(7, world.status_uri),
    )


@pytest.mark.parametrize("index", range(0, len(ROWS), 37))
def test_round_trip_over_sample_applicants(index: int) -> None:
    world = World()
    cert = world.certificate(ROWS[index])
    claims = credential_claims(
        cert,
        issuer=world.office_id,
        issued_at=1_760_000_000,
        status=StatusReference(7, world.status_uri),
    )
    assert certificate_from_claims(claims) == cert


def test_round_trip_keeps_ethnicity_and_version() -> None:
    world = World()
    cert = world.certificate(ethnicity="汉族", version=3)
    claims = credential_claims(
        cert, issuer=world.office_id, issued_at=1, status=StatusReference(0, world.status_uri)
    )
    back = certificate_from_claims(claims)
    assert (back.ethnicity, back.version) == ("汉族", 3)


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("credentialSubject", "sex"), "unknown", "unknown"),
        (("credentialSubject", "identityDocument", "type"), "library_card", "library_card"),
        (("credentialSubject", "office"), "北京", "office"),
        (("credentialSubject", "elicenceId"), 5, "elicenceId"),
        (("credentialSubject", "birthDate"), "2000-13-01", "date"),
        (("credentialSubject", "ethnicity"), 7, "ethnicity"),
        (("type",), ["VerifiableCredential"], "type"),
    ],
)
def test_misshapen_payload_is_malformed_not_a_crash(
    path: tuple[str, ...], value: object, named: str
) -> None:
    claims = copy.deepcopy(_claims(World()))
    node = claims
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(MalformedError, match=named):
        certificate_from_claims(claims)
