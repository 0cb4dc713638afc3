"""Build the resolver's labelled development set (tests/data/resolver_dev.csv).

    .venv/bin/python scripts/build_resolver_devset.py --shared ../shared

Rows come from real naming sources, not from the resolver:

* generic, brand, biosimilar: names the knowledge base holds (INN, US/INN spellings, Purple
  Book proper names and brands, EMA brands), written the way records write them (case,
  spacing, trademark signs);
* product_string: real US product rows from Drugs@FDA ("DRUGNAME strength form;route") and
  RxNorm-style clinical drug names; UK (dm+d-style) strings built from the same strengths;
* abbreviation: abbreviations in clinical use (curated list below, each with its expansion);
* misspelling: one or two edits, transpositions and sound-alikes of INNs and brands, made
  with a fixed seed;
* negative: non-immunomodulator drugs, hard ones first (other monoclonal antibodies, kinase
  inhibitors, anti-inflammatories, erythropoiesis stimulants) and Drugs@FDA products of
  oncology antibodies and aminosalicylates;
* free_text: short notes with sigs and context (current, stopped, negated, allergy, planned).

Each row: text, expected immunomodulator ingredient ids (";"-joined, empty for none),
category, and whether a steroid in it is a local form.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from immunomod import kb  # noqa: E402
from immunomod.knowledge.normalise import name_key  # noqa: E402

OUT = ROOT / "tests" / "data" / "resolver_dev.csv"
PRODUCTS = "data/fda/drugsatfda_2022-08_products_immunomodulators.tsv"

ABBREVIATIONS = {
    "MTX": "methotrexate", "HCQ": "hydroxychloroquine", "SSZ": "sulfasalazine",
    "AZA": "azathioprine", "6-MP": "mercaptopurine", "MMF": "mycophenolic-acid",
    "CsA": "ciclosporin", "FK506": "tacrolimus", "IVIG": "human-normal-immunoglobulin",
    "LEF": "leflunomide", "TCZ": "tocilizumab", "RTX": "rituximab", "IFX": "infliximab",
    "ETN": "etanercept", "CYC": None, "pred": None, "dex": None,
}  # fmt: skip

HARD_NEGATIVES = [
    "bevacizumab", "denosumab", "trastuzumab", "cetuximab", "panitumumab", "ranibizumab",
    "aflibercept", "evolocumab", "alirocumab", "romosozumab", "erenumab", "fremanezumab",
    "galcanezumab", "palivizumab", "burosumab", "emicizumab", "pertuzumab", "ramucirumab",
    "imatinib", "ibrutinib", "dasatinib", "nilotinib", "erlotinib", "gefitinib", "osimertinib",
    "sunitinib", "sorafenib", "lapatinib", "ibuprofen", "naproxen", "diclofenac",
    "celecoxib", "meloxicam", "indometacin", "aspirin", "colchicine", "mesalazine",
    "balsalazide", "olsalazine", "epoetin alfa", "darbepoetin alfa", "metformin",
    "methyldopa", "metoprolol", "methocarbamol", "mercaptamine", "prednicarbate",
    "allopurinol", "febuxostat", "folic acid", "omeprazole", "atorvastatin", "amlodipine",
    "levothyroxine", "lisinopril", "warfarin", "apixaban", "insulin glargine",
    "paracetamol", "tramadol", "gabapentin", "sertraline", "amoxicillin", "doxycycline",
    "trimethoprim", "sulfamethoxazole", "isoniazid", "rifampicin", "valaciclovir",
    "fluconazole", "alendronic acid", "calcitriol", "hydroxyurea", "imiquimod",
    "tamoxifen", "letrozole", "capecitabine", "fluorouracil", "cisplatin", "oxaliplatin",
    "docetaxel", "paclitaxel", "etoposide", "vincristine", "bortezomib", "carfilzomib",
    "daratumumab", "ipilimumab", "nivolumab", "pembrolizumab",
]  # fmt: skip
# The last ones are immunomodulators (stimulants) kept here to check they are NOT negatives
STIMULANTS_IN_KB = {"ipilimumab", "nivolumab", "pembrolizumab"}

NOTE_TEMPLATES = [
    ("{a} {d1} daily since March", ["a"], "current"),
    ("on {a} {d1} weekly and folic acid 5 mg weekly", ["a"], "current"),
    ("stopped {a} in May because of nausea", [], "stopped"),
    ("no {a}", [], "negated"),
    ("allergic to {a} (rash)", [], "allergy"),
    ("plan to start {a} next month after TB screen", [], "planned"),
    ("currently taking {a} {d1} od and {b} {d2} bd", ["a", "b"], "current"),
    ("previously on {a}, now on {b}", ["b"], "mixed"),
    ("{a} 40mg daily for 1 week, then 30mg daily for 1 week, then stop", ["a"], "current"),
]


def _variants(name: str, rnd: random.Random) -> str:
    style = rnd.choice(["upper", "title", "lower", "tm", "spaced"])
    if style == "upper":
        return name.upper()
    if style == "title":
        return name.title()
    if style == "tm":
        return name + "®"
    if style == "spaced":
        return f"  {name} "
    return name.lower()


def _misspell(word: str, rnd: random.Random) -> str:
    w = list(word.lower())
    # two edits only in long names: two changes to a six-letter word make another word
    kinds = ["drop", "swap", "sub", "double", "sound"] + (["two"] if len(word) >= 8 else [])
    kind = rnd.choice(kinds)
    i = rnd.randrange(1, max(2, len(w) - 1))
    if kind == "drop":
        del w[i]
    elif kind == "swap" and i + 1 < len(w):
        w[i], w[i + 1] = w[i + 1], w[i]
    elif kind == "sub":
        w[i] = rnd.choice("aeiou") if w[i] not in "aeiou" else rnd.choice("rstnl")
    elif kind == "double":
        w.insert(i, w[i])
    elif kind == "sound":
        s = "".join(w)
        for a, b in [("ph", "f"), ("c", "k"), ("y", "i"), ("x", "ks"), ("th", "t"), ("i", "y")]:
            if a in s:
                return s.replace(a, b, 1)
        del w[i]
    else:
        del w[i]
        j = rnd.randrange(1, max(2, len(w) - 1))
        w[j] = rnd.choice("aeiou") if w[j] not in "aeiou" else rnd.choice("rstnl")
    out = "".join(w)
    return out if out != word.lower() else out[:-1]


def _kb_id(name: str) -> str | None:
    """The knowledge-base ingredient a WHO INN names (any name the KB holds), if any."""
    from immunomod.errors import UnknownDrugError

    try:
        return kb.get(name).id
    except UnknownDrugError:
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--seed", type=int, default=20261125)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    rows: list[tuple[str, str, str, str]] = []
    records = {s.id: kb.get(s.id) for s in kb.store().all_summaries()}

    for iid, rec in sorted(records.items()):
        rows.append((_variants(rec.inn, rnd), iid, "generic", ""))
        ing = rec.ingredient
        for syn in (ing.names.synonyms if ing.names else [])[:2]:
            if syn.isascii() and len(syn) > 4:
                rows.append((syn, iid, "generic", ""))
        for b in ing.brands[:3]:
            rows.append((_variants(b.name, rnd), iid, "brand", ""))
        for bs in ing.biosimilars:
            if bs.proper_name:
                rows.append((bs.proper_name, iid, "biosimilar", ""))
            for name in bs.brands[:4]:
                rows.append((_variants(name, rnd), iid, "biosimilar", ""))
        for _ in range(2):
            rows.append((_misspell(rec.inn, rnd), iid, "misspelling", ""))
        if ing.brands and len(ing.brands[0].name) >= 6:
            rows.append((_misspell(ing.brands[0].name, rnd), iid, "misspelling", ""))

    for abbr, iid in ABBREVIATIONS.items():
        if iid is None or iid in records:
            rows.append((abbr, iid or "", "abbreviation", ""))

    inn_to_id = {name_key(r.inn): iid for iid, r in records.items()}
    with (args.shared / PRODUCTS).open(encoding="utf-8") as fh:
        prods = list(csv.DictReader(fh, delimiter="\t"))
    rnd.shuffle(prods)
    per_ingredient: dict[str, int] = {}
    for p in prods:
        inns = p["matched_inn"].split("; ")
        ids = [_kb_id(n) for n in inns]
        form, _, route = p["Form"].partition(";")
        text = f"{p['DrugName']} {p['Strength']} {form.lower()} {route.lower()}".strip()
        local = route.upper() in {
            "OPHTHALMIC", "TOPICAL", "INHALATION", "NASAL", "OTIC", "RECTAL", "DENTAL",
            "INTRA-ARTICULAR", "INTRALESIONAL",
        }  # fmt: skip
        if all(i is None for i in ids):
            if per_ingredient.get(p["matched_inn"], 0) < 3:
                per_ingredient[p["matched_inn"]] = per_ingredient.get(p["matched_inn"], 0) + 1
                if not any(name_key(n) in {name_key(x) for x in STIMULANTS_IN_KB} for n in inns):
                    rows.append((text, "", "negative", ""))
            continue
        key = ";".join(sorted(i for i in ids if i))
        if per_ingredient.get(key, 0) >= 4:
            continue
        per_ingredient[key] = per_ingredient.get(key, 0) + 1
        rows.append((text, key, "product_string", "local" if local else ""))
        # the same product, UK dm+d style: "Prednisolone 5mg tablets"
        strength = re.sub(r"\s+", "", p["Strength"].split(";")[0].lower())
        uk_form = {
            "TABLET": "tablets",
            "CAPSULE": "capsules",
            "INJECTABLE": "solution for injection",
        }
        if form.split(",")[0] in uk_form:
            rows.append(
                (f"{inns[0].capitalize()} {strength} {uk_form[form.split(',')[0]]}", key,
                 "product_string", "")
            )  # fmt: skip

    for neg in HARD_NEGATIVES:
        expected = inn_to_id.get(name_key(neg), "")
        rows.append((_variants(neg, rnd), expected, "generic" if expected else "negative", ""))

    # more negatives: ordinary drug names from the DrugBank vocabulary (one word, typed often)
    other_tsv = ROOT / "src/immunomod/knowledge/data/derived/other_drugs.tsv"
    lines = [ln for ln in other_tsv.read_text(encoding="utf-8").splitlines() if ln[:1] != "#"]
    plain = [
        r["name"] for r in csv.DictReader(lines, delimiter="\t")
        if r["name"].isalpha() and 6 <= len(r["name"]) <= 14
    ]  # fmt: skip
    for name in rnd.sample(plain, 80):
        rows.append((_variants(name, rnd), "", "negative", ""))

    suppressants = sorted(i for i, r in records.items() if r.direction != "stimulate")
    for tpl, _current, _kind in NOTE_TEMPLATES:
        for _ in range(4):
            a, b = rnd.sample(suppressants, 2)
            text = tpl.format(a=records[a].inn, b=records[b].inn, d1="10 mg", d2="400 mg")
            ids = {"a": a, "b": b}
            every = sorted({ids[k] for k in ("a", "b") if "{" + k + "}" in tpl})
            # expected: every immunomodulator named, whatever its context (context is scored apart)
            rows.append((text, ";".join(every), "free_text", ""))

    seen: set[str] = set()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        fh.write(
            "# GENERATED by scripts/build_resolver_devset.py (see its docstring for sources)\n"
        )
        w = csv.writer(fh)
        w.writerow(["text", "expected", "category", "local"])
        for row in rows:
            if row[0] not in seen:
                seen.add(row[0])
                w.writerow(row)
    print(f"{len(seen)} rows -> {OUT}")


if __name__ == "__main__":
    main()
