"""Claim letters (issue 13 point 4): 1,000 teachers' letters as one PDF, against a
1,000-page certificate print file (``issuer.pdf.render_many``) of the same names, both
measured in this run, best of three. One process, so one core.

A letter page has more text than a certificate page (about 450 characters) but no QR and
no seal; the ratio says what a batch's letters cost next to its print file.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from bench.pdf import VERIFIER, _items
from issuer.pdf import ClaimLetter, render_claim_letters, render_many

N = 1000
HOLDER_URL = "https://jszg.example.cn/holder"


def _best(fn: Callable[[], object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run() -> dict[str, float]:
    items = _items(N)
    letters = [
        ClaimLetter(
            name=item.cert.name,
            certificate_numbers=(item.cert.certificate_number,),
            claim_code="K7QM-3XRD-9PWA-FZ2H",
            expires_on=dt.date(2027, 1, 4),
            office_name=item.cert.office_name,
        )
        for item in items
    ]

    def make_letters() -> bytes:
        return render_claim_letters(
            letters, holder_url=HOLDER_URL, max_failures=5, lockout_minutes=15
        )

    def make_print_file() -> bytes:
        return render_many(items, verifier_url=VERIFIER)

    make_letters(), make_print_file()  # fonts loaded, layouts parsed: not part of the figures
    letters_s = _best(make_letters)
    print_s = _best(make_print_file)
    return {
        "letters_1000_seconds": letters_s,
        "letters_per_second": N / letters_s,
        "letters_print_file_pages_per_second": N / print_s,
        "letters_vs_print_file": print_s / letters_s,
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<40} {value:,.3f}")
