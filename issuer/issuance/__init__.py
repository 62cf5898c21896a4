"""Issuing certificates: numbers, status lists, issue, idempotency, sealing, printing and
reissue. Other packages use what is listed in ``__all__`` here.

Owns: ``numbers`` (serials per office and year), ``statuslists`` (the current list, an
unused index drawn at random, the list signed and published), ``issue`` (the certified
facts, person references, the scope and restricted-list checks, one certificate issued
in one transaction), ``idempotency`` (keyed requests and their stored answers), ``reads``
(a certificate by number and its public shape), ``schemas`` (the certificate's request
and public shapes), ``sealing`` (personal data encrypted at rest), ``printing`` (a stored
certificate rendered to a signed PDF), ``reissue`` (re-signing under a new key), ``fence``
(what a backup allows to be handed out, ``issuer.db.allowance``; a restore's step past it),
``photos`` (the holder's photo taken from a request, stored, read back and checked).

May import: ``credential``, ``keys``, ``issuer.db``, ``issuer.fields``, ``issuer.audit``,
``issuer.pdf``, ``issuer.settings``, ``issuer.errors``. Not ``issuer.web`` or ``issuer.cli``.
"""

from issuer.issuance.fence import HighWater, RestoreJump, after_restore, set_fence
from issuer.issuance.idempotency import (
    StoredResponse,
    issue_certificate_idempotent,
    replay_answer,
    request_hash,
    seal_answer,
)
from issuer.issuance.issue import (
    Applicant,
    Barred,
    Qualification,
    already_certified_error,
    barred_error,
    barred_refs,
    certificate_facts,
    check_not_barred,
    check_not_certified,
    check_scope,
    held_certificates,
    id_hash,
    id_number_hash,
    is_person_conflict,
    issue_certificate,
    issue_in_transaction,
    person_ref,
    validate_request,
)
from issuer.issuance.numbers import allocate_serial
from issuer.issuance.photos import (
    PhotoMismatchError,
    checked_photo,
    decode_photo_field,
    load_photo,
    load_photos,
    normalise_file,
    photo_required_error,
    store_photo,
)
from issuer.issuance.printing import DocumentKeyProvider, certificate_pdf, facts_of, seal_png
from issuer.issuance.reads import certificate_public, certificate_row, get_certificate
from issuer.issuance.reissue import REISSUE_REASON, ReissueError, reissue_by_key
from issuer.issuance.schemas import (
    CertificateCreate,
    CertificateLinks,
    CertificatePublic,
    Problem,
    StatusRef,
)
from issuer.issuance.sealing import (
    SealedDataError,
    is_sealed,
    open_credential,
    open_stored_credential,
    open_text,
    seal_credential,
    seal_text,
)
from issuer.issuance.statuslists import (
    STATUS_BITS,
    StoredStatusList,
    current_status_list,
    draw_status_index,
    new_status_list,
    publish_changed_lists,
    publish_status_list,
    refresh_status_lists,
    status_list_token,
    status_lists_due,
    stored_status_list,
    used_indices,
)

__all__ = [
    "REISSUE_REASON",
    "STATUS_BITS",
    "Applicant",
    "Barred",
    "CertificateCreate",
    "CertificateLinks",
    "CertificatePublic",
    "DocumentKeyProvider",
    "HighWater",
    "PhotoMismatchError",
    "Problem",
    "Qualification",
    "ReissueError",
    "RestoreJump",
    "SealedDataError",
    "StatusRef",
    "StoredResponse",
    "StoredStatusList",
    "after_restore",
    "allocate_serial",
    "already_certified_error",
    "barred_error",
    "barred_refs",
    "certificate_facts",
    "certificate_pdf",
    "certificate_public",
    "certificate_row",
    "check_not_barred",
    "check_not_certified",
    "check_scope",
    "checked_photo",
    "current_status_list",
    "decode_photo_field",
    "draw_status_index",
    "facts_of",
    "get_certificate",
    "held_certificates",
    "id_hash",
    "id_number_hash",
    "is_person_conflict",
    "is_sealed",
    "issue_certificate",
    "issue_certificate_idempotent",
    "issue_in_transaction",
    "load_photo",
    "load_photos",
    "new_status_list",
    "normalise_file",
    "open_credential",
    "open_stored_credential",
    "open_text",
    "person_ref",
    "photo_required_error",
    "publish_changed_lists",
    "publish_status_list",
    "refresh_status_lists",
    "reissue_by_key",
    "replay_answer",
    "request_hash",
    "seal_answer",
    "seal_credential",
    "seal_png",
    "seal_text",
    "set_fence",
    "status_list_token",
    "status_lists_due",
    "store_photo",
    "stored_status_list",
    "used_indices",
    "validate_request",
]
