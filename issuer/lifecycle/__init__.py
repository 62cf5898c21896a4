"""What happens to a certificate after issue: suspension, reinstatement, revocation, and
the restricted list of people who may not be certified.

Owns: ``status`` (status changes and the two-person approvals that end them),
``restrictions`` (restricted-list entries, their removal and the signed list).

May import: ``credential``, ``issuer.db``, ``issuer.fields``, ``issuer.audit``,
``issuer.issuance``, ``issuer.accounts``, ``issuer.settings``, ``issuer.errors``.
Not ``issuer.web`` or ``issuer.cli``.
"""
