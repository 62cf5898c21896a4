"""Shared test helpers."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Sequence

EN_HEADER = [
    "request_id",
    "name",
    "gender",
    "birth_date",
    "id_type",
    "id_number",
    "qualification_type",
    "subject",
    "issue_date",
]


def person(n: int, request_id: str) -> list[str]:
    """Return a valid row for a distinct invented woman born 1980-01-01 + n days."""
    birth = datetime.date(1980, 1, 1) + datetime.timedelta(days=n)
    id_number = with_check(f"330106{birth:%Y%m%d}{(2 * n) % 1000:03d}")
    return [request_id, "林芳", "女", birth.isoformat(), "resident_id", id_number,
            "primary", "语文", "2026-06-20"]  # fmt: skip


def csv_bytes(
    header: Sequence[str], rows: Sequence[Sequence[object]], encoding: str = "utf-8"
) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def with_check(first17: str) -> str:
    """Append the GB 11643 MOD 11-2 check character (written from the standard)."""
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]
