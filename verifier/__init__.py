"""The public verifier: scan, upload or paste; a verdict people understand.

Holds no private key, no issuer database and no person-level data. May import
``credential`` and ``keys``, never ``issuer`` (tests/test_imports.py enforces it).

What each module owns, from the top down:

- ``app/``: the HTTP API (``routes``, ``hosts`` (Host and Origin checked first), the JSON
  ``fastpath``, request ``reading``, and the ``service`` a request calls); ``web``: the
  page for people; ``problems``: errors as problem JSON. Only these three use FastAPI and
  Starlette.
- ``commands`` (``jiaozi verifier ...``) and ``cli`` (``jiaozi verify``): the command lines,
  the only users of click.
- ``sync``: fetching and checking the trust list, status lists and restricted list;
  ``bundle``: the same documents carried offline; ``documents``: writing what is held;
  ``store``: reading it back, re-verified, and indexing the restricted list.
- ``db`` (its own tables), ``accounts`` (employer API keys), ``ratelimit``, ``extract``
  (the QR and credential in an uploaded file, every cost judged before it is paid),
  ``sandbox`` (``extract`` in worker processes under memory and time limits),
  ``filecheck`` (a file's own signature, for the API and ``jiaozi verify`` alike),
  ``settings``, ``_offline`` (trust and status data from files).

Every signed document is checked by ``credential`` (trust list, status list, restricted
list); nothing here parses a signed format of its own.
"""
