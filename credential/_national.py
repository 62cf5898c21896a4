"""The national restricted list (issue 12, contract section 7): an office's entry sent to
the registry, the registry's consolidated list sent back to the offices, and the signed
token an office shows the registry to read it. Made and read here; no I/O.

All three are compact JWS signed by a key of the trust list. The registry is listed there
like an office under :data:`REGISTRY_ID` with an empty qualification scope, so the one
check of :func:`credential.open_office_signed` serves for all of them.

- An entry (``typ: jiaozi-national-entry+jwt``), signed by the recording office:
  ``{iss, iat, aud, op, entry}``, ``aud`` the registry's id, ``op`` ``add`` or ``remove``,
  ``entry`` ``{id, person_ref, category, decision_date, bar_until}`` (for ``remove`` only
  ``id`` is read). ``id`` is the office's own entry number; the national reference is
  ``<office id>#<id>`` (:func:`national_ref`).
- The consolidated list (``typ: jiaozi-national-restrictions+jwt``), signed by the
  registry, ``iss`` :data:`REGISTRY_ID`: a snapshot ``{iss, iat, cursor, entries}`` or a
  page ``{iss, iat, after, cursor, changes}`` as the office lists'
  (``credential._restrictions``), each entry ``{ref, office, person_ref, category,
  decision_date, bar_until}``; a ``remove`` change carries the entry too.
- A read request (``typ: jiaozi-registry-auth+jwt``), signed by an office:
  ``{iss, iat, aud}``; the registry accepts it within a few minutes of ``iat``.

No name, identity number or legal basis is ever part of any of them.
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
from ._restrictions import _date as _restriction_date
from ._restrictions import _int
from ._signed import open_office_signed
from ._trust import TrustList

__all__ = [
    "NATIONAL_ENTRY_TYP",
    "NATIONAL_LIST_TYP",
    "REGISTRY_AUTH_TYP",
    "REGISTRY_ID",
    "NationalEntry",
    "NationalList",
    "NationalSubmission",
    "load_national_entry",
    "load_national_list",
    "load_registry_auth",
    "national_entry_claim",
    "national_list_claims",
    "national_ref",
    "sign_national",
]

NATIONAL_ENTRY_TYP = "jiaozi-national-entry+jwt"
NATIONAL_LIST_TYP = "jiaozi-national-restrictions+jwt"
REGISTRY_AUTH_TYP = "jiaozi-registry-auth+jwt"
REGISTRY_ID = "urn:jiaozi:registry"
_MAX_ENTRY = 16 * 1024
_MAX_LIST = 64 * 1024 * 1024
_PERSON_REF = re.compile(r"[0-9a-f]{64}")
_LOCAL_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
_CATEGORIES = ("lost", "revoked")
_OPS = ("add", "remove")


def national_ref(office_id: str, local_id: str | int) -> str:
    """Return the national reference of office ``office_id``'s entry ``local_id``."""
    return f"{office_id}#{local_id}"


@dataclass(frozen=True, slots=True)
class NationalEntry:
    """An entry of the national list (what an office keeps of it)."""

    ref: str
    office: str
    person_ref: str
    category: str
    decision_date: dt.date
    bar_until: dt.date | None

    def to_claim(self) -> dict[str, Any]:
        """Return the entry as the consolidated list carries it."""
        return {
            "ref": self.ref,
            "office": self.office,
            "person_ref": self.person_ref,
            "category": self.category,
            "decision_date": self.decision_date.isoformat(),
            "bar_until": self.bar_until.isoformat() if self.bar_until else None,
        }


@dataclass(frozen=True, slots=True)
class NationalSubmission:
    """A checked entry or removal as an office sent it to the registry."""

    office: str
    op: str
    entry: NationalEntry | None  # None for a removal
    ref: str
    iat: int


@dataclass(frozen=True, slots=True)
class NationalList:
    """A checked snapshot (``after`` None) or page of the consolidated list."""

    iat: int
    cursor: int
    after: int | None
    entries: tuple[NationalEntry, ...] = ()
    changes: tuple[tuple[int, str, NationalEntry], ...] = ()


def national_entry_claim(
    *,
    local_id: int | str,
    person_ref: str,
    category: str,
    decision_date: dt.date,
    bar_until: dt.date | None,
) -> dict[str, Any]:
    """Return an office's entry as it sends it to the registry."""
    return {
        "id": str(local_id),
        "person_ref": person_ref,
        "category": category,
        "decision_date": decision_date.isoformat(),
        "bar_until": bar_until.isoformat() if bar_until else None,
    }


def sign_national(typ: str, claims: Mapping[str, Any], signer: Signer) -> str:
    """Return ``claims`` signed as a compact JWS of ``typ`` (one of this module's)."""
    if typ not in (NATIONAL_ENTRY_TYP, NATIONAL_LIST_TYP, REGISTRY_AUTH_TYP):
        raise ValueError(f"not a national-list typ: {typ}")
    return encode_jws({"typ": typ}, claims, signer)


def _date(value: Any, name: str, *, optional: bool) -> dt.date | None:
    if value is None and not optional:
        raise RestrictionListError(f"{name} is not a date")
    return _restriction_date(value, name)


def _fields(obj: Any, ref: str, office: str) -> NationalEntry:
    if not isinstance(obj, Mapping):
        raise RestrictionListError("entry is not an object")
    person_ref = obj.get("person_ref")
    if not isinstance(person_ref, str) or not _PERSON_REF.fullmatch(person_ref):
        raise RestrictionListError("entry person_ref is not a hex HMAC-SHA256")
    category = obj.get("category")
    if category not in _CATEGORIES:
        raise RestrictionListError("entry category is not lost or revoked")
    decided = _date(obj.get("decision_date"), "decision_date", optional=False)
    assert decided is not None
    until = _date(obj.get("bar_until"), "bar_until", optional=True)
    if category == "revoked" and until is None:
        raise RestrictionListError("a revoked entry has no bar_until")
    return NationalEntry(ref, office, person_ref, category, decided, until)


