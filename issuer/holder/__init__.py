"""The teacher's side: claim codes, sign-in, downloads and purpose-bound copies.

Owns: ``service`` (the holder's transactions; its pages are in ``issuer.web``).

May import: ``credential``, ``issuer.db``, ``issuer.fields``, ``issuer.audit``,
``issuer.issuance``, ``issuer.pdf``, ``issuer.settings``, ``issuer.errors``.
Not ``issuer.web`` or ``issuer.cli``.
"""
