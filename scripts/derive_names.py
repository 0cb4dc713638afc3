"""Derive names, brands, biosimilars and approvals for every ingredient from ../shared/data.

Run from the repository root (re-run whenever drug files or the shared data change):

    .venv/bin/python scripts/derive_names.py --shared ../shared \\
        --out src/immunomod/knowledge/data/derived/names.yaml

Every ``drugs/*.yaml`` present is read (``id``, ``inn``, ``names.synonyms``, ``names.salts``);
a file that does not parse is reported and skipped. Names from the reference tables are
matched whole, case- and accent-insensitively, trying in turn: the exact name, US/INN spelling
variants (cyclosporine/ciclosporin, mesalamine/mesalazine ...), the name without salt/ester
words (sodium, hydrochloride, acetate, mofetil ...), and the ``us_aliases`` of the WHO filter
list (only for the ingredient whose INN is that WHO INN). Two ingredients matching at the same
step is ambiguous: the name is skipped and reported.

For each ingredient the script writes a partial record (the ``DerivedNames`` model):

* ``atc``: level-5 WHO ATC codes whose WHO name is the INN, a synonym or a listed salt
  (spelling variants allowed, salt words not stripped: ``hydrocortisone butyrate`` is its own
  ATC entry).
* ``names``: synonyms and development codes from the DrugBank open vocabulary row whose common
  name matches (the row matching the INN itself is preferred). Dropped: names shorter than 4
  characters, pure numbers, chemical names (leading digit or locant such as ``N-``/``alpha-``,
  brackets, commas, slashes, Greek letters, over 40 characters), descriptions (recombinant,
  monoclonal antibody, pegylated, anti-CD20 ...), non-Latin scripts, all-capital abbreviations
  (MTX, PRDL: curate those under ``abbreviations``), clipped forms (atezo, tacro), salt/hydrate
  forms of the INN, biosimilar suffix names (``adalimumab-atto``: the Purple Book provides those;
  kept only when it is the US proper name of a 351(a) product, e.g. ``tildrakizumab-asmn``), and
  anything that is a name of another ingredient in the knowledge base, the common name of another
  DrugBank entry or a synonym shared with another DrugBank entry. Codes are capitals and digits
  (``D2E7``, ``CP-690550``, ``ABP 206``).
* ``brands`` (``originator: true``): US brands from Purple Book 351(a) rows and Drugs@FDA NDA/BLA
  products, and ANDA products sold under a brand of their own (branded generics such as Gengraf,
  ``originator: false``). Skipped: products whose application has no Applications row;
  products named after the ingredient (``METHOTREXATE SODIUM``, ``Methotrexate LPF``);
  combinations (a co-formulated hyaluronidase is ignored, so Rituxan Hycela is a rituximab
  brand; a combination matches only an ingredient that is itself that combination); suffixed
  biosimilar BLAs unless the Purple Book lists the BLA as 351(a) (Zymfentra); tentative
  approvals. EU brands from EMA human medicines that are neither biosimilar nor generic/hybrid;
  never-authorised EMA entries (refused, application withdrawn, opinion pending) are skipped.
  Duplicate names (same ``name_key``) are merged: union of markets, routes and sources; the EMA
  spelling is preferred (CellCept), then the Purple Book's, then Drugs@FDA's (title-cased).
  Per market, status and routes come from the newest source that has the brand (US: Purple Book
  2025 before Drugs@FDA 2022; EU: withdrawn, lapsed, expired, revoked or suspended count as
  discontinued). ``discontinued`` is true when the brand is off the market everywhere it was
  found; a ``note`` names the markets when they differ. Routes map only when the source is clear
  ('INJECTABLE;INJECTION' gives none; intravitreal/intraocular count as ophthalmic); EMA data
  carry no route.
* ``biosimilars``: one US entry per Purple Book 351(k) proper name (``interchangeable`` when any
  presentation is licensed as interchangeable; licence revoked everywhere: left out). EU brands
  from EMA rows flagged ``Biosimilar = Yes``, or flagged No but named as a biosimilar elsewhere
  (Purple Book 351(k), another EMA row): one entry for authorised medicines and a second entry,
  with a ``note``, for withdrawn/lapsed ones, kept so that older records still resolve; refused
  or never-authorised applications are skipped.
* ``regulatory``: FDA status and year of first licensure of the 351(a) product(s) (Purple Book
  ``Date of First Licensure``, else ``Approval Date``; two-digit years 26-99 are 19xx, 00-25
  are 20xx); EMA status and year of the first central marketing authorisation of a
  non-biosimilar, non-generic product (``Marketing authorisation date``; the ``European
  Commission decision date`` column holds the latest decision, so it is only a fallback). Each
  has a ``detail`` naming the product. Drugs@FDA has no approval dates, so small molecules get
  no FDA entry from here.

Any derived name (brand, biosimilar brand, proper name, synonym, code) that another ingredient
also claims, curated or derived, is left out of every ingredient that derived it and reported
on stderr: a name must lead to one ingredient (``immunomod kb validate`` checks the same).
Output is deterministic: sorted keys, sorted lists, a fixed header comment.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from immunomod.knowledge.normalise import name_key

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DRUGS = ROOT / "src" / "immunomod" / "knowledge" / "data" / "drugs"
HEADER = "# GENERATED by scripts/derive_names.py from ../shared/data — do not edit by hand.\n"

FILES = {
    "atc": "data/atc/who_atc_ddd_2026-04-25.csv",
    "aliases": "data/atc/immunomodulator_ingredient_filter.csv",
    "drugbank": "data/drugbank/drugbank_vocabulary.csv",
    "purple": "data/fda/purplebook_2025-02_dedup.csv",
    "products": "data/fda/drugsatfda_2022-08_products_immunomodulators.tsv",
    "applications": "data/fda/drugsatfda_2022-08_applications_immunomodulators.tsv",
    "marketing": "data/fda/drugsatfda_2022-08_marketingstatus_immunomodulators.tsv",
    "status_lookup": "data/fda/drugsatfda_2022-08_MarketingStatus_Lookup.txt",
    "ema": "data/ema/ema_medicines_epar_2025-02-12.csv",
}

SRC_ATC = "who-atc-2026"
SRC_DRUGBANK = "drugbank-vocabulary"
SRC_PURPLE = "fda-purple-book"
SRC_DAF = "fda-drugsatfda"
SRC_EMA = "ema-medicines"

# --- Names and keys --------------------------------------------------------------------------

#: Words that name a salt, ester or hydrate rather than the ingredient (whole tokens only).
SALT_WORDS = frozenset(
    {
        "sodium", "disodium", "potassium", "calcium", "magnesium", "hydrochloride",
        "dihydrochloride", "hcl", "hydrobromide", "citrate", "acetate", "diacetate", "sulfate",
        "sulphate", "phosphate",
        "mofetil", "succinate", "hemisuccinate", "tebutate", "cypionate", "pivalate", "butyrate",
        "probutate", "buteprate", "valerate", "propionate", "dipropionate", "benzoate", "acetonide",
        "hexacetonide", "tartrate", "maleate", "mesylate", "fumarate", "lauryl", "monohydrate",
        "dihydrate", "hydrate", "anhydrous",
    }
)  # fmt: skip
#: US/INN (and a few other) spelling variants, token by token, mapped to the WHO INN spelling.
SPELLING = {
    "cyclosporine": "ciclosporin",
    "cyclosporin": "ciclosporin",
    "ciclosporine": "ciclosporin",
    "beclomethasone": "beclometasone",
    "mesalamine": "mesalazine",
    "sulphasalazine": "sulfasalazine",
    "desoxycorticosterone": "desoxycortone",
    "cosyntropin": "tetracosactide",
    "alpha": "alfa",
    "sulphate": "sulfate",
}
_KEY_REWRITES = (("fumaric acid", "fumarate"),)

LEVELS = ("exact", "spelling", "base", "alias")

_SUFFIX = re.compile(r"^(?P<base>.*\S)-(?P<suffix>[a-z]{4})$")
_CODE = re.compile(r"[A-Z][A-Z0-9]*(?:[-, ][A-Z0-9]+)*")
_CHEMICAL_CHARS = set("()[]{},;:+±'\"/")
_LOCANT = re.compile(r"^(?:[A-Za-z]|alpha|beta|gamma|delta|trans|cis|dl)-", re.IGNORECASE)
#: Words that make a DrugBank synonym a description rather than a name.
_DESCRIPTIVE_WORDS = frozenset(
    {
        "recombinant", "monoclonal", "antibody", "humanized", "humanised", "chimeric",
        "pegylated", "glycosylated", "inhibitor", "protein", "cell", "cells", "ester", "base",
        "alcohol", "agent", "fusion", "hydrogen", "polypeptide", "rdna", "redirected",
    }
)  # fmt: skip
_GREEK = re.compile(r"[\u0370-\u03ff]")


def spell_key(name: str) -> str:
    """``name_key`` with spelling variants mapped to the INN (cyclosporine -> ciclosporin)."""
    return " ".join(SPELLING.get(t, t) for t in name_key(name).split())


def strip_salts(key: str) -> str:
    """Drop salt/ester/hydrate words from a key; keep the key if nothing else would remain."""
    for old, new in _KEY_REWRITES:
        key = re.sub(rf"\b{old}\b", new, key)
    tokens = key.split()
    kept = [t for t in tokens if t not in SALT_WORDS]
    return " ".join(kept) if kept else " ".join(tokens)


def base_key(name: str) -> str:
    """Spelling-normalised key without salt words: 'CYCLOSPORINE' and 'ciclosporin' meet."""
    return strip_salts(spell_key(name))


def biosimilar_split(name: str) -> tuple[str, str] | None:
    """``('adalimumab', 'atto')`` for 'adalimumab-atto'; None if there is no 4-letter suffix."""
    m = _SUFFIX.match(name.strip())
    return (m["base"], m["suffix"]) if m else None


#: Short words kept in capitals when title-casing a product name (Asacol HD, Xeljanz XR).
_KEEP_UPPER = frozenset(
    {
        "XR", "XL", "ER", "SR", "CR", "DR", "LA", "HC", "HD", "AF", "AQ", "EC", "ODT", "PFS",
        "LPF", "HFA", "TBA", "BCG", "II", "III",
    }
)  # fmt: skip
_SMALL_WORDS = frozenset({"in", "and", "of", "for", "with"})


def title_case(name: str) -> str:
    """'RESTASIS MULTIDOSE' -> 'Restasis Multidose', 'DEPO-MEDROL' -> 'Depo-Medrol'."""
    out = re.sub(r"(^|[\s\-/(])([a-z])", lambda m: m[1] + m[2].upper(), name.lower())
    words = []
    for i, word in enumerate(out.split()):
        if i and word.lower() in _SMALL_WORDS:
            words.append(word.lower())
            continue
        parts = [p.upper() if p.upper() in _KEEP_UPPER else p for p in word.split("-")]
        words.append("-".join(parts))
    return " ".join(words)


def display_name(name: str) -> str:
    """Title-case names written all in capitals or all in lower case; keep 'CellCept' as is."""
    name = " ".join(name.split())
    return title_case(name) if name.isupper() or name.islower() else name


def clean_brand(name: str, *, strip_salt_words: bool = False) -> str:
    """Trim a product name: drop '(LYOPHILIZED)'-style remarks and ®/™; optionally salt words."""
    name = re.sub(r"\([^)]*\)", " ", name)
    name = re.sub(r"[®™]", "", name)
    words = name.split()
    if strip_salt_words:
        while len(words) > 1 and words[-1].lower() in SALT_WORDS:
            words.pop()
    return " ".join(words)


def ema_names(name: str) -> list[str]:
    """'Rituzena (previously Tuxella)' -> ['Rituzena', 'Tuxella']."""
    out = [clean_brand(name)]
    for m in re.finditer(r"\(previously\s+([^)]+)\)", name, flags=re.IGNORECASE):
        out += [clean_brand(p) for p in re.split(r",|\bor\b", m[1]) if p.strip()]
    return [n for n in out if n]


def split_proprietary(text: str) -> list[str]:
    """Purple Book 'Proprietary Name' may list several names: 'Bayrab, Hyperrab'."""
    return [p.strip() for p in text.split(",") if p.strip() and p.strip().upper() != "N/A"]


# --- Dates -----------------------------------------------------------------------------------

_MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}


def parse_purple_date(text: str, pivot: int = 26) -> date | None:
    """Purple Book 'D-Mon-YY' approval dates: years ``pivot``-99 are 19xx, the rest 20xx.

    (The README: albumin, antivenins and allergenics were licensed from the 1930s; the data
    end in February 2025.) Exclusivity columns run into the 2030s and need another pivot.
    """
    m = re.fullmatch(r"\s*(\d{1,2})-([A-Za-z]{3})-(\d{2})\s*", text or "")
    if not m or m[2].lower() not in _MONTHS:
        return None
    yy = int(m[3])
    year = 1900 + yy if yy >= pivot else 2000 + yy
    return date(year, _MONTHS[m[2].lower()], int(m[1]))


def parse_dmy(text: str) -> date | None:
    """EMA 'DD/MM/YYYY' dates."""
    try:
        return datetime.strptime((text or "").strip(), "%d/%m/%Y").date()
    except ValueError:
        return None


# --- Routes ----------------------------------------------------------------------------------

ROUTES = {
    "ORAL": "oral",
    "ORALLY DISINTEGRATING": "oral",
    "SUBCUTANEOUS": "sc",
    "INTRAVENOUS": "iv",
    "IV": "iv",
    "IV (INFUSION)": "iv",
    "INTRAMUSCULAR": "im",
    "TOPICAL": "topical",
    "OPHTHALMIC": "ophthalmic",
    "INTRAVITREAL": "ophthalmic",
    "INTRAOCULAR": "ophthalmic",
    "OTIC": "otic",
    "INHALATION": "inhaled",
    "NASAL": "intranasal",
    "RECTAL": "rectal",
    "INTRA-ARTICULAR": "intra-articular",
    "INTRALESIONAL": "intralesional",
    "INTRATHECAL": "intrathecal",
    "INTRAVESICAL": "intravesical",
    "SUBLINGUAL": "sublingual",
    "BUCCAL": "buccal",
}


def _route(token: str) -> str | None:
    token = " ".join(token.upper().split())
    if token in ROUTES:
        return ROUTES[token]
    first = token.split(" ")[0] if token else ""
    return ROUTES.get(first)


def form_routes(form: str) -> list[str]:
    """Routes from a Drugs@FDA ``Form`` ('TABLET;ORAL' -> ['oral']); [] when unclear.

    'INJECTABLE;INJECTION' says nothing about iv or sc, so it gives no route; a form with no
    route part is read as oral only for tablets and capsules.
    """
    _, sep, route_part = form.partition(";")
    if not sep:
        return ["oral"] if re.match(r"\s*(TABLET|CAPSULE)", form.upper()) else []
    routes = {_route(t) for t in route_part.split(",")}
    return sorted(r for r in routes if r)


def purple_routes(text: str) -> list[str]:
    """Routes from a Purple Book 'Route of Administration' ('Intravenous, Subcutaneous')."""
    return sorted({r for t in text.split(",") if (r := _route(t))})


# --- Ingredients and matching ----------------------------------------------------------------


@dataclass(frozen=True)
class KbIngredient:
    """What the script needs from a drug file: names to match on and names already claimed."""

    id: str
    inn: str
    match_names: tuple[str, ...]
    curated_names: tuple[str, ...]


def ingredient_from_data(data: Mapping[str, Any], stem: str) -> KbIngredient:
    """Read the id, INN, synonyms, salts and every claimed name from a drug file's mapping."""
    iid = str(data.get("id") or stem)
    inn = str(data.get("inn") or iid.replace("-", " "))
    raw = data.get("names")
    names: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    syn = [str(s) for s in names.get("synonyms") or []]
    salts = [str(s) for s in names.get("salts") or []]
    others = [str(s) for k in ("abbreviations", "codes") for s in names.get(k) or []]
    brands = [
        str(b["name"]) for b in data.get("brands") or [] if isinstance(b, dict) and b.get("name")
    ]
    bios: list[str] = []
    for b in data.get("biosimilars") or []:
        if isinstance(b, dict):
            bios += [str(b["proper_name"])] if b.get("proper_name") else []
            bios += [str(n) for n in b.get("brands") or []]
    match = (inn, iid.replace("-", " "), *syn, *salts)
    return KbIngredient(iid, inn, match, (*match, *others, *brands, *bios))


