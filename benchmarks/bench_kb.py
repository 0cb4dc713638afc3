"""Benchmarks for the knowledge-base foundation (run by `make bench`).

* CLI cold start: wall time of a fresh `immunomod info NAME --json` process (goal < 300 ms).
* Library `kb.get()` latency in-process over a mix of INNs, brands and ATC codes.
* Opening the store (first query in a process).

Prints a Markdown table and writes benchmarks/results/kb.json.
"""

from __future__ import annotations

import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "kb.json"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cli_cold_start(runs: int = 30) -> dict[str, float]:
    exe = shutil.which("immunomod", path=str(Path(sys.executable).parent)) or "immunomod"
    times = []
    for i in range(runs + 3):
        t0 = time.perf_counter()
        subprocess.run([exe, "info", "humira", "--json"], check=True, capture_output=True)
        if i >= 3:  # the first runs warm the OS page cache, as on any used machine
            times.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": statistics.median(times), "p95_ms": pct(times, 95), "runs": runs}


def library_get(rounds: int = 2000) -> dict[str, float]:
    t0 = time.perf_counter()
    from immunomod import kb

    kb.get("humira")
    first_ms = (time.perf_counter() - t0) * 1000
    names = [s.inn for s in kb.store().all_summaries()]
    queries = [*names, "Humira", "L04AB04", "HUMIRA ", "adalimumab"]
    times = []
    for i in range(rounds):
        q = queries[i % len(queries)]
        t = time.perf_counter_ns()
        kb.get(q)
        times.append((time.perf_counter_ns() - t) / 1e6)
    return {
        "import_and_first_get_ms": first_ms,
        "p50_ms": statistics.median(times),
        "p99_ms": pct(times, 99),
        "calls": rounds,
        "distinct_queries": len(queries),
    }


def main() -> None:
    cold = cli_cold_start()
    get = library_get()
    from immunomod import kb

    out = {
        "machine": f"{platform.machine()} {platform.system()}, Python {platform.python_version()}",
        "ingredients": kb.stats()["ingredients"],
        "cli_cold_start": cold,
        "library_get": get,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print("| measure | value |\n|---|---|")
    print(f"| CLI cold start `immunomod info humira --json`, median | {cold['median_ms']:.0f} ms |")
    print(f"| CLI cold start, p95 ({cold['runs']} runs) | {cold['p95_ms']:.0f} ms |")
    print(f"| `kb.get()` p50 | {get['p50_ms'] * 1000:.0f} µs |")
    print(f"| `kb.get()` p99 ({get['calls']} calls) | {get['p99_ms'] * 1000:.0f} µs |")
    print(f"| import + open + first `get()` | {get['import_and_first_get_ms']:.0f} ms |")


if __name__ == "__main__":
    main()
