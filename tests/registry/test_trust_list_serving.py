"""The registry serves the trust list the key ceremony exported (issue 12 point 1): the
exported bytes as they are, re-read when the file changes, never going back; and a
verifier can take its trust list from it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from credential import REGISTRY_ID
from registry.app import create_app
from registry.db import make_engine
from registry.settings import RegistrySettings
from registry.trust import TrustFileError, TrustSource
from tests.factory.registry import NationalWorld
from tests.factory.verifier import settings_for
from verifier.app import create_app as create_verifier


def export(world: NationalWorld, path: Path, sequence: int) -> str:
    """Write the list of ``sequence`` as the ceremony does (temp file + rename); return it."""
    world.sequence = sequence
    token = world.trust_token()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(token + "\n", encoding="ascii")
    os.replace(tmp, path)
    return token


@dataclass
class Exported:
    world: NationalWorld
    settings: RegistrySettings
    listed: Path
    root: Path


@pytest.fixture
def exported(tmp_path: Path) -> Exported:
    world = NationalWorld()
    root = tmp_path / "root.jwks.json"
    root.write_text(json.dumps({"keys": [world.root.public_key().to_jwk()]}))
    listed = tmp_path / "trust-list.jwt"
    export(world, listed, 5)
    settings = RegistrySettings(
        env="development",
        database_url=f"sqlite:///{tmp_path / 'registry.db'}",
        trust_list_file=listed,
        root_jwks=root,
    )
    return Exported(world, settings, listed, root)


@pytest.fixture
def served(exported: Exported) -> Iterator[tuple[TrustSource, TestClient]]:
    # every=3600: only a change of the file makes it read again
    source = TrustSource(exported.settings, every=3600)
    engine = make_engine(exported.settings.database_url)
    app = create_app(
        exported.settings,
        engine=engine,
        signer_provider=lambda: exported.world.signers["R"],
        trust_provider=source.current,
        trust_documents=source.documents,
    )
    with TestClient(app) as client:
        yield source, client
    engine.dispose()


def test_the_trust_list_is_read_from_the_ceremonys_export_and_never_goes_back(
    exported: Exported,
) -> None:
    world, listed = exported.world, exported.listed
    source = TrustSource(exported.settings, every=0)
    five = source.documents().trust_list
    assert source.current().sequence == 5 and source.current().office(REGISTRY_ID) is not None
    export(world, listed, 4)  # an older list put back: refused, the held one stays in use
    assert source.current().sequence == 5
    assert source.documents().trust_list == five
    forged = NationalWorld(seed=3)
    export(forged, listed, 9)  # not signed by the pinned root: refused too
    assert source.current().sequence == 5
    six = export(world, listed, 6)
    assert source.current().sequence == 6 and source.documents().trust_list == six


def test_a_registry_without_a_usable_trust_list_does_not_start(exported: Exported) -> None:
    export(NationalWorld(seed=3), exported.listed, 5)  # signed by another root
    with pytest.raises(TrustFileError):
        TrustSource(exported.settings)
    exported.root.unlink()
    with pytest.raises(TrustFileError):
        TrustSource(exported.settings)


def test_the_registry_serves_the_exported_trust_list_and_root_keys_as_they_are(
    exported: Exported, served: tuple[TrustSource, TestClient]
) -> None:
    _source, client = served
    r = client.get("/trust-list.jwt")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/jiaozi-trustlist+jwt"
    assert r.text == exported.listed.read_text(encoding="ascii").strip()
    etag = r.headers["etag"]
    again = client.get("/trust-list.jwt", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    roots = client.get("/root.jwks.json")
    assert roots.status_code == 200 and roots.content == exported.root.read_bytes()

    # The ceremony exports a new list: served at the next request, under another tag.
    six = export(exported.world, exported.listed, 6)
    r = client.get("/trust-list.jwt", headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.text == six and r.headers["etag"] != etag
    # An older one put back is not served.
    export(exported.world, exported.listed, 5)
    assert client.get("/trust-list.jwt").text == six


def test_a_registry_given_no_trust_documents_answers_404_problems(exported: Exported) -> None:
    engine = make_engine(exported.settings.database_url)
    app = create_app(
        exported.settings,
        engine=engine,
        signer_provider=lambda: exported.world.signers["R"],
        trust_provider=lambda: exported.world.trust,
    )
    with TestClient(app) as client:
        for path in ("/trust-list.jwt", "/root.jwks.json"):
            r = client.get(path)
            assert r.status_code == 404
            assert r.headers["content-type"].startswith("application/problem+json")
    engine.dispose()


def test_a_verifier_takes_its_trust_list_from_the_registry(
    exported: Exported, served: tuple[TrustSource, TestClient], tmp_path: Path
) -> None:
    _source, registry = served
    settings = settings_for(
        f"sqlite:///{tmp_path / 'verifier.db'}",
        exported.root,
        trust_list_url="http://testserver/trust-list.jwt",
        issuers=(),
    )
    # The registry app is the verifier's network: every request goes to it.
    verifier = create_verifier(settings, http=registry, background_sync=False)
    syncer = verifier.state.verifier.syncer
    first = syncer.sync_trust().by_what()["trust"]
    assert (first.outcome, first.detail) == ("updated", "seq 5")
    assert verifier.state.verifier.store.current().trust.sequence == 5
    assert syncer.sync_trust().by_what()["trust"].outcome == "not_modified"  # ETag honoured
    export(exported.world, exported.listed, 6)
    assert syncer.sync_trust().by_what()["trust"].detail == "seq 6"
    assert verifier.state.verifier.store.current().trust.sequence == 6
