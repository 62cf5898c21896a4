"""What the verifier holds, read from its database: the trust list, status snapshots and
the restricted list, parsed and verified once, re-read when another replica changes them.

``Store.current()`` returns an immutable ``Held`` view; it re-reads the database at most
every ``reload_interval`` seconds, and only when the ``generation`` counter moved.
Every document is re-verified when loaded (a database row is not trusted more than the
network was).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from credential import (
    CredentialError,
    PublicKey,
    StatusSnapshot,
    TrustList,
    as_utc,
    load_status_list,
    verify_trust_list,
)

from . import db

__all__ = [
    "DatedRestrictions",
    "Held",
    "RestrictionEntry",
    "RestrictionIndex",
    "Store",
]

log = logging.getLogger("jiaozi.verifier.store")


@dataclass(frozen=True, slots=True)
class RestrictionEntry:
    """One entry of the restricted list as the verifier keeps it (no offence details)."""

    source: str
    entry_id: str
    category: str  # lost | revoked
    decision_date: dt.date | None
    bar_until: dt.date | None
    affected: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RestrictionIndex:
    """The restricted list indexed by certificate number (the verifier holds no person
    reference: issue 12 point 4; a person's other certificates are caught through their
    status, which their office revokes)."""

    by_number: dict[str, tuple[RestrictionEntry, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, entries: Iterable[RestrictionEntry]) -> RestrictionIndex:
        by_number: dict[str, list[RestrictionEntry]] = {}
        for e in entries:
            for number in e.affected:
                by_number.setdefault(number, []).append(e)
        return cls({k: tuple(v) for k, v in by_number.items()})

    def category_for(self, *, certificate_number: str) -> str | None:
        """Return ``lost``/``revoked`` if an entry names the certificate, else None (a
        certificate named in an entry stays restricted: its revocation is final)."""
        found = self.by_number.get(certificate_number, ())
        if not found:
            return None
        return "lost" if any(e.category == "lost" for e in found) else "revoked"


class DatedRestrictions:
    """``credential.RestrictionLookup`` over an index on a fixed date (Beijing's calendar,
    ``credential.beijing_date``: decisions are dated there)."""

    __slots__ = ("_index", "_today")

    def __init__(self, index: RestrictionIndex, today: dt.date) -> None:
        self._index = index
        self._today = today

    def category_for(self, *, certificate_number: str, person_ref: str | None) -> str | None:
        # person_ref is always None here: a public verifier holds no person key.
        return self._index.category_for(certificate_number=certificate_number)


@dataclass(frozen=True, slots=True)
class DocumentAge:
    fetched_at: dt.datetime
    checked_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Held:
    """An immutable view of everything held at one generation."""

    generation: int
    trust: TrustList | None
    trust_age: DocumentAge | None
    status: dict[str, StatusSnapshot]
    status_age: dict[str, DocumentAge]
    restrictions: RestrictionIndex
    # Issue time of the newest restricted-list data of each source that has any.
    restrictions_iat: dict[str, int]

    def restrictions_as_of(self, sources: Sequence[str]) -> dt.datetime | None:
        """Return the age of the restricted list: the oldest of the sources' data, or
        None if a source has none (then nobody can say a person is not on it)."""
        if not sources:
            return None
        iats = [self.restrictions_iat.get(s) for s in sources]
        if any(i is None for i in iats):
            return None
        return dt.datetime.fromtimestamp(min(i for i in iats if i is not None), dt.UTC)


EMPTY = Held(0, None, None, {}, {}, RestrictionIndex(), {})


class Store:
    """The held data of one process, kept in step with the database."""

    def __init__(
        self, engine: sa.Engine, roots: Sequence[PublicKey], reload_interval: float = 1.0
    ) -> None:
        self.engine = engine
        self.roots = list(roots)
        self.reload_interval = reload_interval
        self._held = EMPTY
        self._checked = -1.0e18
        self._lock = threading.Lock()

    def current(self) -> Held:
        """Return the held data, re-reading the database if it changed (rate-limited)."""
        if self.refresh_due():
            self.refresh()
        return self._held

    def refresh_due(self) -> bool:
        """Return True when ``current()`` would look at the database now."""
        return time.monotonic() - self._checked >= self.reload_interval

    @property
    def held(self) -> Held:
        """Return the held data as it is, without looking at the database."""
        return self._held

    def refresh(self, *, force: bool = False) -> Held:
        """Re-read the database now if its generation moved (or always, with ``force``)."""
        with self._lock:
            with self.engine.connect() as conn:
                gen = db.generation(conn)
                if force or gen != self._held.generation or self._held is EMPTY:
                    self._held = self._load(conn, gen)
            self._checked = time.monotonic()
            return self._held

    def _load(self, conn: sa.Connection, gen: int) -> Held:
        d = db.documents
        trust: TrustList | None = None
        trust_age = None
        row = conn.execute(
            sa.select(d.c.token, d.c.fetched_at, d.c.checked_at).where(
                d.c.kind == "trust", d.c.key == ""
            )
        ).first()
        if row is not None:
            try:
                trust = verify_trust_list(row.token, self.roots)
                trust_age = DocumentAge(as_utc(row.fetched_at), as_utc(row.checked_at))
            except CredentialError as exc:
                log.error("held trust list does not verify against the pinned root: %s", exc)
        status: dict[str, StatusSnapshot] = {}
        status_age: dict[str, DocumentAge] = {}
        if trust is not None:
            for r in conn.execute(
                sa.select(d.c.key, d.c.token, d.c.fetched_at, d.c.checked_at).where(
                    d.c.kind == "status"
                )
            ):
                try:
                    status[r.key] = load_status_list(r.token, trust, expected_uri=r.key)
                    status_age[r.key] = DocumentAge(as_utc(r.fetched_at), as_utc(r.checked_at))
                except CredentialError as exc:
                    log.warning("held status list %s no longer verifies: %s", r.key, exc)
        numbers: dict[tuple[str, str], list[str]] = {}
        for r in conn.execute(sa.select(db.restriction_numbers)):
            numbers.setdefault((r.source, r.entry_id), []).append(r.certificate_number)
        entries = [
            RestrictionEntry(
                r.source,
                r.entry_id,
                r.category,
                r.decision_date,
                r.bar_until,
                tuple(sorted(numbers.get((r.source, r.entry_id), ()))),
            )
            for r in conn.execute(sa.select(db.restrictions))
        ]
        iats = {
            r.source: int(r.data_iat)
            for r in conn.execute(
                sa.select(db.sync_state.c.source, db.sync_state.c.data_iat).where(
                    db.sync_state.c.data_iat.is_not(None)
                )
            )
            if r.source.startswith("restrictions:")
        }
        return Held(
            gen,
            trust,
            trust_age,
            status,
            status_age,
            RestrictionIndex.build(entries),
            {k.removeprefix("restrictions:"): v for k, v in iats.items()},
        )