def load_national_entry(token: str, trust: TrustList, *, registry_id: str) -> NationalSubmission:
    """Return the entry or removal an office signed in ``token``.

    Raises RestrictionListError unless it is a ``jiaozi-national-entry+jwt`` signed by a
    key of ``trust`` whose window covers ``iat``, ``iss`` that key's office (never the
    registry itself), ``aud`` ``registry_id``, and a well-formed ``op`` and ``entry``.
    """
    signed = open_office_signed(
        token,
        trust,
        typ=NATIONAL_ENTRY_TYP,
        what="national entry",
        error=RestrictionListError,
        max_length=_MAX_ENTRY,
        names_issuer=True,
    )
    office = signed.office.id
    if office == registry_id:
        raise RestrictionListError("national entry signed by the registry, not an office")
    p = signed.claims
    if p.get("aud") != registry_id:
        raise RestrictionListError("national entry is not addressed to this registry")
    op = p.get("op")
    if op not in _OPS:
        raise RestrictionListError("national entry op is not add or remove")
    body = p.get("entry")
    local = body.get("id") if isinstance(body, Mapping) else None
    if not isinstance(local, str) or not _LOCAL_ID.fullmatch(local):
        raise RestrictionListError("national entry id is malformed")
    ref = national_ref(office, local)
    entry = _fields(body, ref, office) if op == "add" else None
    return NationalSubmission(office, op, entry, ref, signed.issued_at)


def load_registry_auth(
    token: str, trust: TrustList, *, registry_id: str, now: int, leeway: int = 300
) -> str:
    """Return the id of the office that signed the read request ``token``.

    Raises RestrictionListError unless it is a ``jiaozi-registry-auth+jwt`` signed by an
    office key of ``trust`` (``iss`` that office, not the registry), ``aud``
    ``registry_id``, ``iat`` within ``leeway`` seconds of ``now``.
    """
    signed = open_office_signed(
        token,
        trust,
        typ=REGISTRY_AUTH_TYP,
        what="registry request",
        error=RestrictionListError,
        max_length=_MAX_ENTRY,
        names_issuer=True,
    )
    if signed.office.id == registry_id or signed.claims.get("aud") != registry_id:
        raise RestrictionListError("registry request is not an office's to this registry")
    if abs(now - signed.issued_at) > leeway:
        raise RestrictionListError("registry request is stale or from the future")
    return signed.office.id


def _list_entry(obj: Any) -> NationalEntry:
    if not isinstance(obj, Mapping):
        raise RestrictionListError("entry is not an object")
    ref, office = obj.get("ref"), obj.get("office")
    if not isinstance(ref, str) or not isinstance(office, str) or not ref.startswith(office):
        raise RestrictionListError("entry ref or office is malformed")
    return _fields(obj, ref, office)


def load_national_list(token: str, trust: TrustList, *, registry_id: str) -> NationalList:
    """Return the checked consolidated list (snapshot or page) in ``token``.

    Raises RestrictionListError unless the registry (``registry_id`` in ``trust``) signed
    a well-formed ``jiaozi-national-restrictions+jwt``. Whether it follows the reader's
    cursor is the reader's to check.
    """
    signed = open_office_signed(
        token,
        trust,
        typ=NATIONAL_LIST_TYP,
        what="national list",
        error=RestrictionListError,
        max_length=_MAX_LIST,
        names_issuer=True,
    )
    if signed.office.id != registry_id:
        raise RestrictionListError("national list not signed by the registry")
    p = signed.claims
    cursor = _int(p.get("cursor"), "cursor")
    if "entries" in p:
        items = p["entries"]
        if not isinstance(items, list):
            raise RestrictionListError("entries is not a list")
        entries = tuple(_list_entry(e) for e in items)
        return NationalList(signed.issued_at, cursor, None, entries=entries)
    after = _int(p.get("after"), "after")
    raw = p.get("changes")
    if not isinstance(raw, list) or cursor < after:
        raise RestrictionListError("changes document is malformed")
    out: list[tuple[int, str, NationalEntry]] = []
    last = after
    for change in raw:
        if not isinstance(change, Mapping) or change.get("op") not in _OPS:
            raise RestrictionListError("change is malformed")
        seq = _int(change.get("seq"), "seq")
        if seq != last + 1:
            raise RestrictionListError("change seq is not the next one (gap)")
        last = seq
        out.append((seq, str(change["op"]), _list_entry(change.get("entry"))))
    if last != cursor:
        raise RestrictionListError("changes do not reach the cursor")
    return NationalList(signed.issued_at, cursor, after, changes=tuple(out))


def national_list_claims(
    *,
    iss: str,
    iat: int,
    cursor: int,
    after: int | None,
    entries: Sequence[NationalEntry] = (),
    changes: Sequence[tuple[int, str, NationalEntry]] = (),
) -> dict[str, Any]:
    """Return a snapshot's claims (``after`` None) or a page's."""
    if after is None:
        return {
            "iss": iss,
            "iat": iat,
            "cursor": cursor,
            "entries": [e.to_claim() for e in entries],
        }
    return {
        "iss": iss,
        "iat": iat,
        "after": after,
        "cursor": cursor,
        "changes": [{"seq": s, "op": op, "entry": e.to_claim()} for s, op, e in changes],
    }
