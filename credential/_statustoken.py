"""The signed status list as a verifier holds it (contract section 5): a Status List Token
(``typ: statuslist+jwt``) checked against the trust list, with what its age allows.

The list itself, its JSON form and its claims are ``_statuslist``; signing one is
``encode_jws({"typ": STATUS_LIST_TYP}, status_list_claims(...), signer)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ._errors import StatusListError
from ._signed import open_office_signed
from ._statuslist import StatusList, parse_status_list_claims
from ._trust import TrustList

__all__ = ["MAX_STATUS_LIST_TOKEN", "STATUS_LIST_TYP", "StatusSnapshot", "load_status_list"]

STATUS_LIST_TYP = "statuslist+jwt"
MAX_STATUS_LIST_TOKEN = 1024 * 1024


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """A status list whose signature was checked against the trust list when loaded."""

    uri: str
    office_id: str
    issued_at: int
    expires_at: int
    ttl: int | None
    status_list: StatusList = field(repr=False)
    as_of: dt.datetime = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # When the issuer made this list: what a verdict's ``status_as_of`` says.
        object.__setattr__(self, "as_of", dt.datetime.fromtimestamp(self.issued_at, dt.UTC))

    def stale_after(self, grace: int) -> int:
        """Return the POSIX time after which this snapshot may no longer be relied on."""
        limit = self.expires_at
        if self.ttl is not None:
            limit = min(limit, self.issued_at + self.ttl)
        return limit + grace


def load_status_list(
    token: str, trust: TrustList, *, expected_uri: str | None = None
) -> StatusSnapshot:
    """Return the snapshot in a signed status list JWT.

    Raises StatusListError unless it is an office-signed ``statuslist+jwt``
    (:func:`open_office_signed`: an office key in ``trust`` whose window covers ``iat``)
    and its claims (and ``sub`` = ``expected_uri`` when given) are well formed.
    """
    signed = open_office_signed(
        token,
        trust,
        typ=STATUS_LIST_TYP,
        what="status list",
        error=StatusListError,
        max_length=MAX_STATUS_LIST_TOKEN,
        names_issuer=False,
    )
    claims = parse_status_list_claims(signed.claims, expected_uri=expected_uri)
    return StatusSnapshot(
        claims.uri, signed.office.id, claims.iat, claims.exp, claims.ttl, claims.status_list
    )