class Matcher:
    """Find the one ingredient a name from the reference data means.

    Levels, tried in order (the first level with any hit decides; two hits there is
    ambiguous and matches nothing): ``exact`` (name_key), ``spelling`` (US/INN variants),
    ``base`` (salt words dropped) and ``alias``: the ``base`` keys plus extra names listed for
    the ingredient's WHO INN (``aliases``: alias -> INN, e.g. the ``us_aliases`` column of the
    immunomodulator filter list). An alias only applies to the ingredient whose INN (or id) is
    that WHO INN, so a curator's narrower entry (``bcg``: intravesical BCG only) does not pick
    up 'BCG vaccine' products.
    """

    def __init__(
        self, ingredients: Iterable[KbIngredient], aliases: Mapping[str, str] | None = None
    ) -> None:
        self.ingredients = {i.id: i for i in ingredients}
        by_inn: dict[str, set[str]] = defaultdict(set)
        for alias, inn in (aliases or {}).items():
            by_inn[spell_key(inn)].add(alias)
        self.extra: dict[str, set[str]] = {}
        for ing in self.ingredients.values():
            own = {spell_key(ing.inn), spell_key(ing.id.replace("-", " "))}
            self.extra[ing.id] = {a for k in own for a in by_inn.get(k, ())}
        self._index: dict[str, dict[str, set[str]]] = {lvl: defaultdict(set) for lvl in LEVELS}
        for ing in self.ingredients.values():
            for lvl in LEVELS:
                for n in self.names(ing.id, lvl):
                    self._index[lvl][self.key(n, lvl)].add(ing.id)
        self.ambiguous: dict[str, tuple[str, ...]] = {}

    def names(self, iid: str, level: str) -> tuple[str, ...]:
        """The names an ingredient answers to at ``level``."""
        own = self.ingredients[iid].match_names
        return (*own, *sorted(self.extra.get(iid, ()))) if level == "alias" else own

    @staticmethod
    def key(name: str, level: str) -> str:
        if level == "exact":
            return name_key(name)
        if level == "spelling":
            return spell_key(name)
        return base_key(name)

    def match_level(self, name: str, max_level: str = "alias") -> tuple[str | None, int]:
        """(ingredient id, level index) or (None, len(LEVELS))."""
        for i, lvl in enumerate(LEVELS[: LEVELS.index(max_level) + 1]):
            ids = self._index[lvl].get(self.key(name, lvl))
            if ids:
                if len(ids) == 1:
                    return next(iter(ids)), i
                self.ambiguous[name] = tuple(sorted(ids))
                return None, len(LEVELS)
        return None, len(LEVELS)

    def match(self, name: str, max_level: str = "alias") -> str | None:
        return self.match_level(name, max_level)[0]

    def generic_keys(self, iid: str) -> set[str]:
        """Keys of the ingredient's own names: a 'brand' that starts with one is generic."""
        return {base_key(n) for n in self.names(iid, "alias")}


