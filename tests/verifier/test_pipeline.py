"""Pipeline rules that are judgement calls, pinned: what old status data may still say."""

from __future__ import annotations

from credential import StatusValue
from tests.factory import T0, World


def stale(world: World):  # a list made long ago with a one-minute ttl
    snap = world.snapshot(iat=T0 - 100_000, ttl=60)
    return {snap.uri: snap}


def test_revoked_on_a_stale_list_is_still_revoked() -> None:
    # INVALID is final (contract section 5): no newer list can make it valid again.
    world = World()
    token = world.issue(idx=7).qr_token
    world.status.set(7, StatusValue.INVALID)
    result = world.verify(token, status=stale(world))
    assert (result.verdict, result.reason) == ("not_valid", "revoked")
    assert result.status_as_of is not None and int(result.status_as_of.timestamp()) == T0 - 100_000


def test_suspended_on_a_stale_list_cannot_be_determined() -> None:
    # a suspension may have been lifted since: only fresh data can say
    world = World()
    token = world.issue(idx=7).qr_token
    world.status.set(7, StatusValue.SUSPENDED)
    result = world.verify(token, status=stale(world))
    assert (result.verdict, result.reason) == ("cannot_determine", "status_stale")


def test_valid_on_a_stale_list_cannot_be_determined() -> None:
    world = World()
    result = world.verify(world.issue(idx=7).qr_token, status=stale(world))
    assert (result.verdict, result.reason) == ("cannot_determine", "status_stale")
    assert "certificate" in result.to_json()  # the signature is good, so the fields are shown
