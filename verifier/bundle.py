"""Offline bundles: what a verifier holds, carried to a school with no network.

The verifier holds no private key, so a bundle is not signed as a whole: it is a JSON file
carrying the ORIGINAL signed documents exactly as fetched (the root-signed trust list, the
office-signed status lists and restricted-list snapshot and changes), with when they were
fetched. Whoever reads a bundle re-verifies every document against its own pinned root
keys, so a bundle can be copied on any USB stick: altering it only makes it fail.
How old the data is comes from inside the signed documents (``iat``), not from the
envelope. Importing never moves held data backwards (a rollback is refused).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from credential import (
    CredentialError,
    PublicKey,
    RestrictionDocument,
    RollbackError,
    StatusSnapshot,
    TrustList,
    load_restrictions,
    load_status_list,
    rfc3339,
    verify_trust_list,
)

from . import db
from .documents import apply_restrictions_document, save_document, save_state
from .store import Held, RestrictionEntry, RestrictionIndex
from .sync import cleared_invalid

__all__ = [
    "FORMAT",
    "BundleError",
    "VerifiedBundle",
    "export_bundle",
    "import_bundle",
    "read_bundle",
]

FORMAT = "jiaozi-verifier-bundle/1"
MAX_BUNDLE = 256 * 1024 * 1024


class BundleError(Exception):
    """A bundle that cannot be read, or a document in it that does not verify."""


def export_bundle(engine: sa.Engine, now: dt.datetime) -> dict[str, Any]:
    """Return the bundle of everything held (raises BundleError if no trust list is held)."""
    d = db.documents
    with engine.connect() as conn:
        rows = conn.execute(sa.select(d).order_by(d.c.kind, d.c.key)).all()
    trust = [r for r in rows if r.kind == "trust"]
    if not trust:
        raise BundleError("no trust list held: sync first")
    restrictions: dict[str, list[Any]] = {}
    for r in rows:
        if r.kind == "restrictions":
            source = r.key.rpartition("#")[0]
            restrictions.setdefault(source, []).append(r)
    return {
        "format": FORMAT,
        "exported_at": rfc3339(now),
        "note": (
            "Signed documents exactly as fetched; every one is re-verified against the "
            "reader's pinned root keys. Their age is the iat inside each."
        ),
        "trust_list": {
            "token": trust[0].token,
            "fetched_at": rfc3339(trust[0].fetched_at),
            "checked_at": rfc3339(trust[0].checked_at),
        },
        "status_lists": [
            {
                "uri": r.key,
                "token": r.token,
                "fetched_at": rfc3339(r.fetched_at),
                "checked_at": rfc3339(r.checked_at),
            }
            for r in rows
            if r.kind == "status"
        ],
        "restrictions": [
            {
                "source": source,
                "documents": [r.token for r in docs],
                "fetched_at": rfc3339(max(r.fetched_at for r in docs)),
            }
            for source, docs in sorted(restrictions.items())
        ],
    }


@dataclass
class VerifiedBundle:
    """A bundle whose every document verified."""

    exported_at: str
    trust: TrustList
    trust_token: str
    status: dict[str, StatusSnapshot] = field(default_factory=dict)
    status_tokens: dict[str, str] = field(default_factory=dict)
    restrictions: dict[str, list[RestrictionDocument]] = field(default_factory=dict)
    index: RestrictionIndex = field(default_factory=RestrictionIndex)
    restrictions_iat: dict[str, int] = field(default_factory=dict)

    @property
    def restrictions_as_of(self) -> dt.datetime | None:
        if not self.restrictions_iat:
            return None
        return dt.datetime.fromtimestamp(min(self.restrictions_iat.values()), dt.UTC)


def _replay(source: str, docs: Sequence[RestrictionDocument]) -> list[RestrictionEntry]:
    if not docs or docs[0].after is not None:
        raise BundleError(f"restrictions of {source}: the first document is not a snapshot")
    entries = {e.entry_id: e for e in docs[0].entries}
    cursor, iat = docs[0].cursor, docs[0].iat
    for doc in docs[1:]:
        if doc.after is None or doc.after != cursor or doc.iat < iat:
            raise BundleError(f"restrictions of {source}: documents out of order")
        for _seq, op, item in doc.changes:
            if op == "add" and not isinstance(item, str):
                entries[item.entry_id] = item
            elif isinstance(item, str):
                entries.pop(item, None)
        cursor, iat = doc.cursor, doc.iat
    return [
        RestrictionEntry(source, e.entry_id, e.category, e.decision_date, e.bar_until, e.affected)
        for e in entries.values()
    ]


def read_bundle(
    data: bytes | str | Mapping[str, Any],
    roots: Sequence[PublicKey],
    *,
    previous: TrustList | None = None,
) -> VerifiedBundle:
    """Return the bundle with every document verified; raises BundleError.

    The trust list must be signed by one of ``roots`` (and not older than ``previous``),
    each status list and restricted-list document by an office key it names.
    """
    if isinstance(data, bytes | str):
        if len(data) > MAX_BUNDLE:
            raise BundleError("bundle too large")
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise BundleError("bundle is not JSON") from exc
    else:
        doc = data
    if not isinstance(doc, Mapping) or doc.get("format") != FORMAT:
        raise BundleError(f"not a {FORMAT} file")
    try:
        trust_token = doc["trust_list"]["token"]
        trust = verify_trust_list(trust_token, roots, previous=previous)
    except RollbackError as exc:
        raise BundleError(f"trust list: rollback refused ({exc})") from exc
    except (KeyError, TypeError, CredentialError) as exc:
        raise BundleError(f"trust list does not verify against the pinned root: {exc}") from exc
    out = VerifiedBundle(str(doc.get("exported_at", "")), trust, trust_token)
    try:
        for item in doc.get("status_lists", []):
            uri, token = item["uri"], item["token"]
            out.status[uri] = load_status_list(token, trust, expected_uri=uri)
            out.status_tokens[uri] = token
    except (KeyError, TypeError, CredentialError) as exc:
        raise BundleError(f"status list does not verify: {exc}") from exc
    entries: list[RestrictionEntry] = []
    try:
        for item in doc.get("restrictions", []):
            source = item["source"]
            docs = [load_restrictions(t, trust) for t in item["documents"]]
            entries += _replay(source, docs)
            out.restrictions[source] = docs
            out.restrictions_iat[source] = docs[-1].iat
    except (KeyError, TypeError, CredentialError) as exc:
        raise BundleError(f"restricted list does not verify: {exc}") from exc
    out.index = RestrictionIndex.build(entries)
    return out


def import_bundle(
    engine: sa.Engine, bundle: VerifiedBundle, held: Held, now: dt.datetime
) -> list[tuple[str, str]]:
    """Store what in ``bundle`` is not older than what is held; return (what, outcome)."""
    done: list[tuple[str, str]] = []
    with db.writing(engine) as conn:
        if held.trust is not None and held.trust.sequence > bundle.trust.sequence:
            raise BundleError("trust list older than the held one (rollback refused)")
        if held.trust is None or held.trust != bundle.trust:
            save_document(conn, "trust", "", bundle.trust_token, bundle.trust.sequence, now)
            save_state(conn, "trust", last_success=now, last_error=None)
            done.append(("trust", "imported"))
        else:
            done.append(("trust", "unchanged"))
        for uri, snap in bundle.status.items():
            mine = held.status.get(uri)
            if mine is not None and mine.issued_at >= snap.issued_at:
                done.append(("status " + uri, "kept newer or same"))
                continue
            cleared = 0 if mine is None else cleared_invalid(mine.status_list, snap.status_list)
            if cleared:
                # INVALID is final: the same rule as a sync (verifier.sync.cleared_invalid)
                done.append(("status " + uri, f"refused: un-revokes {cleared} held INVALID"))
                continue
            save_document(conn, "status", uri, bundle.status_tokens[uri], snap.issued_at, now)
            done.append(("status " + uri, "imported"))
        for source, docs in bundle.restrictions.items():
            mine_iat = held.restrictions_iat.get(source)
            if mine_iat is not None and mine_iat >= docs[-1].iat:
                done.append(("restrictions " + source, "kept newer or same"))
                continue
            for d in docs:
                apply_restrictions_document(conn, source, d, now)
            done.append(("restrictions " + source, "imported"))
        db.bump_generation(conn)
    return done