def is_generic_name(name: str, generic_keys: Iterable[str]) -> bool:
    """True for 'METHOTREXATE SODIUM PRESERVATIVE FREE' when 'methotrexate' is a generic key."""
    k = base_key(name)
    return any(k == g or k.startswith(g + " ") for g in generic_keys if g)


def resolve_components(
    components: Sequence[str], matcher: Matcher
) -> tuple[str | None, str | None]:
    """Match the active ingredient(s) of one product: (ingredient id, name that matched).

    A combination matches only if the knowledge base has it as one ingredient ('nivolumab and
    relatlimab'); a hyaluronidase co-ingredient (subcutaneous delivery enzyme) is ignored.
    """
    comps = [c.strip() for c in components if c.strip()]
    actives = [c for c in comps if not name_key(c).startswith("hyaluronidase")]
    if len(actives) == 1:
        return matcher.match(actives[0]), actives[0]
    for group in (comps, actives):
        if len(group) > 1:
            whole = " and ".join(group)
            iid = matcher.match(whole, max_level="spelling")
            if iid:
                return iid, whole
    return None, None


def purple_components(proper_name: str) -> list[str]:
    """'rituximab and hyaluronidase human' -> ['rituximab', 'hyaluronidase human']."""
    return [p for p in re.split(r",\s*(?:and\s+)?|\s+and\s+", proper_name) if p.strip()]


