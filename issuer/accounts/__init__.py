"""Who may act: officers, their roles and API keys, service clients, and the
``Principal`` that names who is acting.

Owns: ``principal``, ``service`` (officers and clients), ``apikeys`` (key format and
comparison), ``schemas`` (account request and public shapes).

May import: ``credential``, ``issuer.db``, ``issuer.fields``, ``issuer.audit``,
``issuer.settings``, ``issuer.errors``. Not ``issuer.web`` or ``issuer.cli``.
"""
