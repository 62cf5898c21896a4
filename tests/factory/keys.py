"""Key homes for tests and benchmarks, made the way production makes them: the key
ceremony in a ROOT home (``jiaozi trust init``, ``jiaozi trust onboard``) and the office in
its OWN home (``jiaozi keys init-office``, ``jiaozi keys install``), so that the office's
home holds no root private key.

Use it wherever real keys are needed (the issuer's signing key from the store, the office's
PDF-signing certificate chain); ``tests.factory.World`` is the lighter, in-memory trust
world for everything else.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from credential import QualificationType, TrustList
from keys import (
    KeyStore,
    current_trust_list,
    init_office,
    init_trust,
    install_answer,
    is_initialised,
    onboard,
)

__all__ = [
    "OFFICE",
    "OFFICE_NAME",
    "PASSPHRASE",
    "make_store",
    "relist",
    "root_home_of",
    "root_store_of",
]

OFFICE = "urn:jiaozi:office:11001"
OFFICE_NAME = "北京市教育委员会教师资格认定中心"
PASSPHRASE = b"test passphrase of some length"


def root_home_of(home: Path) -> Path:
    """Return the root (key ceremony) home ``make_store`` uses for the office home ``home``:
    a sibling directory, never inside it."""
    home = Path(home)
    return home.with_name(home.name + ".root")


def root_store_of(home: Path, passphrase: bytes = PASSPHRASE) -> KeyStore:
    """Return the root home's key store of an office home made by ``make_store``."""
    return KeyStore(root_home_of(home), passphrase)


def make_store(
    home: Path,
    *,
    now: int | None = None,
    passphrase: bytes = PASSPHRASE,
    office_id: str = OFFICE,
    name: str = OFFICE_NAME,
    qualification_types: Iterable[QualificationType | str | int] = tuple(QualificationType),
    root_home: Path | None = None,
) -> KeyStore:
    """Return the OFFICE key store at ``home``, onboarded through a key ceremony run in
    ``root_home`` (default ``root_home_of(home)``; initialised there unless it already is):
    the office's own signing key, province 11, office code 001, its document-signing
    certificate, the trust list and root certificate installed; all at ``now``.

    ``now`` (POSIX seconds) defaults to the clock: pyHanko checks a PDF's certificate chain
    against the real time, so stores for signed PDFs are made at (or just before) now.
    """
    at = int(time.time()) if now is None else now
    root = KeyStore(root_home if root_home is not None else root_home_of(home), passphrase)
    if not is_initialised(root.home):
        init_trust(root, now=at)
    store = KeyStore(home, passphrase)
    request = init_office(
        store,
        office_id=office_id,
        name=name,
        province="11",
        office_code="001",
        qualification_types=qualification_types,
        now=at,
    )
    install_answer(store, onboard(root, request, now=at), now=at)
    return store


def relist(
    store: KeyStore,
    *,
    now: int,
    office_id: str = OFFICE,
    name: str = OFFICE_NAME,
    qualification_types: Iterable[QualificationType | str | int] = tuple(QualificationType),
) -> TrustList:
    """Run the ceremony round trip after the office changed its keys in its own home (a
    rotation, a compromise mark): a new request, answered in ``root_home_of(store.home)``,
    installed. Returns the trust list now installed in the office's home."""
    request = init_office(
        store,
        office_id=office_id,
        name=name,
        province="11",
        office_code="001",
        qualification_types=qualification_types,
        now=now,
    )
    root = KeyStore(root_home_of(store.home), store._passphrase)
    install_answer(store, onboard(root, request, now=now), now=now)
    return current_trust_list(store.home)