# --- Brand observations and merging ----------------------------------------------------------

_SOURCE_PRIORITY = {SRC_EMA: 0, SRC_PURPLE: 1, SRC_DAF: 2}
_MARKET_SOURCES = {"US": (SRC_PURPLE, SRC_DAF), "EU": (SRC_EMA,)}


@dataclass(frozen=True)
class BrandObs:
    """One product row seen under a brand name in one source."""

    name: str
    market: str
    source: str
    discontinued: bool
    routes: tuple[str, ...] = ()
    originator: bool = True  # False: a branded generic (Drugs@FDA ANDA)


def merge_brands(observations: Iterable[BrandObs]) -> list[dict[str, Any]]:
    """Group observations by name key into Brand records (union of markets, routes, sources).

    Per market, a brand is discontinued when every row of its most current source says so
    (Purple Book before Drugs@FDA in the US); overall when it is discontinued in every market.
    Routes, too, come from the most current source that gives any for the market.
    """
    groups: dict[str, list[BrandObs]] = defaultdict(list)
    for o in observations:
        groups[name_key(o.name)].append(o)
    out = []
    for _, obs in sorted(groups.items()):
        name = min(obs, key=lambda o: (_SOURCE_PRIORITY.get(o.source, 9), o.name)).name
        disc_by_market: dict[str, bool] = {}
        routes: set[str] = set()
        for market in sorted({o.market for o in obs}):
            by_source = [
                [o for o in obs if o.market == market and o.source == src]
                for src in _MARKET_SOURCES.get(market, ())
            ]
            by_source = [rows for rows in by_source if rows]
            if not by_source:
                continue
            disc_by_market[market] = all(o.discontinued for o in by_source[0])
            for rows in by_source:
                if any(o.routes for o in rows):
                    routes |= {r for o in rows for r in o.routes}
                    break
        rec: dict[str, Any] = {
            "name": name,
            "markets": sorted(disc_by_market),
            "originator": any(o.originator for o in obs),
            "discontinued": bool(disc_by_market) and all(disc_by_market.values()),
            "routes": sorted(routes),
            "sources": sorted({o.source for o in obs}),
            "confidence": "high",
        }
        gone = [m for m, d in disc_by_market.items() if d]
        if gone and not rec["discontinued"]:
            still = [m for m, d in disc_by_market.items() if not d]
            rec["note"] = f"discontinued in {', '.join(gone)}; marketed in {', '.join(still)}"
        out.append(rec)
    return out


# --- Source tables -> per-ingredient records -------------------------------------------------


def atc_codes(rows: Iterable[Mapping[str, str]], matcher: Matcher) -> dict[str, list[str]]:
    """Level-5 codes whose WHO name is an ingredient's INN, synonym or salt (no salt stripping)."""
    found: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        code = (r.get("atc_code") or "").strip()
        if not re.fullmatch(r"[A-Z]\d{2}[A-Z]{2}\d{2}", code):
            continue
        iid = matcher.match(r.get("atc_name") or "", max_level="spelling")
        if iid:
            found[iid].add(code)
    return {iid: sorted(codes) for iid, codes in found.items()}


