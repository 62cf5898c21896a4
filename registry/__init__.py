"""The national registry (issue 12, contract sections 1, 7 and 11): the third deployable,
``jiaozi registry serve`` on 127.0.0.1:8300, run at the national level.

It holds no root private key: the root stays in the offline key store of the ``jiaozi
trust`` ceremony. The registry holds its own signing key only (listed in the trust list
like an office, under ``credential.REGISTRY_ID``, with an empty qualification scope) and
the trust list the ceremony signed, which it reads and checks against the pinned roots.

What it does: offices send it their restricted-list entries and removals, each signed by
the office (``POST /api/v1/restrictions``); it keeps them, idempotent on the entry's
national reference, in a gapless change log; it answers the consolidated list, signed, to
offices only (``GET /api/v1/restricted-list``, a signed read request); it answers schools'
and employers' admission checks (``POST /api/v1/admission-checks``, issue 12 point 5:
yes/no, audited without anything an office's key could test). docs/registry.md.
It also keeps the national feed (issue 12 point 7): offices' signed event batches in, one
gapless hash-chained feed out to system clients with API keys (docs/integration.md).

Modules: ``settings`` (``RegistrySettings``), ``db`` (its own tables, SQLite by default,
PostgreSQL by URL), ``store`` (what is accepted and read), ``admission`` (accounts, the
check, its rate limit and audit), ``problems`` (every error mapped to RFC 9457 problem
JSON, in one place), ``app`` (the FastAPI factory), ``cli`` (``jiaozi registry``,
``jiaozi feed``), ``feed`` (the national feed: batches accepted, pages read, system
clients), ``follow`` (the reference consumer of the feed), ``trust`` (the trust list the
ceremony exported: checked, re-read on change, served at ``/trust-list.jwt``), ``restore``
(after a restore from a backup: the heads jumped past every seq handed out). May import
``credential`` and ``keys`` only: never ``issuer`` or ``verifier``.
"""
