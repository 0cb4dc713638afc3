"""Regimen-checker latency (run by `make bench`): a 10-drug regimen, in-process.

Goal from the issue: p99 under 5 ms. Writes benchmarks/results/assess.json.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from immunomod.rules import assess
from immunomod.rules.models import AssessRequest

RESULTS = Path(__file__).parent / "results" / "assess.json"
REGIMEN = AssessRequest.model_validate(
    {
        "as_of": "2026-11-25",
        "patient": {"age_years": 54, "weight_kg": 70},
        "medications": [
            {"text": "prednisolone 40 mg daily, reduce by 5 mg each week", "start": "2026-11-01"},
            {"text": "MTX 20mg weekly", "start": "2025-01-10"},
            {"text": "Humira 40mg eow", "start": "2025-06-01"},
            {"text": "hydroxychloroquine 200mg bd", "start": "2020-01-01"},
            {
                "drug": "rituximab",
                "dose": 1000,
                "unit": "mg",
                "route": "iv",
                "last_dose": "2026-09-01",
            },
            {"text": "folic acid 5 mg weekly"},
            {"text": "omeprazole 20 mg od"},
            {"text": "trimethoprim 200 mg bd"},
            {"text": "alendronic acid 70 mg weekly"},
            {"text": "tofacitinib 5 mg bd", "start": "2027-01-10"},
        ],
        "planned_vaccines": ["MMR", "Shingrix", "yellow fever", "flu"],
    }
)


def main() -> None:
    assess(REGIMEN)
    times = []
    for _ in range(500):
        t = time.perf_counter_ns()
        assess(REGIMEN)
        times.append((time.perf_counter_ns() - t) / 1e6)
    times.sort()
    out = {
        "drugs": len(REGIMEN.medications),
        "calls": len(times),
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[int(0.99 * (len(times) - 1))], 3),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print("| measure | value |\n|---|---|")
    print(f"| assess, 10-drug regimen, p50 | {out['p50_ms']} ms |")
    print(f"| assess, 10-drug regimen, p99 ({out['calls']} calls) | {out['p99_ms']} ms |")


if __name__ == "__main__":
    main()