def classify_synonym(
    syn: str,
    inn: str,
    *,
    foreign: AbstractSet[str] = frozenset(),
    keep_suffixed: AbstractSet[str] = frozenset(),
) -> tuple[str, str]:
    """('synonym'|'code'|'drop', reason) for one DrugBank synonym of ingredient ``inn``.

    ``foreign`` holds name keys owned elsewhere (other ingredients, other DrugBank entries);
    ``keep_suffixed`` the keys of suffixed names that are a 351(a) proper name of this drug.
    """
    s = " ".join(syn.split())
    k = name_key(s)
    if not k or k == name_key(inn):
        return "drop", "same as the INN"
    if is_biosimilar_name(s, inn) and k not in keep_suffixed:
        return "drop", "biosimilar suffix name (from the Purple Book instead)"
    if k in foreign:
        return "drop", "name of another drug"
    words = set(k.split())
    anti = re.match(r"anti\b", k) and not words & {"globulin", "immunoglobulin"}
    if words & _DESCRIPTIVE_WORDS or anti:
        return "drop", "a description, not a name"
    if (
        len(s) >= 4
        and len(s) <= 15
        and len(s.split()) <= 2
        and _CODE.fullmatch(s)
        and any(c.isdigit() for c in s)
    ):
        return "code", "development code"
    if len(s) < 4:
        return "drop", "shorter than 4 characters"
    if re.fullmatch(r"[\d\s.,-]+", s):
        return "drop", "a number"
    if (
        s[0].isdigit()
        or _LOCANT.match(s)
        or _CHEMICAL_CHARS & set(s)
        or _GREEK.search(s)
        or len(s) > 40
    ):
        return "drop", "chemical name"
    if any(c.isalpha() and not ("a" <= c.lower() <= "z" or "\u00c0" <= c <= "\u024f") for c in s):
        return "drop", "non-Latin script"
    if s.isupper() and (" " in s or (s.replace("-", "").isalpha() and len(s) <= 5)):
        return "drop", "abbreviation or capitalised description"
    ik = name_key(inn)
    if len(ik) - len(k) >= 3 and ik.startswith(k) and ik[len(k)].isalpha():
        return "drop", "clipped form of the INN (atezo, tacro)"
    salt_free = strip_salts(name_key(s))
    if salt_free != name_key(s) and spell_key(salt_free) == spell_key(inn):
        return "drop", "salt or hydrate form"
    return "synonym", ""


def is_biosimilar_name(name: str, inn: str) -> bool:
    """'adalimumab-atto' or 'bevacizumab awwb' for 'adalimumab'/'bevacizumab' (INN + 4 letters).

    A space-separated Greek-letter word ('adalimumab beta') is a name variant, not a suffix.
    """
    m = re.fullmatch(r"(?P<base>.*\S)(?P<sep>[- ])(?P<suffix>[a-z]{4})", name.strip().lower())
    if not m or spell_key(m["base"]) != spell_key(inn):
        return False
    return m["sep"] == "-" or m["suffix"] not in {"alfa", "beta", "zeta", "iota", "pegol"}


def _lower_first(s: str) -> str:
    """'Ciclosporina' -> 'ciclosporina'; 'Cyclosporin A' -> 'cyclosporin A'; 'SNG001' kept."""
    return s[0].lower() + s[1:] if len(s) > 1 and s[1].islower() else s


def split_synonyms(
    synonyms: Iterable[str],
    inn: str,
    *,
    foreign: AbstractSet[str] = frozenset(),
    keep_suffixed: AbstractSet[str] = frozenset(),
) -> tuple[list[str], list[str]]:
    """(synonyms, codes) kept from a DrugBank synonym list, de-duplicated by name key."""
    syns: dict[str, str] = {}
    codes: dict[str, str] = {}
    for raw in synonyms:
        kind, _ = classify_synonym(raw, inn, foreign=foreign, keep_suffixed=keep_suffixed)
        s = " ".join(raw.split())
        if kind == "synonym":
            syns.setdefault(
                name_key(s), s.lower() if is_biosimilar_name(s, inn) else _lower_first(s)
            )
        elif kind == "code":
            codes.setdefault(name_key(s), s)
    return [syns[k] for k in sorted(syns)], [codes[k] for k in sorted(codes)]


def drugbank_names(
    rows: Sequence[Mapping[str, str]],
    matcher: Matcher,
    *,
    keep_suffixed: Mapping[str, set[str]] | None = None,
) -> dict[str, dict[str, list[str]]]:
    """Synonyms and codes per ingredient from the best-matching DrugBank vocabulary row."""
    keep_suffixed = keep_suffixed or {}
    common: dict[str, set[str]] = defaultdict(set)
    syn_owners: dict[str, set[str]] = defaultdict(set)
    best: dict[str, tuple[tuple[int, int, str], Mapping[str, str]]] = {}
    for r in rows:
        dbid, cname = r.get("DrugBank ID", ""), r.get("Common name", "")
        common[name_key(cname)].add(dbid)
        for s in (r.get("Synonyms") or "").split(" | "):
            if s.strip():
                syn_owners[name_key(s)].add(dbid)
        iid, level = matcher.match_level(cname)
        if iid is None:
            continue
        rank = (level, 0 if name_key(cname) == name_key(matcher.ingredients[iid].inn) else 1, dbid)
        if iid not in best or rank < best[iid][0]:
            best[iid] = (rank, r)
    other_kb: dict[str, set[str]] = defaultdict(set)
    for ing in matcher.ingredients.values():
        for n in ing.curated_names:
            other_kb[name_key(n)].add(ing.id)
    out = {}
    for iid, (_, r) in sorted(best.items()):
        dbid = r["DrugBank ID"]
        synonyms = [s for s in (r.get("Synonyms") or "").split(" | ") if s.strip()]
        keys = {name_key(s) for s in synonyms}
        foreign = {
            k
            for k in keys
            if common.get(k, set()) - {dbid}
            or syn_owners.get(k, set()) - {dbid}
            or other_kb.get(k, set()) - {iid}
        }
        syns, codes = split_synonyms(
            synonyms,
            matcher.ingredients[iid].inn,
            foreign=foreign,
            keep_suffixed=keep_suffixed.get(iid, set()),
        )
        if syns or codes:
            out[iid] = {"synonyms": syns, "codes": codes}
    return out


@dataclass
class PurpleResult:
    brands: dict[str, list[BrandObs]] = field(default_factory=lambda: defaultdict(list))
    biosimilars: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    regulatory: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: BLA number -> '351(a)' or '351(k)', to tell originators from biosimilars in Drugs@FDA.
    bla_types: dict[int, str] = field(default_factory=dict)
    #: name keys of suffixed 351(a) proper names per ingredient (e.g. tildrakizumab-asmn).
    proper_351a: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def _match_proper(name: str, matcher: Matcher) -> str | None:
    iid, _ = resolve_components(purple_components(name), matcher)
    if iid is None and (split := biosimilar_split(name)):
        iid, _ = resolve_components(purple_components(split[0]), matcher)
    return iid


