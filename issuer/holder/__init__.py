"""The teacher's side: claim codes, sign-in, downloads and purpose-bound copies (the flow
is in docs/holder.md; the pages are in ``issuer.web``).

Owns, lowest first (each imports only those before it):

- ``codes``: claim codes made by a clerk, the holder key that MACs codes and sessions;
- ``batch_codes``: a batch's claim codes in one step, their state per row, the letters;
- ``letter``: one teacher's letter for a code just made (checked to be live);
- ``signin``: signing in with a number and a code, the lockout, the session cookie;
- ``downloads``: the holder's certificates and the credential document;
- ``copies``: purpose-bound copies, their daily limit and record.

May import: ``credential``, ``keys``, ``issuer.db``, ``issuer.fields``, ``issuer.audit``,
``issuer.issuance``, ``issuer.pdf``, ``issuer.settings``, ``issuer.errors``.
Not ``issuer.web`` or ``issuer.cli``.
"""

from issuer.holder.batch_codes import (
    BatchCodesMade,
    BatchHolder,
    CodeState,
    batch_holders,
    batch_letters_pdf,
    make_batch_codes,
    record_codes_shown,
)
from issuer.holder.codes import (
    CODE_ALPHABET,
    CODE_LENGTH,
    ClaimCode,
    code_hash,
    format_code,
    issue_claim_code,
    normalise_code,
)
from issuer.holder.copies import (
    COPY_DAYS_DEFAULT,
    COPY_DAYS_MAX,
    PURPOSE_MAX,
    HolderCopyView,
    MadeCopy,
    copies_of,
    holder_copies,
    make_copy,
    validate_copy_request,
)
from issuer.holder.downloads import certificate_of, certificates_of, credential_document, dumps
from issuer.holder.letter import claim_letter_pdf
from issuer.holder.signin import (
    HolderIdentity,
    HolderLocked,
    HolderLoginFailed,
    csrf_matches,
    csrf_token,
    login,
    open_session,
)

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "COPY_DAYS_DEFAULT",
    "COPY_DAYS_MAX",
    "PURPOSE_MAX",
    "BatchCodesMade",
    "BatchHolder",
    "ClaimCode",
    "CodeState",
    "HolderCopyView",
    "HolderIdentity",
    "HolderLocked",
    "HolderLoginFailed",
    "MadeCopy",
    "batch_holders",
    "batch_letters_pdf",
    "certificate_of",
    "certificates_of",
    "claim_letter_pdf",
    "code_hash",
    "copies_of",
    "credential_document",
    "csrf_matches",
    "csrf_token",
    "dumps",
    "format_code",
    "holder_copies",
    "issue_claim_code",
    "login",
    "make_batch_codes",
    "make_copy",
    "normalise_code",
    "open_session",
    "record_codes_shown",
    "validate_copy_request",
]
