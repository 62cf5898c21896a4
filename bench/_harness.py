"""Timing helpers: best-of-N rates, so a noisy neighbour lowers both sides of a ratio alike."""

from __future__ import annotations

import time
from collections.abc import Callable


def rate(fn: Callable[[], object], *, seconds: float = 1.0, repeats: int = 5) -> float:
    """Return calls per second of ``fn``: the best of ``repeats`` runs of about ``seconds``."""
    n = 1
    while True:  # calibrate a batch size that takes ~50 ms
        t = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t > 0.05:
            break
        n *= 2
    best = 0.0
    for _ in range(repeats):
        done = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds / repeats:
            for _ in range(n):
                fn()
            done += n
        best = max(best, done / (time.perf_counter() - start))
    return best


def interleaved(
    fns: dict[str, Callable[[], object]], *, rounds: int = 3, seconds: float = 0.6
) -> dict[str, float]:
    """Return the best rate of each function, measuring them in alternation."""
    best = dict.fromkeys(fns, 0.0)
    for _ in range(rounds):
        for name, fn in fns.items():
            best[name] = max(best[name], rate(fn, seconds=seconds, repeats=2))
    return best
