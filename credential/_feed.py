"""The national feed (issue 12 point 7): an office's batch of certificate events sent to
the registry, and the hash chain a feed consumer checks. Made and read here; no I/O.

- A batch (``typ: jiaozi-feed-batch+jwt``), signed by the office: ``{iss, iat, aud,
  after, events}``; ``aud`` the registry's id; ``after`` the office's event number sent
  last before this batch (0 at first); ``events`` a list of at most
  :data:`MAX_BATCH_EVENTS` objects ``{seq, kind, number, qualification, subject, status,
  date, name, identity_number, person_ref}``: ``seq`` the office's own event number,
  increasing (the office's event feed, ``issuer.audit.events``), ``kind`` one of
  :data:`FEED_KINDS`. ``number``, ``name`` and ``identity_number`` are empty for a
  restricted-list event (``restricted``, ``unrestricted``), which names a person by
  ``person_ref`` only.
- The chain: the registry gives each national event ``{seq, prev, office, office_seq,
  kind, number, qualification, subject, status, date, name, identity_seal}`` and its
  ``hash`` = hex SHA-256 of ``prev`` and the canonical JSON of the rest
  (:func:`feed_event_hash`). ``identity_seal`` = hex SHA-256 of ``salt:identity number``
  with a random per-event salt: a client without the identity flag checks the chain and
  learns nothing of the number; one with it gets ``{number, salt}`` and checks the seal.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import CredentialError
from ._jws import encode_jws
from ._keys import Signer
from ._signed import open_office_signed
from ._trust import TrustList

__all__ = [
    "FEED_BATCH_TYP",
    "FEED_GENESIS",
    "FEED_KINDS",
    "MAX_BATCH_EVENTS",
    "FeedBatch",
    "FeedError",
    "OfficeEvent",
    "feed_event_hash",
    "identity_seal",
    "load_feed_batch",
    "sign_feed_batch",
]

FEED_BATCH_TYP = "jiaozi-feed-batch+jwt"
FEED_KINDS = frozenset(
    {"issued", "suspended", "reinstated", "revoked", "restricted", "unrestricted", "reissued"}
    | {"replaced", "corrected"}
)
FEED_GENESIS = "0" * 64
MAX_BATCH_EVENTS = 200
_MAX_BATCH = 256 * 1024
_TEXT = re.compile(r"[^\x00-\x1f\x7f]{0,200}")
_IDENTITY = re.compile(r"[0-9A-Za-z()\-]{0,40}")
_PERSON_REF = re.compile(r"[0-9a-f]{64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TEXT_FIELDS = ("number", "qualification", "subject", "status", "name")


class FeedError(CredentialError):
    """A feed batch or chain that does not hold."""


@dataclass(frozen=True, slots=True)
class OfficeEvent:
    """One office event as the registry receives it (the identity number in clear)."""

    seq: int
    kind: str
    number: str
    qualification: str
    subject: str
    status: str
    date: str
    name: str
    identity_number: str
    person_ref: str

    def claim(self) -> dict[str, Any]:
        """Return the event as an office puts it in a batch."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "number": self.number,
            "qualification": self.qualification,
            "subject": self.subject,
            "status": self.status,
            "date": self.date,
            "name": self.name,
            "identity_number": self.identity_number,
            "person_ref": self.person_ref,
        }


@dataclass(frozen=True, slots=True)
class FeedBatch:
    """A batch that passed :func:`load_feed_batch`."""

    office: str
    after: int
    events: tuple[OfficeEvent, ...]


def sign_feed_batch(
    events: Sequence[OfficeEvent],
    *,
    office: str,
    registry_id: str,
    iat: int,
    signer: Signer,
    after: int | None = None,
) -> str:
    """Return ``events`` signed by ``signer`` as the office ``office``'s batch; ``after``
    defaults to the first event's ``seq`` minus one."""
    claims = {
        "iss": office,
        "iat": iat,
        "aud": registry_id,
        "after": events[0].seq - 1 if after is None else after,
        "events": [e.claim() for e in events],
    }
    return encode_jws({"typ": FEED_BATCH_TYP}, claims, signer)


def _event(obj: Any) -> OfficeEvent:
    if not isinstance(obj, Mapping):
        raise FeedError("feed event is not an object")
    seq = obj.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq < 2**62:
        raise FeedError("feed event seq is not a positive integer")
    if obj.get("kind") not in FEED_KINDS:
        raise FeedError("feed event kind is not known")
    for name in _TEXT_FIELDS:
        if not isinstance(obj.get(name), str) or not _TEXT.fullmatch(obj[name]):
            raise FeedError(f"feed event {name} is not a short text")
    if not isinstance(obj.get("date"), str) or not _DATE.fullmatch(obj["date"]):
        raise FeedError("feed event date is not YYYY-MM-DD")
    ident = obj.get("identity_number")
    if not isinstance(ident, str) or not _IDENTITY.fullmatch(ident):
        raise FeedError("feed event identity_number is not an identity number")
    ref = obj.get("person_ref")
    if not isinstance(ref, str) or not _PERSON_REF.fullmatch(ref):
        raise FeedError("feed event person_ref is not a hex HMAC-SHA256")
    return OfficeEvent(
        seq, obj["kind"], obj["number"], obj["qualification"], obj["subject"],
        obj["status"], obj["date"], obj["name"], ident, ref,
    )  # fmt: skip


def load_feed_batch(token: str, trust: TrustList, *, registry_id: str) -> FeedBatch:
    """Return the batch an office signed in ``token``.

    Raises FeedError unless it is a ``jiaozi-feed-batch+jwt`` signed by an office key of
    ``trust`` (``iss`` that office, never the registry), ``aud`` ``registry_id``, with 1 to
    :data:`MAX_BATCH_EVENTS` well-formed events whose ``seq`` increase from after
    ``after``.
    """
    signed = open_office_signed(
        token, trust, typ=FEED_BATCH_TYP, what="feed batch", error=FeedError,
        max_length=_MAX_BATCH, names_issuer=True,
    )  # fmt: skip
    if signed.office.id == registry_id or signed.claims.get("aud") != registry_id:
        raise FeedError("feed batch is not an office's to this registry")
    raw = signed.claims.get("events")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_BATCH_EVENTS:
        raise FeedError("feed batch events is not a list of 1 to 200 events")
    after = signed.claims.get("after")
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**62:
        raise FeedError("feed batch after is not a non-negative integer")
    events = tuple(_event(e) for e in raw)
    if events[0].seq <= after or any(b.seq <= a.seq for a, b in itertools.pairwise(events)):
        raise FeedError("feed batch events do not increase from after")
    return FeedBatch(signed.office.id, after, events)


def identity_seal(number: str, salt: str) -> str:
    """Return the hex SHA-256 seal of an identity number under its event's salt."""
    return hashlib.sha256(f"{salt}:{number}".encode()).hexdigest()


def feed_event_hash(event: Mapping[str, Any]) -> str:
    """Return the chain hash of a national feed event: hex SHA-256 of its ``prev`` and the
    canonical JSON (sorted keys, no spaces) of its chained fields (all but ``hash``,
    ``prev`` and ``identity``, which a client with the flag gets beside the chain)."""
    body = {k: v for k, v in event.items() if k not in ("hash", "prev", "identity")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{event['prev']}\n{text}".encode()).hexdigest()