def purple_book(rows: Iterable[Mapping[str, str]], matcher: Matcher) -> PurpleResult:
    """Brands (351(a)), biosimilars (351(k)) and FDA first licensure from the Purple Book."""
    res = PurpleResult()
    first: dict[str, tuple[date, str, int]] = {}
    licensed: dict[str, bool] = defaultdict(bool)
    bios: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        btype = (r.get("BLA Type") or "").strip()
        try:
            bla = int(r.get("BLA Number") or "")
        except ValueError:
            continue
        res.bla_types.setdefault(bla, "351(a)" if btype == "351(a)" else "351(k)")
        proper = " ".join((r.get("Proper Name") or "").split())
        is_licensed = (r.get("Licensure") or "").strip() == "Licensed"
        if btype == "351(a)":
            iid = _match_proper(proper, matcher)
            if iid is None:
                continue
            if biosimilar_split(proper):
                res.proper_351a[iid].add(name_key(proper))
            disc = (r.get("Marketing Status") or "").startswith("Disc") or not is_licensed
            routes = tuple(purple_routes(r.get("Route of Administration") or ""))
            generic = matcher.generic_keys(iid) | {base_key(proper)}
            names = [clean_brand(n) for n in split_proprietary(r.get("Proprietary Name") or "")]
            for n in names:
                if n and not is_generic_name(n, generic):
                    res.brands[iid].append(
                        BrandObs(display_name(n), "US", SRC_PURPLE, disc, routes)
                    )
            when = parse_purple_date(r.get("Date of First Licensure") or "") or parse_purple_date(
                r.get("Approval Date") or ""
            )
            licensed[iid] |= is_licensed
            if when and (iid not in first or (when, bla) < (first[iid][0], first[iid][2])):
                first[iid] = (when, names[0] if names else proper, bla)
        elif btype.startswith("351(k)"):
            ref = (r.get("Ref. Product Proper Name") or "").strip()
            split = biosimilar_split(proper)
            iid = _match_proper(ref, matcher) if ref else None
            if iid is None and split:
                iid = _match_proper(split[0], matcher)
            if iid is None or not proper:
                continue
            entry = bios[iid].setdefault(
                name_key(proper),
                {"proper_name": proper, "brands": {}, "interchangeable": False, "licensed": False},
            )
            entry["interchangeable"] |= "interchangeable" in btype.lower()
            entry["licensed"] |= is_licensed
            for n in split_proprietary(r.get("Proprietary Name") or ""):
                n = display_name(clean_brand(n))
                if n and name_key(n) not in {name_key(proper), name_key(ref)}:
                    entry["brands"].setdefault(name_key(n), n)
    for iid, (when, brand, bla) in first.items():
        res.regulatory[iid] = {
            "agency": "FDA",
            "status": "approved" if licensed[iid] else "withdrawn",
            "year": when.year,
            "detail": f"first licensed {when.isoformat()}: {display_name(brand)} (BLA {bla})",
            "sources": [SRC_PURPLE],
            "confidence": "high",
        }
    for iid, entries in bios.items():
        res.biosimilars[iid] = [
            {
                "proper_name": e["proper_name"],
                "brands": [e["brands"][k] for k in sorted(e["brands"])],
                "markets": ["US"],
                "interchangeable": e["interchangeable"],
                "sources": [SRC_PURPLE],
                "confidence": "high",
            }
            for _, e in sorted(entries.items())
            if e["licensed"]
        ]
    return res


def status_ids(lookup_rows: Iterable[Mapping[str, str]], description: str) -> set[str]:
    """MarketingStatusID values whose description is ``description`` ('Discontinued')."""
    return {
        (r.get("MarketingStatusID") or "").strip()
        for r in lookup_rows
        if (r.get("MarketingStatusDescription") or "").strip().lower() == description.lower()
    }


def drugsatfda_brands(
    products: Iterable[Mapping[str, str]],
    applications: Iterable[Mapping[str, str]],
    marketing: Iterable[Mapping[str, str]],
    matcher: Matcher,
    *,
    bla_types: Mapping[int, str] | None = None,
    discontinued_ids: Iterable[str] = ("3",),
    tentative_ids: Iterable[str] = ("4",),
) -> dict[str, list[BrandObs]]:
    """US brands from Drugs@FDA: NDA and BLA products whose name is not the generic name."""
    bla_types = bla_types or {}
    disc_ids, tent_ids = set(discontinued_ids), set(tentative_ids)
    appl_type = {r["ApplNo"].strip(): (r.get("ApplType") or "").strip() for r in applications}
    status = {
        (r["ApplNo"].strip(), r["ProductNo"].strip()): (r.get("MarketingStatusID") or "").strip()
        for r in marketing
    }
    out: dict[str, list[BrandObs]] = defaultdict(list)
    for p in products:
        appl, prod = p["ApplNo"].strip(), p["ProductNo"].strip()
        kind = appl_type.get(appl)
        if kind not in {"NDA", "BLA", "ANDA"}:
            continue  # the few applications with no Applications row
        st = status.get((appl, prod), "")
        if st in tent_ids:
            continue
        comps = [c for c in (p.get("ActiveIngredient") or "").split(";") if c.strip()]
        actives = [c for c in comps if not name_key(c).startswith("hyaluronidase")]
        if len(actives) == 1 and (split := biosimilar_split(actives[0].strip().lower())):
            if bla_types.get(int(appl)) != "351(a)":
                continue  # a 351(k) biosimilar: the Purple Book lists it under biosimilars
            comps = [split[0]]
        iid, generic = resolve_components(comps, matcher)
        if iid is None or generic is None:
            continue
        name = clean_brand(p.get("DrugName") or "", strip_salt_words=True)
        if not name or is_generic_name(name, matcher.generic_keys(iid) | {base_key(generic)}):
            continue
        if kind == "ANDA" and sum(ch.isalpha() for ch in name) < 4:
            continue  # "HC", "HC #1", "S.A.S.-500": too short to read as a name in free text
        routes = tuple(form_routes(p.get("Form") or ""))
        # An ANDA product under its own name (Gengraf, Azasan, Neosar) is a branded generic:
        # records name it, so it is a name of the ingredient, marked originator: false.
        out[iid].append(
            BrandObs(title_case(name), "US", SRC_DAF, st in disc_ids, routes, kind != "ANDA")
        )
    return out


_EMA_ACTIVE = {"authorised"}
_EMA_GONE = {"withdrawn", "lapsed", "expired", "revoked", "suspended"}
_EMA_INN = "International non-proprietary name (INN) / common name"


@dataclass
class EmaResult:
    brands: dict[str, list[BrandObs]] = field(default_factory=lambda: defaultdict(list))
    biosimilars: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    regulatory: dict[str, dict[str, Any]] = field(default_factory=dict)


