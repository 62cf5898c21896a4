"""The verifier's HTTP API (contract sections 8 and 9): ``create_app(settings)``.

Owns the web layer of the verifier: ``routes`` (the app, its routes and OpenAPI),
``hosts`` (Host and Origin checked before anything else, the fast path included),
``fastpath`` (the JSON verify request answered before routing), ``reading`` (request
bodies, limits and input problems) and ``service`` (the ``Verifier`` a request calls:
held data, sync, rate limits, judgements, admission checks), ``apidocs`` (``/docs``
and ``/redoc`` from local assets).

May import ``credential`` and the verifier's own modules below it (store, sync, db,
problems, web, extract, sandbox, filecheck, accounts, ratelimit, settings); FastAPI and
Starlette are used only here, in ``verifier.web`` and in ``verifier.problems``. Nothing
below imports it.

The network (``http``) and the clock are injected so tests run against fake issuers and
move time. Held data lives in the database and is shared by replicas; rate limits live in
Redis when ``JIAOZI_REDIS_URL`` is set.
"""

from .routes import create_app
from .service import NeedsIO, Verifier

__all__ = ["NeedsIO", "Verifier", "create_app"]
