"""The restricted-qualification list as an office publishes it to the verifiers (contract
section 7): made here by the issuer, read here by the verifier.

A document is a compact JWS with ``typ: jiaozi-restrictions+jwt``, signed by an office key
of the trust list, ``iss`` that office, ``iat`` inside the key's window. It is one of:

- a snapshot ``{iss, iat, cursor, entries}``: the entries in force, ``cursor`` the last
  change they include;
- a page of changes ``{iss, iat, after, cursor, changes}``: each change
  ``{seq, op, entry}`` with ``after < seq <= cursor`` in increasing order, ``op`` ``add``
  (the entry) or ``remove`` (of its entry only ``id`` is read); a page with no change has
  ``cursor == after`` and only confirms the list as of ``iat``.

An entry names no person (issue 12 point 4: public verifiers hold no person-level data):
``{id, category, decision_date, bar_until, deciding_office, affected}``, ``category``
``lost`` or ``revoked``, dates ISO 8601 or null, ``affected`` the recording office's
certificate numbers of that person. No name, identity number, person reference, legal
basis or removal reason is ever part of it: a reader refuses an entry carrying a
``person_ref`` (a verifier keeps the signed documents as received, so one would be kept).
The person-level list is the national one, offices and registry only
(``credential._national``). Readers ignore other members they do not use.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import RestrictionListError
from ._jws import encode_jws
from ._keys import Signer
from ._signed import open_office_signed
from ._trust import Office, TrustList

__all__ = [
    "MAX_RESTRICTIONS_TOKEN",
    "RESTRICTIONS_TYP",
    "RESTRICTION_CATEGORIES",
    "RestrictionDocument",
    "RestrictionRecord",
    "load_restrictions",
    "restriction_entry_claim",
    "restrictions_changes_claims",
    "restrictions_snapshot_claims",
    "sign_restrictions",
]

RESTRICTIONS_TYP = "jiaozi-restrictions+jwt"
RESTRICTION_CATEGORIES = ("lost", "revoked")
MAX_RESTRICTIONS_TOKEN = 64 * 1024 * 1024
_CERT_NUMBER = re.compile(r"[0-9]{17}")
_ENTRY_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")


# --- making ------------------------------------------------------------------------------


def restriction_entry_claim(
    *,
    entry_id: int | str,
    category: str,
    decision_date: dt.date,
    bar_until: dt.date | None,
    deciding_office: str,
    affected: Sequence[str],
) -> dict[str, Any]:
    """Return one entry as the documents carry it."""
    return {
        "id": entry_id,
        "category": category,
        "decision_date": decision_date.isoformat(),
        "bar_until": bar_until.isoformat() if bar_until is not None else None,
        "deciding_office": deciding_office,
        "affected": list(affected),
    }


def restrictions_snapshot_claims(
    *, iss: str, iat: int, cursor: int, entries: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Return the claims of a snapshot: ``entries`` in force as of change ``cursor``."""
    return {"iss": iss, "iat": iat, "cursor": cursor, "entries": list(entries)}


def restrictions_changes_claims(
    *, iss: str, iat: int, after: int, changes: Sequence[tuple[int, str, Mapping[str, Any]]]
) -> dict[str, Any]:
    """Return the claims of a page of ``changes`` (``(seq, op, entry)`` in ``seq`` order)
    after change ``after``; its ``cursor`` is the last ``seq``, or ``after`` when empty."""
    items = [{"seq": seq, "op": op, "entry": entry} for seq, op, entry in changes]
    return {
        "iss": iss,
        "iat": iat,
        "after": after,
        "cursor": items[-1]["seq"] if items else after,
        "changes": items,
    }


