"""The one check of a document an office signs for the verifiers (status lists, the
restricted list): a compact JWS of the expected ``typ``, signed by an office key of the
trust list, whose window covers the document's ``iat``, and, for a format that names its
signer, whose ``iss`` is that office.

It fails closed: anything it cannot establish raises the caller's error class, so a
document is used only after every part of the check has passed. It does not read the
clock: how old a document may be is the reader's policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import CredentialError, MalformedError
from ._jws import ParsedJWS, parse_jws
from ._keys import PublicKey
from ._trust import Office, TrustList

__all__ = ["OfficeSigned", "open_office_signed"]


@dataclass(frozen=True, slots=True)
class OfficeSigned:
    """A document that passed :func:`open_office_signed`: its signer and its issue time."""

    jws: ParsedJWS
    office: Office
    key: PublicKey
    issued_at: int

    @property
    def claims(self) -> Mapping[str, Any]:
        """Return the signed payload."""
        return self.jws.payload


def open_office_signed(
    token: str,
    trust: TrustList,
    *,
    typ: str,
    what: str,
    error: type[CredentialError],
    max_length: int,
    names_issuer: bool,
) -> OfficeSigned:
    """Return the office-signed document in ``token`` after checking, in this order: it is
    a compact JWS of at most ``max_length`` characters; its ``typ`` is ``typ``; its ``kid``
    is an office key of ``trust`` and the signature verifies under it; with
    ``names_issuer``, its ``iss`` is that office's id; its ``iat`` is a non-negative
    integer inside the key's window.

    Raises ``error`` (whose messages begin with ``what``, e.g. "status list") on the first
    check that fails.
    """
    try:
        parsed = parse_jws(token, max_length=max_length)
    except MalformedError as exc:
        raise error(f"{what} is not a valid JWS: {exc}") from exc
    if parsed.typ != typ:
        raise error(f"not a {what} (typ)")
    found = trust.find_key(parsed.kid)
    if found is None or not parsed.verify(found[1]):
        raise error(f"{what} not signed by a trusted office key")
    office, key = found
    claims = parsed.payload
    if names_issuer and claims.get("iss") != office.id:
        raise error(f"{what} iss is not the office that signed it")
    iat = claims.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool) or iat < 0:
        raise error(f"{what} iat is not a non-negative integer")
    if key.covers(iat) is not None:
        raise error(f"{what} signed outside its key's window")
    return OfficeSigned(parsed, office, key, iat)