def _ema_ingredient(r: Mapping[str, str], matcher: Matcher) -> tuple[str | None, str | None]:
    iid, generic = resolve_components((r.get(_EMA_INN) or "").split(";"), matcher)
    if iid is None:
        iid, generic = resolve_components((r.get("Active substance") or "").split(";"), matcher)
    return iid, generic


def _yes(value: str | None) -> bool:
    return (value or "").strip().lower() == "yes"


def ema_medicines(
    rows: Iterable[Mapping[str, str]],
    matcher: Matcher,
    *,
    biosimilar_names: Mapping[str, AbstractSet[str]] | None = None,
) -> EmaResult:
    """EU brands, EU biosimilar brands and first central authorisation from the EMA list.

    A row flagged ``Biosimilar = No`` whose name is a biosimilar brand elsewhere (in
    ``biosimilar_names``, e.g. Purple Book 351(k) brands, or on another EMA row flagged as a
    biosimilar) is treated as a biosimilar: the EMA flag is missing on some (Steqeyma, Tuznue).
    """
    rows = [r for r in rows if (r.get("Category") or "").strip() == "Human"]
    known: dict[str, set[str]] = defaultdict(set)
    for owner, keys in (biosimilar_names or {}).items():
        known[owner] |= set(keys)
    for r in rows:
        if _yes(r.get("Biosimilar")):
            bio_iid, _ = _ema_ingredient(r, matcher)
            if bio_iid:
                known[bio_iid] |= {name_key(n) for n in ema_names(r.get("Name of medicine") or "")}
    res = EmaResult()
    bios: dict[str, dict[bool, dict[str, str]]] = defaultdict(lambda: {True: {}, False: {}})
    first: dict[str, tuple[date, str]] = {}
    states: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        status = (r.get("Medicine status") or "").strip().lower()
        if status not in _EMA_ACTIVE | _EMA_GONE:
            continue  # refused, application withdrawn, opinion pending: never authorised
        iid, generic = _ema_ingredient(r, matcher)
        if iid is None:
            continue
        inn = r.get(_EMA_INN) or ""
        names = [display_name(n) for n in ema_names(r.get("Name of medicine") or "")]
        active = status in _EMA_ACTIVE
        if _yes(r.get("Biosimilar")) or any(name_key(n) in known[iid] for n in names):
            for n in names:
                if name_key(n) not in {name_key(inn), name_key(generic or "")}:
                    bios[iid][active].setdefault(name_key(n), n)
            continue
        if _yes(r.get("Generic or hybrid")):
            continue
        gen = matcher.generic_keys(iid) | {base_key(generic or "")}
        for n in names:
            if not is_generic_name(n, gen):
                res.brands[iid].append(BrandObs(n, "EU", SRC_EMA, not active))
        when = parse_dmy(r.get("Marketing authorisation date") or "") or parse_dmy(
            r.get("European Commission decision date") or ""
        )
        states[iid].add(status)
        if when and names and (iid not in first or (when, names[0]) < first[iid]):
            first[iid] = (when, names[0])
    for iid, (when, name) in first.items():
        st = states[iid]
        overall = "withdrawn"
        if st & _EMA_ACTIVE:
            overall = "approved"
        elif "suspended" in st:
            overall = "suspended"
        res.regulatory[iid] = {
            "agency": "EMA",
            "status": overall,
            "year": when.year,
            "detail": f"first central EU authorisation {when.isoformat()}: {name}",
            "sources": [SRC_EMA],
            "confidence": "high",
        }
    for iid, by_state in bios.items():
        entries = []
        for active in (True, False):
            by_key = by_state[active]
            if not by_key:
                continue
            e: dict[str, Any] = {
                "brands": [by_key[k] for k in sorted(by_key)],
                "markets": ["EU"],
                "sources": [SRC_EMA],
                "confidence": "high",
            }
            if not active:
                e["note"] = "EU authorisation withdrawn, lapsed or expired; kept for name lookup"
            entries.append(e)
        res.biosimilars[iid] = entries
    return res


# --- Assembly, conflicts and output ----------------------------------------------------------


@dataclass
class Tables:
    """The reference tables, as lists of row mappings (tests build these inline)."""

    atc: list[dict[str, str]] = field(default_factory=list)
    aliases: list[dict[str, str]] = field(default_factory=list)
    drugbank: list[dict[str, str]] = field(default_factory=list)
    purple: list[dict[str, str]] = field(default_factory=list)
    products: list[dict[str, str]] = field(default_factory=list)
    applications: list[dict[str, str]] = field(default_factory=list)
    marketing: list[dict[str, str]] = field(default_factory=list)
    status_lookup: list[dict[str, str]] = field(default_factory=list)
    ema: list[dict[str, str]] = field(default_factory=list)


