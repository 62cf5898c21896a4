"""One key store set-up for tests and benchmarks: the national trust initialised and the
test office added, as ``jiaozi trust init`` and ``jiaozi trust add-office`` would leave it.

Use it wherever real keys are needed (the issuer's signing key from the store, the office's
PDF-signing certificate chain); ``tests.factory.World`` is the lighter, in-memory trust
world for everything else.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from credential import QualificationType
from keys import KeyStore, add_office, init_trust

__all__ = ["OFFICE", "OFFICE_NAME", "PASSPHRASE", "make_store"]

OFFICE = "urn:jiaozi:office:11001"
OFFICE_NAME = "北京市教育委员会教师资格认定中心"
PASSPHRASE = b"test passphrase of some length"


def make_store(
    home: Path,
    *,
    now: int | None = None,
    passphrase: bytes = PASSPHRASE,
    office_id: str = OFFICE,
    name: str = OFFICE_NAME,
    qualification_types: Iterable[QualificationType | str | int] = tuple(QualificationType),
) -> KeyStore:
    """Return the key store at ``home``, its trust initialised and ``office_id`` added (a
    signing key of its own, province 11, office code 001), both at ``now``.

    ``now`` (POSIX seconds) defaults to the clock: pyHanko checks a PDF's certificate chain
    against the real time, so stores for signed PDFs are made at (or just before) now.
    """
    at = int(time.time()) if now is None else now
    store = KeyStore(home, passphrase)
    init_trust(store, now=at)
    add_office(
        store,
        office_id=office_id,
        name=name,
        province="11",
        office_code="001",
        qualification_types=qualification_types,
        now=at,
    )
    return store
