"""The certification office's service (issuer): one sub-package per capability.

Layers, lowest first; a package imports only those beneath it (``tests/test_imports.py``
holds the project to this)::

    settings, errors            configuration and the error hierarchy
    pdf                         certificate layouts drawn and signed (no database)
    photos                      the holder's photo judged and normalised (no database)
    db                          engine, tables, the write transaction, migrations
    fields                      the field rules every way in shares
    audit                       the hash chain, its check, the event feed
    accounts                    officers, clients, API keys, who is acting
    issuance                    numbers, status lists, issue, idempotency, sealing, reissue
    lifecycle                   status changes, restrictions, approvals
    holder, batches             the teacher's side; a certification round's file
    web, cli                    the HTTP app and the commands: the only users of FastAPI
                                and click

docs/architecture.md walks the flow through them. See contract sections 2, 3, 5, 10, 11.
"""
