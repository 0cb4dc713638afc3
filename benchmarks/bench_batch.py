"""Batch classify throughput (run by `make bench`): a synthetic drug_exposure CSV, DuckDB engine.

Writes benchmarks/results/batch.json. Rows repeat a skewed set of drug strings the way EHR
tables do (a few products make most rows); the full synthetic-data generator is issue 10's.
"""

from __future__ import annotations

import csv
import json
import random
import tempfile
import time
from pathlib import Path

from immunomod.batch.classify import classify

RESULTS = Path(__file__).parent / "results" / "batch.json"
STRINGS = ["Humira 40mg/0.4ml pen", "methotrexate 2.5 mg tablets", "prednisolone 5mg tablets",
           "metformin 500mg tab", "atorvastatin 20 mg tablet", "omeprazole 20mg caps",
           "tofacitinib 5 mg tablet", "Amgevita 40mg pen", "hydroxychloroquine 200mg",
           "azathioprine 50mg tablets", "tacrolimus 1mg caps", "mycophenolate mofetil 500mg",
           "Keytruda 100mg/4ml", "amlodipine 5mg", "ramipril 10mg caps", "predisolone 5mg",
           "folic acid 5mg tablets", "Enbrel 50mg pen", "ustekinumab 90mg",
           "paracetamol 500mg"]  # fmt: skip


def main(rows: int = 1_000_000) -> None:
    rng = random.Random(2026)
    weights = [1 / (i + 1) for i in range(len(STRINGS))]  # Zipf-like skew
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "drug_exposure.csv"
        with src.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["drug_exposure_id", "person_id", "drug_source_value"])
            picks = rng.choices(STRINGS, weights, k=rows)
            w.writerows((i, rng.randrange(50_000), s) for i, s in enumerate(picks))
        t = time.perf_counter()
        stats = classify(src, Path(tmp) / "out.parquet")
        seconds = time.perf_counter() - t
    out = {"rows": stats.rows, "distinct_texts": stats.distinct_texts,
           "seconds": round(seconds, 2), "rows_per_s": round(stats.rows / seconds)}  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(
        f"| batch classify, {rows:,}-row CSV -> Parquet (DuckDB) | {seconds:.1f} s, "
        f"{out['rows_per_s']:,} rows/s |"
    )


if __name__ == "__main__":
    main()
