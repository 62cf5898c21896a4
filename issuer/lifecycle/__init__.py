"""What happens to a certificate after issue: suspension, reinstatement, revocation, and
the restricted list of people who may not be certified.

Owns, lowest first (each imports only those before it):

- ``transitions``: the status state machine applied inside a write transaction, the
  status list rows locked and re-signed after commit;
- ``status``: a decision's grounds, and suspend, reinstate, revoke taking effect at once;
- ``restrictions``: restricted-list entries recorded and removed, the signed list;
- ``approvals``: maker-checker, the pending actions that a second supervisor approves
  (revocations, restricted-list entries and removals), and the office's switch for it.

May import: ``credential``, ``issuer.db``, ``issuer.fields``, ``issuer.audit``,
``issuer.issuance``, ``issuer.accounts``, ``issuer.settings``, ``issuer.errors``.
Not ``issuer.web`` or ``issuer.cli``.
"""

from issuer.lifecycle.approvals import (
    approve,
    list_pending,
    maker_checker_on,
    reject,
    request_removal,
    request_restriction,
    request_revocation,
    set_maker_checker,
)
from issuer.lifecycle.restrictions import (
    bar_until,
    changes_token,
    get_restriction,
    snapshot_token,
    validate_removal,
    validate_restriction,
)
from issuer.lifecycle.status import (
    LEGAL_BASIS_MAX,
    REASON_CODES,
    Decision,
    reinstate,
    suspend,
    validate_decision,
)

__all__ = [
    "LEGAL_BASIS_MAX",
    "REASON_CODES",
    "Decision",
    "approve",
    "bar_until",
    "changes_token",
    "get_restriction",
    "list_pending",
    "maker_checker_on",
    "reinstate",
    "reject",
    "request_removal",
    "request_restriction",
    "request_revocation",
    "set_maker_checker",
    "snapshot_token",
    "suspend",
    "validate_decision",
    "validate_removal",
    "validate_restriction",
]
