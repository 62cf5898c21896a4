"""The issuer's commands (``jiaozi issuer``, ``accounts``, ``batch``, ``audit``,
``reissue``), gathered by ``jiaozi.cli``.

Owns: ``commands`` (serve, database, accounts), ``batch``, ``maintenance``.

May import anything in ``issuer`` and click. Nothing in ``issuer`` imports it.
"""