def sign_restrictions(claims: Mapping[str, Any], signer: Signer) -> str:
    """Return a snapshot's or a page's claims signed by the office as a compact JWS."""
    return encode_jws({"typ": RESTRICTIONS_TYP}, claims, signer)


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestrictionRecord:
    """An entry as read from a checked document (what a verifier may keep of it)."""

    entry_id: str
    category: str
    decision_date: dt.date | None
    bar_until: dt.date | None
    affected: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RestrictionDocument:
    """A checked snapshot (``after`` None) or page of changes of the restricted list."""

    token: str
    office: Office
    iat: int
    cursor: int
    after: int | None
    entries: tuple[RestrictionRecord, ...] = ()  # snapshot
    # page: (seq, "add", the entry) or (seq, "remove", its id)
    changes: tuple[tuple[int, str, RestrictionRecord | str], ...] = ()


def _date(value: Any, name: str) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RestrictionListError(f"{name} is not a date")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise RestrictionListError(f"{name} is not a date") from exc


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RestrictionListError(f"{name} is not a non-negative integer")
    return value


def _entry_id(value: Any) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _ENTRY_ID.fullmatch(text):
        raise RestrictionListError("entry id is malformed")
    return text


def _entry(obj: Any) -> RestrictionRecord:
    if not isinstance(obj, Mapping):
        raise RestrictionListError("entry is not an object")
    if "person_ref" in obj:
        raise RestrictionListError("entry carries a person_ref: verifiers take none")
    category = obj.get("category")
    if category not in RESTRICTION_CATEGORIES:
        raise RestrictionListError("entry category is not lost or revoked")
    affected = obj.get("affected", [])
    if not isinstance(affected, list) or not all(
        isinstance(n, str) and _CERT_NUMBER.fullmatch(n) for n in affected
    ):
        raise RestrictionListError("entry affected is not a list of certificate numbers")
    return RestrictionRecord(
        _entry_id(obj.get("id")),
        category,
        _date(obj.get("decision_date"), "decision_date"),
        _date(obj.get("bar_until"), "bar_until"),
        tuple(dict.fromkeys(affected)),
    )


def _changes(
    changes: Any, after: int, cursor: int
) -> tuple[tuple[int, str, RestrictionRecord | str], ...]:
    if not isinstance(changes, list) or cursor < after:
        raise RestrictionListError("changes document is malformed")
    out: list[tuple[int, str, RestrictionRecord | str]] = []
    last = after
    for change in changes:
        if not isinstance(change, Mapping):
            raise RestrictionListError("change is not an object")
        seq = _int(change.get("seq"), "seq")
        if not last < seq <= cursor:
            raise RestrictionListError("change seq out of order")
        last = seq
        op = change.get("op")
        entry = change.get("entry")
        if op == "add":
            out.append((seq, op, _entry(entry)))
        elif op == "remove":
            ident = entry.get("id") if isinstance(entry, Mapping) else None
            out.append((seq, op, _entry_id(ident)))
        else:
            raise RestrictionListError("change op is not add or remove")
    return tuple(out)


def load_restrictions(token: str, trust: TrustList) -> RestrictionDocument:
    """Return the checked restricted-list document in ``token``.

    Raises RestrictionListError unless it is an office-signed ``jiaozi-restrictions+jwt``
    (an office key of ``trust`` whose window covers ``iat``, ``iss`` that office) holding
    a well-formed snapshot or page of changes. Whether it follows what the reader already
    holds (cursor, ``iat``) is the reader's to check.
    """
    signed = open_office_signed(
        token,
        trust,
        typ=RESTRICTIONS_TYP,
        what="restricted list",
        error=RestrictionListError,
        max_length=MAX_RESTRICTIONS_TOKEN,
        names_issuer=True,
    )
    p, office, iat = signed.claims, signed.office, signed.issued_at
    cursor = _int(p.get("cursor"), "cursor")
    if "entries" in p:
        entries = p["entries"]
        if not isinstance(entries, list):
            raise RestrictionListError("entries is not a list")
        parsed = tuple(_entry(e) for e in entries)
        if len({e.entry_id for e in parsed}) != len(parsed):
            raise RestrictionListError("an entry id appears twice")
        return RestrictionDocument(token, office, iat, cursor, None, entries=parsed)
    after = _int(p.get("after"), "after")
    changes = _changes(p.get("changes"), after, cursor)
    return RestrictionDocument(token, office, iat, cursor, after, changes=changes)
