"""The office's record of what it did: the hash-chained audit log, its check and
checkpoints, and the event feed other systems follow.

Owns: ``chain`` (records and their hashes), ``check`` (verifying the chain, checkpoints),
``events`` (the feed).

May import: ``credential``, ``issuer.db``, ``issuer.settings``, ``issuer.errors``.
"""
