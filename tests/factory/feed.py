"""Feed events and batches for the national feed tests (registry/feed.py, follow.py)."""

from __future__ import annotations

import time

from credential import REGISTRY_ID, OfficeEvent, sign_feed_batch
from tests.factory.registry import NationalWorld, person

__all__ = ["batch", "event", "identity_of"]


def identity_of(who: int) -> str:
    """Return the (made-up, well-formed) identity number of person ``who``."""
    return f"11010119900101{who:04d}"[:18]


def event(
    seq: int, *, who: int = 1, kind: str = "issued", number: str | None = None, office: str = "A"
) -> OfficeEvent:
    """Return office ``office``'s event ``seq`` about person ``who``'s certificate."""
    status = {"issued": "valid", "revoked": "revoked"}.get(kind, kind)
    return OfficeEvent(
        seq=seq,
        kind=kind,
        number=number or f"2026{office}{who:08d}",
        qualification="senior_secondary",
        subject="数学",
        status=status,
        date="2026-12-01",
        name=f"教师{who}",
        identity_number=identity_of(who),
        person_ref=person(who),
    )


def batch(
    world: NationalWorld,
    name: str,
    events: list[OfficeEvent],
    *,
    signed_by: str | None = None,
    aud: str = REGISTRY_ID,
) -> str:
    """Return office ``name``'s signed batch of ``events``."""
    return sign_feed_batch(
        events,
        office=world.office_id(name),
        registry_id=aud,
        iat=int(time.time()),
        signer=world.signers[signed_by or name],
    )
