"""The field rules: what a name, identity number, date or code an office sends must be,
written once and used by every way in (a single application, a batch file's rows, a
status change's grounds, a restricted-list entry and its removal).

Each rule returns the value in normal form or raises ``credential.InvalidFieldError``
with one code per defect; a whole body's refusals are gathered as ``FieldError`` values
(field, code, English and Chinese message) in one ``ValidationFailed``, which
``issuer.web.problems`` turns into HTTP. docs/operations.md lists the codes.

Owns: ``errors`` (``FieldError``, ``ValidationFailed``, the collector, Chinese field
names), ``texts`` (text, printed text, name, subject, ethnicity), ``dates`` (dates, the
office's certification policy: minimum age, earliest date), ``codes`` (sex, document and
qualification types, the office's code lists), ``identity`` (identity numbers),
``application`` (one certificate application), ``decisions`` (a status change's
grounds), ``restrictions`` (a restricted-list entry, its removal).

May import: ``credential``, ``issuer.pdf`` (whether a text can be printed),
``issuer.errors``, ``issuer.settings``. No database, no web framework.
"""

from issuer.fields.application import ValidApplication, validate_application
from issuer.fields.dates import EARLIEST_DATE, CertificationPolicy
from issuer.fields.decisions import (
    LEGAL_BASIS_MAX,
    REASON_CODES,
    REASON_CODES_EN,
    Decision,
    validate_decision,
)
from issuer.fields.errors import Collector, FieldError, ValidationFailed
from issuer.fields.restrictions import (
    CATEGORIES,
    RestrictionEntry,
    validate_entry,
    validate_removal,
)
from issuer.fields.texts import printable, text

__all__ = [
    "CATEGORIES",
    "EARLIEST_DATE",
    "LEGAL_BASIS_MAX",
    "REASON_CODES",
    "REASON_CODES_EN",
    "CertificationPolicy",
    "Collector",
    "Decision",
    "FieldError",
    "RestrictionEntry",
    "ValidApplication",
    "ValidationFailed",
    "printable",
    "text",
    "validate_application",
    "validate_decision",
    "validate_entry",
    "validate_removal",
]
