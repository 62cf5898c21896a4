"""``make bench``: run every benchmark, print a table, write bench/results.json (flat)."""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from pathlib import Path

SECTIONS = [
    "bench.verify",
    "bench.batch",
    "bench.pdf",
    "bench.pdf_batch",
    "bench.letters",
    "bench.verifier_load",
    "bench.hostile",
    "bench.national",
    "bench.sm2",  # SM2 beside EdDSA (issue 16): dual-signed batch and verification ratios
    "bench.scan",  # 1,000 simulated phone photos of printed certificates, read (~2-3 min)
    # batches on PostgreSQL; 1,000,000 certificates on PostgreSQL: the first run loads
    # them (minutes), later runs reuse the loaded database (bench.search); nginx with two
    # verifier replicas (bench.scale_stack, when jiaozi.stack is there)
    "bench.scale",
]
RESULTS = Path(__file__).with_name("results.json")


def shown(value: float | str) -> str:
    """Return ``value`` as the table prints it: 3 decimals under 10, none above, text as
    it is (a skipped figure's reason)."""
    if isinstance(value, str):
        return value
    return f"{value:,.3f}" if value < 10 else f"{value:,.0f}"


def write_results(results: dict[str, float | str], path: Path = RESULTS) -> None:
    """Write ``results`` to ``path`` as flat JSON, keys sorted (one figure a line, so a
    commit of the file diffs figure by figure)."""
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main() -> None:
    results: dict[str, float | str] = {
        "python": platform.python_version(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    only = sys.argv[1:]
    for name in SECTIONS:
        if only and not any(o in name for o in only):
            continue
        module = importlib.import_module(name)
        section = module.run()
        results.update(section)
        print(f"\n[{name}]")
        for key, value in section.items():
            print(f"  {key:<36} {shown(value):>14}")
    write_results(results)
    print(f"\nwritten {RESULTS}")


if __name__ == "__main__":
    main()
