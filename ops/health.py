"""Readiness: named checks run together, and the answer ``/readyz`` gives.

A check is a function that returns normally when its part is ready and raises
``NotReady`` (its message is shown) or any other exception (only its type is shown: a
database error's message may hold a connection string) when it is not.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Check", "NotReady", "readiness"]

Check = Callable[[], None]


class NotReady(Exception):
    """A part of the service is not ready; the message says why (no secret, no person)."""


def _run(check: Check) -> dict[str, Any]:
    try:
        check()
    except NotReady as exc:
        return {"ok": False, "detail": str(exc)}
    except Exception as exc:
        return {"ok": False, "detail": type(exc).__name__}
    return {"ok": True}


# Checks wait on databases: one small pool of their own, so a hung database cannot take
# the threads requests are served with.
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


async def readiness(
    checks: Mapping[str, Check], timeout: float = 5.0
) -> tuple[int, dict[str, Any]]:
    """Run every check (in worker threads, at most ``timeout`` seconds each) and return
    ``(200, {"status": "ready", "checks": {...}})`` or ``(503, {"status": "not_ready",
    "failing": [names], "checks": {...}})``; each check is ``{"ok": bool[, "detail"]}``."""
    loop = asyncio.get_running_loop()
    names = list(checks)
    futures = [loop.run_in_executor(_POOL, _run, checks[n]) for n in names]
    results: dict[str, Any] = {}
    for name, future in zip(names, futures, strict=True):
        try:
            results[name] = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            results[name] = {"ok": False, "detail": f"no answer within {timeout:g} s"}
    failing = [n for n in names if not results[n]["ok"]]
    if failing:
        return 503, {"status": "not_ready", "failing": failing, "checks": results}
    return 200, {"status": "ready", "checks": results}
