"""Names of drugs that are NOT immunomodulators, so the resolver can say "known drug, not an
immunomodulator" instead of fuzzing metformin onto methotrexate.

    .venv/bin/python scripts/derive_other_drugs.py --shared ../shared

Sources: the DrugBank open vocabulary (CC0): every common name and plain synonym. Names the
knowledge base claims, and names that contain one ("prednisolone caproate", "neomycin and
dexamethasone"), are left out, and so are chemical names and code-like strings that would
never be typed as a drug name.

Brand names of ordinary drugs ("Eliquis", "Prolia") come from the EMA medicines list (EU
central authorisations) and the FDA Purple Book (US biologics), each as the same drug as its
active substances ("canonical" column). A brand is kept only when it cannot hide an
immunomodulator: every substance is already an ordinary drug here, no substance's ATC code
(the EMA row's own, or the WHO table's for the substance) falls in an immunomodulator group of
scope.yaml, a substance with no ATC code at all makes the brand unknown rather than ordinary,
and names that are common English words, that the knowledge base claims, or that two sources give
to different drugs are dropped.

Writes data/derived/other_drugs.tsv (name, DrugBank id, category, canonical).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from immunomod.knowledge.loader import load_tree  # noqa: E402
from immunomod.knowledge.merge import merge_derived  # noqa: E402
from immunomod.knowledge.normalise import CONJUGATES, name_key  # noqa: E402
from immunomod.names.lexicon import strip_salts  # noqa: E402

OUT = ROOT / "src" / "immunomod" / "knowledge" / "data" / "derived" / "other_drugs.tsv"
VOCAB = "data/drugbank/drugbank_vocabulary.csv"
ATC = "data/atc/who_atc_ddd_2026-04-25.csv"
EMA = "data/ema/ema_medicines_epar_2025-02-12.csv"
PURPLE = "data/fda/purplebook_2025-02_dedup.csv"
SCOPE = ROOT / "src" / "immunomod" / "knowledge" / "data" / "scope.yaml"
WORDS = Path("/usr/share/dict/words")


def category_of(codes: set[str]) -> str:
    """What the regimen checker needs to know about a non-immunomodulator from its ATC codes.

    Cytotoxic chemotherapy (L01A-L01D, platinum L01XA) is high-level immunosuppression (IDSA
    2013 Table 3); other antineoplastics (kinase inhibitors, targeted antibodies …) have no
    live-vaccine safety data, so the checker answers "unknown" for them. Only this category is
    shipped, not the ATC codes.
    """
    if any(c.startswith(("L01A", "L01B", "L01C", "L01D", "L01XA")) for c in codes):
        return "cytotoxic-chemotherapy"
    if any(c.startswith("L01") for c in codes):
        return "other-antineoplastic"
    return ""


_CHEMICAL = re.compile(r"[\[\](){},;:=+]|^\d|^[a-z]-|\d-\d|[α-ωΑ-Ω]|\b[A-Z]\d|\.\d")


def plausible_name(name: str) -> bool:
    """A name a person or record could write (not a chemical or registry identifier)."""
    if len(name) < 4 or len(name) > 40 or _CHEMICAL.search(name):
        return False
    if not re.fullmatch(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ0-9 '\-/]*", name):
        return False
    return sum(c.isdigit() for c in name) <= 2


def contains_claimed(key: str, claimed: set[str]) -> bool:
    """True when any run of whole words of ``key`` is a name the knowledge base claims."""
    words = key.split()
    return any(
        " ".join(words[i:j]) in claimed
        for i in range(len(words))
        for j in range(i + 1, len(words) + 1)
    )


def claimed_keys() -> set[str]:
    """Name keys the knowledge base claims, with the bare antibody of each conjugate it holds:
    DrugBank lists "brentuximab" (the unconjugated antibody, never marketed) apart from
    brentuximab vedotin, but a record that writes "brentuximab" means the conjugate."""
    tree = load_tree()
    keys = set()
    for iid, ing in tree.ingredients.items():
        for name, _ in merge_derived(ing, tree.derived.get(iid)).all_names():
            keys.add(name_key(name))
            keys.add(strip_salts(name_key(name)))
    heads = {k.split()[0] for k in keys if len(k.split()) == 2 and k.split()[1] in CONJUGATES}
    return keys | heads


#: Ester words of corticosteroids: DrugBank often lists only the ester ("Beclomethasone
#: dipropionate", "Mometasone furoate"), while records write the bare steroid, which must then
#: be known as an ordinary drug too, not fuzzed onto betamethasone.
STEROID_ESTERS = frozenset(
    {"dipropionate", "propionate", "valerate", "butyrate", "furoate", "pivalate", "aceponate",
     "acetonide", "hexacetonide"}
)  # fmt: skip
_STEROID_STEM = re.compile(r"(?:sone|lone|sol|sterone)$")  # -asone, -olone, clobetasol


def steroid_base(key: str) -> str | None:
    """ "beclomethasone dipropionate" -> "beclomethasone"; None for anything else."""
    base, _, ester = key.partition(" ")
    ok = ester in STEROID_ESTERS and _STEROID_STEM.search(base) and len(base) >= 6
    return base if ok else None


#: (name, DrugBank id, category, canonical): canonical is empty for DrugBank's own names.
Row = tuple[str, str, str, str]


def brand_rows(
    brands: list[tuple[str, list[str], set[str]]],
    known: dict[str, Row],
    claimed: set[str],
    atc_by_id: dict[str, set[str]],
    scope_prefixes: tuple[str, ...],
    words: set[str],
) -> dict[str, Row]:
    """Brand names of ordinary drugs: ``brands`` holds (brand, substance names, ATC codes the
    source gives); ``known`` the DrugBank rows by key; ``atc_by_id`` the WHO codes of each
    DrugBank entry (by any of its names). See the module docstring for the rules."""
    found: dict[str, Row] = {}
    conflicted: set[str] = set()
    for brand, substances, codes in brands:
        key = name_key(brand)
        if (
            not key
            or len(key) < 4
            or not plausible_name(brand)
            or key in known
            or key in words
            or contains_claimed(key, claimed)
        ):
            continue
        parts: list[Row] = []
        all_codes = set(codes)
        for sub in substances:
            sub_key = strip_salts(name_key(sub))
            row = known.get(sub_key) or known.get(name_key(sub))
            if row is None or contains_claimed(sub_key, claimed):
                parts = []
                break
            parts.append(row)
            all_codes |= atc_by_id.get(row[1], set())
        if not parts or not all_codes or any(c.startswith(scope_prefixes) for c in all_codes):
            continue
        names = [p[3] or p[0] for p in parts]
        categories = {p[2] for p in parts}
        category = next(
            (c for c in ("cytotoxic-chemotherapy", "other-antineoplastic") if c in categories), ""
        )
        row = (brand, "|".join(p[1] for p in parts), category, " / ".join(names))
        if key in found and found[key][3].lower() != row[3].lower():
            conflicted.add(key)  # one brand name, two drugs: not a name we can read
        found.setdefault(key, row)
    return {k: v for k, v in found.items() if k not in conflicted}


def ema_brands(shared: Path) -> list[tuple[str, list[str], set[str]]]:
    """(brand, substances, ATC codes) of every human medicine the EMA ever authorised."""
    from derive_names import _EMA_ACTIVE, _EMA_GONE, _EMA_INN, ema_names

    out = []
    with (shared / EMA).open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            status = (r.get("Medicine status") or "").strip().lower()
            if r.get("Category") != "Human" or status not in _EMA_ACTIVE | _EMA_GONE:
                continue
            subs = [x.strip() for x in (r.get(_EMA_INN) or "").split(";") if x.strip()]
            codes = {c.strip() for c in (r.get("ATC code (human)") or "").split(",") if c.strip()}
            out += [(name, subs, codes) for name in ema_names(r.get("Name of medicine") or "")]
    return out


def purple_brands(shared: Path) -> list[tuple[str, list[str], set[str]]]:
    """(brand, substances, no codes) of every licensed biologic in the Purple Book."""
    from derive_names import clean_brand, purple_components, split_proprietary

    out = []
    with (shared / PURPLE).open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            proper = re.sub(r"-[a-z]{4}$", "", (r.get("Proper Name") or "").strip().lower())
            subs = purple_components(proper)  # biosimilar suffix ("-bbdz") dropped
            for names in split_proprietary(r.get("Proprietary Name") or ""):
                for name in names.split("/"):  # "Epogen/Procrit": two brands
                    out.append((clean_brand(name), subs, set()))
    return out


def scope_prefixes() -> tuple[str, ...]:
    import yaml

    groups = yaml.safe_load(SCOPE.read_text(encoding="utf-8"))["groups"]
    return tuple(g["prefix"] for g in groups)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args()
    claimed = claimed_keys()
    atc_by_name: dict[str, set[str]] = {}
    with (args.shared / ATC).open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if len(r["atc_code"]) == 7:
                atc_by_name.setdefault(name_key(r["atc_name"]), set()).add(r["atc_code"])
    rows: dict[str, Row] = {}
    bases: dict[str, Row] = {}  # bare steroids of esters ("beclomethasone"), if not names already
    atc_by_id: dict[str, set[str]] = {}
    with (args.shared / VOCAB).open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            names = [r["Common name"], *r["Synonyms"].split(" | ")]
            if any(strip_salts(name_key(n)) in claimed for n in names[:1]):
                continue  # the entry of an immunomodulator (or one of its salts)
            codes = {c for n in names for c in atc_by_name.get(strip_salts(name_key(n)), set())}
            atc_by_id[r["DrugBank ID"]] = codes
            category = category_of(codes)
            for n in names:
                n = n.strip()
                key = name_key(n)
                if not key or not plausible_name(n):
                    continue
                if contains_claimed(key, claimed):
                    continue  # a form or combination of an immunomodulator: the resolver
                    # finds the immunomodulator inside it, so the name must not hide it
                rows.setdefault(key, (n, r["DrugBank ID"], category, ""))
                base = steroid_base(key)
                if base and not contains_claimed(base, claimed):
                    bases.setdefault(base, (base, r["DrugBank ID"], category, n))
    rows |= {k: v for k, v in bases.items() if k not in rows}
    # common English words (written in lower case in the dictionary: "emend", "sonata");
    # capitalised entries are names, brands among them ("Viagra"), and stay
    words = (
        {w.strip() for w in WORDS.read_text(encoding="utf-8").splitlines() if w.islower()}
        if WORDS.exists()
        else set()
    )
    brands = brand_rows(
        ema_brands(args.shared) + purple_brands(args.shared),
        rows,
        claimed,
        atc_by_id,
        scope_prefixes(),
        words,
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        fh.write("# GENERATED by scripts/derive_other_drugs.py from the DrugBank open vocabulary\n")
        fh.write("# (CC0 1.0; Knox C et al., DrugBank 6.0, NAR 2024), the EMA medicines list\n")
        fh.write("# (output of 12 February 2025) and the FDA Purple Book (February 2025).\n")
        fh.write("# Do not edit by hand.\n")
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["name", "drugbank_id", "category", "canonical"])
        every = rows | brands
        for key in sorted(every):
            w.writerow(every[key])
    print(f"{len(rows)} non-immunomodulator names and {len(brands)} brands -> {OUT}")


if __name__ == "__main__":
    main()
