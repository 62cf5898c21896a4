"""A national trust world for registry tests: three offices (A, B, C) and the registry,
each with its own key, and the documents they sign (entries, removals, read requests)."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from credential import (
    NATIONAL_ENTRY_TYP,
    REGISTRY_AUTH_TYP,
    REGISTRY_ID,
    KeySigner,
    Office,
    QualificationType,
    TrustList,
    national_entry_claim,
    sign_national,
    sign_trust_list,
)
from tests.factory import signer

__all__ = ["OFFICES", "NationalWorld", "RegistryHarness", "person"]

OFFICES = {
    "A": ("urn:jiaozi:office:11001", "11", "001"),
    "B": ("urn:jiaozi:office:31001", "31", "001"),
    "C": ("urn:jiaozi:office:44001", "44", "001"),
}


def person(i: int) -> str:
    """Return a person reference (hex HMAC-SHA256 shape) for person ``i``."""
    return hashlib.sha256(f"person-{i}".encode()).hexdigest()


@dataclass
class RegistryHarness:
    """A registry app over one database, with a client, in ``world``."""

    world: NationalWorld
    engine: sa.Engine
    client: TestClient


@dataclass
class NationalWorld:
    """Offices A, B, C (every qualification type) and the registry (empty scope)."""

    seed: int = 900  # another seed: the same kids, other keys (an outsider's world)
    sequence: int = 1
    signers: dict[str, KeySigner] = field(init=False)

    root: KeySigner = field(init=False)
    issued_at: int = field(init=False)

    def __post_init__(self) -> None:
        self.signers = {
            name: signer(kid=f"{name.lower()}-1", seed=self.seed + i)
            for i, name in enumerate(("A", "B", "C", "R"))
        }
        self.root = signer(kid="root-1", seed=self.seed + 10)
        self.issued_at = int(time.time()) - 3600

    def office(self, name: str) -> Office:
        if name == "R":
            return Office(
                REGISTRY_ID, "全国教师资格限制库登记中心", "00", "000", frozenset(),
                (self.signers["R"].public_key(),),
            )  # fmt: skip
        oid, province, code = OFFICES[name]
        return Office(
            oid, f"office {name}", province, code, frozenset(QualificationType),
            (self.signers[name].public_key(),),
        )  # fmt: skip

    def office_id(self, name: str) -> str:
        return self.office(name).id

    @property
    def trust(self) -> TrustList:
        offices = tuple(self.office(n) for n in ("A", "B", "C", "R"))
        return TrustList(sequence=self.sequence, issued_at=self.issued_at, offices=offices)

    def trust_token(self) -> str:
        """Return the trust list signed by the root (what the ceremony exports)."""
        return sign_trust_list(self.trust, self.root)

    def entry(
        self,
        name: str,
        local_id: int | str,
        who: int = 1,
        *,
        op: str = "add",
        iss: str | None = None,
        aud: str = REGISTRY_ID,
        category: str = "revoked",
        signed_by: str | None = None,
        iat: int | None = None,
        person_ref: str | None = None,
    ) -> str:
        """Return office ``name``'s signed entry (or removal) ``local_id`` of person ``who``."""
        decided = dt.date(2026, 11, 1)
        claim = national_entry_claim(
            local_id=local_id,
            person_ref=person_ref or person(who),
            category=category,
            decision_date=decided,
            bar_until=dt.date(2031, 11, 1) if category == "revoked" else None,
        )
        claims = {
            "iss": iss or self.office_id(name),
            "iat": iat if iat is not None else int(time.time()),
            "aud": aud,
            "op": op,
            "entry": claim if op == "add" else {"id": str(local_id)},
        }
        return sign_national(NATIONAL_ENTRY_TYP, claims, self.signers[signed_by or name])

    def auth(self, name: str, *, iat: int | None = None, aud: str = REGISTRY_ID) -> str:
        """Return office ``name``'s signed read request."""
        claims = {
            "iss": self.office_id(name),
            "iat": iat if iat is not None else int(time.time()),
            "aud": aud,
        }
        return sign_national(REGISTRY_AUTH_TYP, claims, self.signers[name])


@contextmanager
def registry_beside(
    env: Any, tmp_path: Path
) -> Iterator[tuple[NationalWorld, TestClient, sa.Engine, TrustList]]:
    """Run a registry app in process beside the issuer harness ``env``: a trust list of
    ``env``'s office, office B and the registry R (``NationalWorld``); yield (the world,
    a client of the registry, its engine, the trust list)."""
    from registry.app import create_app as registry_app
    from registry.db import make_engine as registry_engine
    from registry.settings import RegistrySettings

    world = NationalWorld()
    s = env.settings
    here = Office(
        s.office_id, s.office_name, s.province, s.office_code, frozenset(QualificationType),
        (env.signer.public_key(),),
    )  # fmt: skip
    trust = TrustList(1, world.issued_at, (here, world.office("B"), world.office("R")))
    settings = RegistrySettings(
        env="development", database_url=f"sqlite:///{tmp_path / 'registry.db'}"
    )
    engine = registry_engine(settings.database_url)
    app = registry_app(
        settings, engine=engine, signer_provider=lambda: world.signers["R"],
        trust_provider=lambda: trust,
    )  # fmt: skip
    try:
        with TestClient(app) as client:
            yield world, client, engine, trust
    finally:
        engine.dispose()
