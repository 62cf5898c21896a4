"""Trust lists: signed by the pinned root, scoped, windowed, and never rolled back."""

from __future__ import annotations

import pytest

from credential import RollbackError, TrustListError, sign_trust_list, verify_trust_list
from tests.factory import T0, World, signer


def test_trust_list_round_trips_through_its_signature() -> None:
    world = World()
    trust = verify_trust_list(world.trust_token(), [world.root.public_key()])
    assert trust == world.trust
    office, key = trust.find_key(world.office_signer.kid)  # type: ignore[misc]
    assert office.id == world.office_id and key.kid == "11001-1"


def test_unpinned_root_refused() -> None:
    world = World()
    with pytest.raises(TrustListError, match="pinned root"):
        verify_trust_list(world.trust_token(), [signer(kid="root-1").public_key()])


def test_office_key_cannot_sign_a_trust_list() -> None:
    world = World()
    token = sign_trust_list(world.trust, world.office_signer)
    with pytest.raises(TrustListError):
        verify_trust_list(token, [world.root.public_key()])


def test_older_sequence_is_a_rollback() -> None:
    world = World()
    old = world.trust
    new = old.replace_office(world.office, issued_at=T0)
    token_old = sign_trust_list(old, world.root)
    with pytest.raises(RollbackError):
        verify_trust_list(token_old, [world.root.public_key()], previous=new)


def test_same_sequence_different_content_is_a_rollback() -> None:
    world = World()
    first = world.trust
    other = World(root=world.root).trust  # same seq, different office key
    with pytest.raises(RollbackError):
        verify_trust_list(
            sign_trust_list(other, world.root), [world.root.public_key()], previous=first
        )


def test_root_key_outside_its_window_refused() -> None:
    world = World()
    root_pub = world.root.public_key(exp=T0 - 10 * 86400)
    with pytest.raises(TrustListError, match="window"):
        verify_trust_list(world.trust_token(), [root_pub])
