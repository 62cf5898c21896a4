"""What happens to a certificate after issue: suspension, reinstatement, revocation, and
the restricted list of people who may not be certified.

Owns, lowest first (each imports only those before it):

- ``transitions``: the status state machine applied inside a write transaction, the
  status list rows locked and re-signed after commit;
- ``status``: a decision's grounds, and suspend, reinstate, revoke taking effect at once;
- ``restrictions``: restricted-list entries recorded and removed;
- ``restriction_publication``: the verifiers' restricted-list documents, signed when the
  list changes and served as stored;
- ``supersede``: a valid certificate superseded by its next version (replacement 补发,
  correction 换发): same number, new status entry, the old version's entry revoked;
- ``approvals``: maker-checker, the pending actions that a second supervisor approves
  (revocations, restricted-list entries and removals, replacements and corrections) and
  their approval rules;
- ``inbox``: the facts each pending request is judged by (the certificate's holder, the
  person to restrict, the entry to lift);
- ``replacement``: requests for a replacement or correction (keyed, through approvals);
- ``account_requests``: what a second admin approves (a supervisor or admin created, a
  role changed, maker-checker switched off), and the office's switch;
- ``feed_push``: this office's events, with the facts a teacher management system needs,
  sent to the registry's national feed in signed batches (docs/integration.md);
- ``national``: the national restricted list (docs/registry.md): this office's entries
  pushed from the outbox to the registry, the consolidated list pulled, another office's
  entry revoking this office's certificates of the person (the one module here that
  talks HTTP, with ``httpx``).
- ``reconcile``: after a restore, the status published since the backup taken back into
  the restored database (``jiaozi issuer reconcile-status``);
- ``publication``: the publication job (status lists signed when due, the JWKS and trust
  list stored when changed) and the public artefacts as stored, served without keys.

May import: ``credential``, ``issuer.db``, ``issuer.fields``, ``issuer.audit``,
``issuer.issuance``, ``issuer.accounts``, ``issuer.settings``, ``issuer.errors``.
Not ``issuer.web`` or ``issuer.cli``.
"""

from issuer.fields.decisions import LEGAL_BASIS_MAX, REASON_CODES, Decision, validate_decision
from issuer.lifecycle.account_requests import (
    request_officer,
    request_role_change,
    set_maker_checker,
)
from issuer.lifecycle.approvals import (
    approve,
    list_pending,
    maker_checker_on,
    reject,
    request_removal,
    request_restriction,
    request_revocation,
)
from issuer.lifecycle.national import (
    RegistryClient,
    SyncReport,
    fill_person_refs,
    sync_national,
)
from issuer.lifecycle.publication import (
    Artefact,
    Publication,
    public_artefacts,
    publish_all,
    read_document,
)
from issuer.lifecycle.reconcile import (
    Reconciliation,
    none_published,
    reconcile_status,
    restored_backup_at,
)
from issuer.lifecycle.replacement import Keyed, request_correction, request_replacement
from issuer.lifecycle.restriction_publication import stored_changes, stored_snapshot
from issuer.lifecycle.restrictions import (
    bar_until,
    get_restriction,
    validate_removal,
    validate_restriction,
)
from issuer.lifecycle.status import reinstate, suspend
from issuer.lifecycle.supersede import CORRECTABLE, FIXED, REPLACEMENT_REASONS

__all__ = [
    "CORRECTABLE",
    "FIXED",
    "LEGAL_BASIS_MAX",
    "REASON_CODES",
    "REPLACEMENT_REASONS",
    "Artefact",
    "Decision",
    "Keyed",
    "Publication",
    "Reconciliation",
    "RegistryClient",
    "SyncReport",
    "approve",
    "bar_until",
    "fill_person_refs",
    "get_restriction",
    "list_pending",
    "maker_checker_on",
    "none_published",
    "public_artefacts",
    "publish_all",
    "read_document",
    "reconcile_status",
    "reinstate",
    "reject",
    "request_correction",
    "request_officer",
    "request_removal",
    "request_replacement",
    "request_restriction",
    "request_revocation",
    "request_role_change",
    "restored_backup_at",
    "set_maker_checker",
    "stored_changes",
    "stored_snapshot",
    "suspend",
    "sync_national",
    "validate_decision",
    "validate_removal",
    "validate_restriction",
]