def alias_pairs(rows: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """alias -> INN from the filter list's ``us_aliases`` column ('cyclosporine' -> ...)."""
    out = {}
    for r in rows:
        for a in (r.get("us_aliases") or "").split(";"):
            if a.strip():
                out[a.strip()] = (r.get("inn") or "").strip()
    return out


def _names_in(rec: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """(name, kind) for every name a derived record claims."""
    names = rec.get("names") or {}
    yield from ((s, "synonym") for s in names.get("synonyms", []))
    yield from ((s, "code") for s in names.get("codes", []))
    yield from ((b["name"], "brand") for b in rec.get("brands", []))
    for b in rec.get("biosimilars", []):
        if b.get("proper_name"):
            yield b["proper_name"], "biosimilar"
        yield from ((n, "biosimilar-brand") for n in b.get("brands", []))


def find_conflicts(
    records: Mapping[str, Mapping[str, Any]], ingredients: Iterable[KbIngredient]
) -> dict[str, list[tuple[str, str, str]]]:
    """Name key -> [(ingredient, kind, name)] for derived names claimed by 2+ ingredients."""
    claims: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for ing in ingredients:
        for n in ing.curated_names:
            claims[name_key(n)].append((ing.id, "curated", n))
    derived: set[str] = set()
    for iid, rec in records.items():
        for n, kind in _names_in(rec):
            claims[name_key(n)].append((iid, kind, n))
            derived.add(name_key(n))
    return {
        k: sorted(set(v))
        for k, v in sorted(claims.items())
        if k in derived and len({i for i, _, _ in v}) > 1
    }


def drop_names(record: Mapping[str, Any], keys: set[str]) -> dict[str, Any]:
    """A copy of ``record`` without the names whose key is in ``keys`` (empty parts removed)."""
    rec = dict(record)
    if "names" in rec:
        names = {
            k: [s for s in v if name_key(s) not in keys] if k in ("synonyms", "codes") else v
            for k, v in rec["names"].items()
        }
        if names["synonyms"] or names["codes"]:
            rec["names"] = names
        else:
            del rec["names"]
    if "brands" in rec:
        rec["brands"] = [b for b in rec["brands"] if name_key(b["name"]) not in keys]
    if "biosimilars" in rec:
        kept = []
        for b in rec["biosimilars"]:
            b = {**b, "brands": [n for n in b["brands"] if name_key(n) not in keys]}
            if b.get("proper_name") and name_key(b["proper_name"]) in keys:
                continue
            if b.get("proper_name") or b["brands"]:
                kept.append(b)
        rec["biosimilars"] = kept
    return {k: v for k, v in rec.items() if v}


def derive(
    ingredients: Sequence[KbIngredient], tables: Tables
) -> tuple[dict[str, dict[str, Any]], dict[str, list[tuple[str, str, str]]], Matcher]:
    """Every ingredient's derived record, the conflicts left out, and the matcher used."""
    matcher = Matcher(ingredients, alias_pairs(tables.aliases))
    atc = atc_codes(tables.atc, matcher)
    pb = purple_book(tables.purple, matcher)
    names = drugbank_names(tables.drugbank, matcher, keep_suffixed=pb.proper_351a)
    disc_ids = status_ids(tables.status_lookup, "Discontinued") or {"3"}
    tent_ids = status_ids(tables.status_lookup, "None (Tentative Approval)") or {"4"}
    daf = drugsatfda_brands(
        tables.products,
        tables.applications,
        tables.marketing,
        matcher,
        bla_types=pb.bla_types,
        discontinued_ids=disc_ids,
        tentative_ids=tent_ids,
    )
    pb_bios = {
        iid: {name_key(n) for e in entries for n in e["brands"]}
        for iid, entries in pb.biosimilars.items()
    }
    ema = ema_medicines(tables.ema, matcher, biosimilar_names=pb_bios)
    records: dict[str, dict[str, Any]] = {}
    for ing in sorted(ingredients, key=lambda i: i.id):
        iid = ing.id
        rec: dict[str, Any] = {}
        if atc.get(iid):
            rec["atc"] = {"codes": atc[iid], "sources": [SRC_ATC], "confidence": "high"}
        if iid in names:
            rec["names"] = {**names[iid], "sources": [SRC_DRUGBANK], "confidence": "high"}
        brands = merge_brands(
            [*pb.brands.get(iid, []), *daf.get(iid, []), *ema.brands.get(iid, [])]
        )
        if brands:
            rec["brands"] = brands
        bios = [*pb.biosimilars.get(iid, []), *ema.biosimilars.get(iid, [])]
        if bios:
            rec["biosimilars"] = bios
        reg = [r for r in (ema.regulatory.get(iid), pb.regulatory.get(iid)) if r]
        if reg:
            rec["regulatory"] = reg
        if rec:
            records[iid] = rec
    conflicts = find_conflicts(records, ingredients)
    if conflicts:
        records = {iid: drop_names(rec, set(conflicts)) for iid, rec in records.items()}
        records = {iid: rec for iid, rec in records.items() if rec}
    return records, conflicts, matcher


class _Dumper(yaml.SafeDumper):
    """Block mappings, with short lists of scalars written inline ('markets: [EU, US]')."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(x, str | int | bool) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def dump(records: Mapping[str, Any]) -> str:
    """The output file: header comment plus YAML with sorted keys."""
    body = yaml.dump(
        dict(sorted(records.items())),
        Dumper=_Dumper,
        sort_keys=True,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return HEADER + body


# --- File reading and command line -----------------------------------------------------------


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV (comma) or TSV/TXT (tab, no quoting) file as dicts."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        if path.suffix in {".tsv", ".txt"}:
            return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
        return list(csv.DictReader(fh))


def read_tables(shared: Path) -> Tables:
    return Tables(**{k: read_rows(shared / rel) for k, rel in FILES.items()})


def load_ingredients(drugs_dir: Path) -> list[KbIngredient]:
    """Every drug file that parses; one that does not (mid-edit) is reported and skipped."""
    out = []
    for path in sorted(drugs_dir.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            why = " ".join(str(exc).split())
            print(f"warning: {path.name}: not valid YAML, skipped ({why})", file=sys.stderr)
            continue
        if not isinstance(data, dict):
            print(f"warning: {path.name}: not a mapping, skipped", file=sys.stderr)
            continue
        out.append(ingredient_from_data(data, path.stem))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="shared folder")
    ap.add_argument("--out", type=Path, required=True, help="output YAML (derived/names.yaml)")
    ap.add_argument("--drugs", type=Path, default=DEFAULT_DRUGS, help="folder of drug files")
    args = ap.parse_args(argv)

    ingredients = load_ingredients(args.drugs)
    records, conflicts, matcher = derive(ingredients, read_tables(args.shared))
    for _, claims in conflicts.items():
        who = "; ".join(f"{iid} ({kind})" for iid, kind, _ in claims)
        print(f"conflict: '{claims[0][2]}' is claimed by {who}: left out", file=sys.stderr)
    for name, ids in sorted(matcher.ambiguous.items()):
        print(f"ambiguous: '{name}' matches {', '.join(ids)}: skipped", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dump(records), encoding="utf-8")
    for ing in sorted(ingredients, key=lambda i: i.id):
        rec = records.get(ing.id, {})
        n = rec.get("names") or {}
        print(
            f"{ing.id}: atc {len((rec.get('atc') or {}).get('codes', []))}, "
            f"brands {len(rec.get('brands', []))}, "
            f"biosimilars {len(rec.get('biosimilars', []))}, "
            f"synonyms {len(n.get('synonyms', []))}, codes {len(n.get('codes', []))}, "
            f"regulatory {len(rec.get('regulatory', []))}",
            file=sys.stderr,
        )
    print(f"wrote {args.out} ({len(records)} ingredients)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
