"""Write test tables derived from public-domain FDA data (Purple Book) into tests/data/.

    .venv/bin/python scripts/derive_test_tables.py --shared ../shared

tests/data/us_biosimilars.csv: every US biosimilar (351(k)) of the reference products the
knowledge-base issue names, with its proper name and brand names, so the tests can check that
each resolves to its ingredient without reading ../shared.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "us_biosimilars.csv"
PURPLE = "data/fda/purplebook_2025-02_dedup.csv"
REFERENCES = [
    "adalimumab", "infliximab", "etanercept", "rituximab", "tocilizumab", "ustekinumab",
    "natalizumab", "eculizumab",
]  # fmt: skip


def biosimilar_rows(rows: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    """(ingredient, proper name, brand) for every 351(k) product of the reference ingredients."""
    out = set()
    for r in rows:
        if not r["BLA Type"].startswith("351(k)"):
            continue
        proper = r["Proper Name"].strip().lower()
        base = proper.rsplit("-", 1)[0]
        if base not in REFERENCES:
            continue
        for brand in r["Proprietary Name"].split(","):
            brand = brand.strip()
            if brand and brand.upper() != "N/A":
                out.add((base, proper, brand))
    return sorted(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args()
    with (args.shared / PURPLE).open(encoding="utf-8") as fh:
        rows = biosimilar_rows(list(csv.DictReader(fh)))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        fh.write("# Derived from the FDA Purple Book (public domain), February 2025.\n")
        w = csv.writer(fh)
        w.writerow(["ingredient", "proper_name", "brand"])
        w.writerows(rows)
    print(f"{len(rows)} rows -> {OUT}")


if __name__ == "__main__":
    main()
