"""What the routers share: OpenAPI response declarations (every 4xx an operation can
return) and the answer to a keyed (``Idempotency-Key``) write."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from issuer.issuance import Problem, StoredResponse

PROBLEM: dict[str, Any] = {"model": Problem, "content": {"application/problem+json": {}}}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Return ``responses=`` entries declaring these problem statuses."""
    text = {
        400: "Bad request",
        401: "Missing or wrong API key",
        403: "The account may not do this",
        404: "Not found",
        409: "Conflicts with the current state",
        413: "Request too large",
        422: "Invalid request (field errors listed)",
        429: "Too many requests",
        503: "Temporarily unavailable (a key or a service this needs)",
    }
    return {c: {**PROBLEM, "description": text.get(c, "Error")} for c in codes}


AUTH = problems(401, 403, 422)


def stored_answer(stored: StoredResponse) -> Response:
    """Return the answer of a keyed write as stored, marked ``Idempotent-Replayed: true``
    when it answers a retry."""
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
    return Response(
        stored.body, status_code=stored.status_code, media_type="application/json", headers=headers
    )
