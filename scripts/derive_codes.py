"""Derive ingredient-level RxNorm and SNOMED CT codes for the knowledge base's ingredients.

Run from the repository root (re-run when the ingredients or the shared data change):

    .venv/bin/python scripts/derive_codes.py --shared ../shared \\
        --out src/immunomod/interop/codes.tsv

Source: DrugCentral 2016 ``drugtarget_2016_identifiers.tsv`` (CC BY 4.0, attribution in
DATA-LICENSE.md), rows of ID_TYPE ``RXNORM`` and ``SNOMEDCT_US``. A DrugCentral drug name maps
to an ingredient when the knowledge base resolves it (INN, US name, salt) to exactly that
ingredient. Only ingredient-level codes are here: product codes (RxNorm SCD/SBD, dm+d VMP/AMP)
are not in this table, so FHIR input falls back to their text (and says so).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from immunomod import kb
from immunomod.errors import UnknownDrugError

SYSTEMS = {"RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm",
           "SNOMEDCT_US": "http://snomed.info/sct"}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--out", type=Path, default=Path("src/immunomod/interop/codes.tsv"))
    args = ap.parse_args()
    table = args.shared / "data" / "drugcentral" / "drugtarget_2016_identifiers.tsv"
    rows: set[tuple[str, str, str]] = set()
    seen: dict[tuple[str, str], str] = {}
    renamed: set[str] = set()  # printed for review: DrugCentral names that are not our INN
    with table.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            kind = row["ID_TYPE"].strip('"')
            if kind not in SYSTEMS:
                continue
            name = row["DRUG_NAME"].strip('"')
            try:
                rec = kb.get(name)
            except UnknownDrugError:
                continue
            if rec.inn.lower() != name.lower():
                renamed.add(f"{name} -> {rec.id}")
            key = (SYSTEMS[kind], row["IDENTIFIER"].strip('"'))
            if seen.setdefault(key, rec.id) != rec.id:  # one code, two ingredients: drop it
                rows = {r for r in rows if (r[0], r[1]) != key}
                continue
            rows.add((*key, rec.id))
    with args.out.open("w", encoding="utf-8", newline="") as out:
        out.write("# system\tcode\tingredient  (from DrugCentral 2016, CC BY 4.0; "
                  "scripts/derive_codes.py)\n")  # fmt: skip
        for r in sorted(rows):
            out.write("\t".join(r) + "\n")
    print("Mapped by another name (review):", "; ".join(sorted(renamed)))
    print(f"{len(rows)} codes for {len({r[2] for r in rows})} ingredients -> {args.out}")


if __name__ == "__main__":
    main()
