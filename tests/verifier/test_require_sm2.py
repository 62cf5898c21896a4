"""The verifier service with JIAOZI_REQUIRE_SM2 (issue 16): a dual-signed e-licence pasted
into the API is valid, its compact EdDSA form alone is ``not_valid`` (``sm2_required``),
the same in Chinese and English; a QR alone is judged by its one signature."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factory import World, signer
from tests.factory.verifier import Harness, make_harness


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    world = World(sm2_signer=signer("SM2SM3", kid="11001-sm2-1"))
    gen = make_harness(database_url, tmp_path, world, require_sm2=True)
    h = next(gen)
    h.sync()
    yield h
    gen.close()


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from verifier.settings import VerifierSettings

    monkeypatch.setenv("JIAOZI_REQUIRE_SM2", "true")
    assert VerifierSettings().require_sm2 is True
    monkeypatch.delenv("JIAOZI_REQUIRE_SM2")
    assert VerifierSettings().require_sm2 is False


def test_sm2_required_through_the_api(env: Harness) -> None:
    issued = env.world.issue()
    dual = env.world.dual(issued.credential)
    ok = env.verify(credential=dual)
    assert (ok["verdict"], ok["reason"]) == ("valid", None)
    both = env.verify(qr=issued.qr_token, credential=dual)
    assert both["verdict"] == "valid"
    refused = env.verify(credential=issued.credential)
    assert (refused["verdict"], refused["reason"]) == ("not_valid", "sm2_required")
    assert refused.get("certificate") is None  # nothing shown without every signature
    # a QR alone carries one signature (docs/formats.md, "SM2"): judged by it
    assert env.verify(qr=issued.qr_token)["verdict"] == "valid"
