"""The national trust list (contract section 6): which office may issue what, with which keys.

The national root signs it as a JWS with ``typ: jiaozi-trustlist+jwt``. Verifiers pin only
the root public key(s). Each list has a sequence number; a verifier refuses a list older
than one it has already accepted, so an attacker cannot replay a list from before a key was
marked compromised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._errors import CredentialError, MalformedError, RollbackError, TrustListError
from ._jws import encode_jws, parse_jws
from ._keys import PublicKey, Signer
from ._kinds import QualificationType

__all__ = [
    "TRUST_LIST_TYP",
    "Office",
    "TrustList",
    "sign_trust_list",
    "verify_trust_list",
]

TRUST_LIST_TYP = "jiaozi-trustlist+jwt"
MAX_TRUST_LIST_LENGTH = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Office:
    """A certification office: identity, scope and keys."""

    id: str
    name: str
    province: str
    office_code: str
    qualification_types: frozenset[QualificationType]
    keys: tuple[PublicKey, ...] = ()

    def to_claim(self) -> dict[str, Any]:
        """Return the office as it appears in the trust list."""
        return {
            "id": self.id,
            "name": self.name,
            "province": self.province,
            "office_code": self.office_code,
            "qualification_types": sorted(q.slug for q in self.qualification_types),
            "keys": [k.to_jwk() for k in self.keys],
        }

    @classmethod
    def from_claim(cls, obj: Any) -> Office:
        """Return the office in a trust-list entry; raises TrustListError if misshapen."""
        if not isinstance(obj, Mapping):
            raise TrustListError("office entry is not an object")
        try:
            strs = {k: obj[k] for k in ("id", "name", "province", "office_code")}
        except KeyError as exc:
            raise TrustListError(f"office entry lacks {exc.args[0]}") from exc
        if not all(isinstance(v, str) and v for v in strs.values()):
            raise TrustListError("office id, name, province and office_code must be strings")
        types = obj.get("qualification_types")
        keys = obj.get("keys")
        if not isinstance(types, list) or not isinstance(keys, list):
            raise TrustListError("office qualification_types and keys must be arrays")
        try:
            scope = frozenset(QualificationType.parse(t) for t in types)
            pubkeys = tuple(PublicKey.from_jwk(k) for k in keys)
        except CredentialError as exc:
            raise TrustListError(f"office {strs['id']}: {exc}") from exc
        return cls(
            id=strs["id"],
            name=strs["name"],
            province=strs["province"],
            office_code=strs["office_code"],
            qualification_types=scope,
            keys=pubkeys,
        )


@dataclass(frozen=True, slots=True)
class TrustList:
    """A verified (or about to be signed) trust list; look keys up with ``find_key``."""

    sequence: int
    issued_at: int
    offices: tuple[Office, ...]
    issuer: str = "urn:jiaozi:root"
    _by_kid: dict[str, tuple[Office, PublicKey]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _by_id: dict[str, Office] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        for office in self.offices:
            if office.id in self._by_id:
                raise TrustListError(f"office {office.id} listed twice")
            self._by_id[office.id] = office
            for key in office.keys:
                if key.kid in self._by_kid:
                    raise TrustListError(f"kid {key.kid} listed twice")
                self._by_kid[key.kid] = (office, key)

    def find_key(self, kid: str) -> tuple[Office, PublicKey] | None:
        """Return the office and key with this ``kid``, or None."""
        return self._by_kid.get(kid)

    def office(self, office_id: str) -> Office | None:
        """Return the office with this id, or None."""
        return self._by_id.get(office_id)

    def to_claims(self) -> dict[str, Any]:
        """Return the JWT claims of this trust list."""
        return {
            "iss": self.issuer,
            "iat": self.issued_at,
            "seq": self.sequence,
            "offices": [o.to_claim() for o in self.offices],
        }

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> TrustList:
        """Return the trust list in ``claims``; raises TrustListError if misshapen."""
        seq, iat, offices = claims.get("seq"), claims.get("iat"), claims.get("offices")
        iss = claims.get("iss")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise TrustListError("trust list seq is not a non-negative integer")
        if not isinstance(iat, int) or isinstance(iat, bool):
            raise TrustListError("trust list iat is not an integer")
        if not isinstance(offices, list) or not isinstance(iss, str):
            raise TrustListError("trust list offices/iss missing")
        return cls(seq, iat, tuple(Office.from_claim(o) for o in offices), iss)

    def replace_office(self, office: Office, *, issued_at: int) -> TrustList:
        """Return the next list (sequence + 1) with ``office`` added or replaced."""
        others = tuple(o for o in self.offices if o.id != office.id)
        return TrustList(self.sequence + 1, issued_at, (*others, office), self.issuer)


def sign_trust_list(trust_list: TrustList, root: Signer) -> str:
    """Return the trust list signed by the national root as a compact JWS."""
    return encode_jws({"typ": TRUST_LIST_TYP}, trust_list.to_claims(), root)


def verify_trust_list(
    token: str,
    roots: Iterable[PublicKey],
    *,
    previous: TrustList | None = None,
) -> TrustList:
    """Return the trust list in ``token`` after checking it against the pinned roots.

    Raises TrustListError when the token is malformed, not a trust list, or not signed by
    a pinned root key (within that key's window), and RollbackError when its sequence is
    lower than ``previous``'s, or equal with different content.
    """
    try:
        parsed = parse_jws(token, max_length=MAX_TRUST_LIST_LENGTH)
    except MalformedError as exc:
        raise TrustListError(f"trust list is not a valid JWS: {exc}") from exc
    if parsed.typ != TRUST_LIST_TYP:
        raise TrustListError("not a trust list (typ)")
    root_keys: Sequence[PublicKey] = [k for k in roots if k.kid == parsed.kid]
    if not root_keys or not parsed.verify(root_keys[0]):
        raise TrustListError("trust list is not signed by a pinned root key")
    trust_list = TrustList.from_claims(parsed.payload)
    if root_keys[0].covers(trust_list.issued_at) is not None:
        raise TrustListError("trust list signed outside the root key's window")
    if previous is not None:
        if trust_list.sequence < previous.sequence:
            raise RollbackError(
                f"trust list seq {trust_list.sequence} is older than {previous.sequence}"
            )
        if trust_list.sequence == previous.sequence and trust_list != previous:
            raise RollbackError("a different trust list with the same seq")
    return trust_list
