"""The demo's key ceremony: four homes, as on four machines (docs/key-ceremony.md).

- the ROOT home (``var/demo/root``) makes the national root and signs the trust list;
- the REGISTRY's home makes the registry's own signing key; the ceremony lists its public
  JWKS under ``urn:jiaozi:registry`` (province 00, no qualification type);
- each OFFICE, in its own home, makes its keys and an onboarding request; the ceremony
  answers it; the office installs the answer;
- the ceremony exports the final list (``published/``), which the registry and both
  offices take into their ``trust/`` (the office onboarded first holds an older list
  until then) and whose root keys the verifier pins.

No private key crosses between homes; only JWKS, CSRs and signed public documents do.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass

from credential import REGISTRY_ID, QualificationType
from keys import (
    ROOT_JWKS_FILE,
    TRUST_DIR,
    TRUST_LIST_FILE,
    KeyStore,
    add_office,
    export_trust,
    init_office,
    init_trust,
    install_answer,
    onboard,
)

from .layout import OFFICES, REGISTRY_NAME, Layout, OfficeSpec

__all__ = ["Ceremony", "run_ceremony"]


@dataclass(frozen=True)
class Ceremony:
    """What the ceremony made: the kid of each owner's signing key, and the list's seq."""

    root_kid: str
    registry_kid: str
    office_kids: dict[str, str]  # office id -> kid
    sequence: int


def run_ceremony(
    layout: Layout,
    passphrases: dict[str, str],
    *,
    now: int,
    offices: Sequence[OfficeSpec] = OFFICES,
) -> Ceremony:
    """Make the root, the registry's and the ``offices``' keys (the demo's two unless
    told: ``make stack`` onboards one) in their own homes, list them in the trust list
    and hand every home and the verifier the final list; return what was made.

    ``passphrases`` maps each home's directory name (``root``, ``registry``,
    ``office-11001``, ...) to its key store passphrase. Raises the ``keys`` package's
    errors (KeysError) when a step is refused.
    """
    root = KeyStore(layout.root, passphrases["root"].encode())
    init_trust(root, now=now - 120)
    root_kid = root.active_key("root", now=now).kid

    registry = KeyStore(layout.registry, passphrases["registry"].encode())
    registry_kid = registry.create_key(REGISTRY_ID, now=now - 90).kid
    add_office(
        root, office_id=REGISTRY_ID, name=REGISTRY_NAME, province="00", office_code="000",
        qualification_types=[], now=now - 90, jwks=registry.jwks(REGISTRY_ID),
        generate_key=False,
    )  # fmt: skip

    office_kids: dict[str, str] = {}
    for spec in offices:
        home = layout.office(spec)
        store = KeyStore(home, passphrases[home.name].encode())
        request = init_office(
            store, office_id=spec.office_id, name=spec.name, province=spec.province,
            office_code=spec.office_code, qualification_types=list(QualificationType),
            now=now - 60,
        )  # fmt: skip
        install_answer(store, onboard(root, request, now=now - 60), now=now - 60)
        office_kids[spec.office_id] = store.active_key(spec.office_id, now=now).kid

    final = export_trust(layout.root, layout.published)  # `jiaozi trust export --out`
    (layout.registry / TRUST_DIR).mkdir(exist_ok=True)
    for home in (layout.registry, *(layout.office(s) for s in offices)):
        for name in (TRUST_LIST_FILE, ROOT_JWKS_FILE):
            shutil.copyfile(layout.published / name, home / TRUST_DIR / name)
    shutil.copyfile(layout.published / ROOT_JWKS_FILE, layout.verifier / ROOT_JWKS_FILE)
    return Ceremony(root_kid, registry_kid, office_kids, final.sequence)
