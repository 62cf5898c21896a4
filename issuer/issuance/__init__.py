"""Issuing certificates: numbers, status indices, signing, idempotency, sealing, reissue.

Owns: ``service`` (serial numbers, status lists, one certificate issued in one
transaction, idempotent replays, status list publication), ``schemas`` (the certificate's
request and public shapes), ``sealing`` (personal data encrypted at rest), ``printing``
(a stored certificate rendered to a signed PDF), ``reissue`` (re-signing under a new key).

May import: ``credential``, ``keys``, ``issuer.db``, ``issuer.fields``, ``issuer.audit``,
``issuer.pdf``, ``issuer.settings``, ``issuer.errors``. Not ``issuer.web`` or ``issuer.cli``.
"""
