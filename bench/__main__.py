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
]


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
            shown = (
                f"{value:,.3f}"
                if isinstance(value, float) and value < 10
                else f"{value:,.0f}"
                if isinstance(value, float)
                else str(value)
            )
            print(f"  {key:<36} {shown:>14}")
    out = Path(__file__).with_name("results.json")
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
