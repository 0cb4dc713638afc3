"""The resolver's vocabulary, read once from the compiled knowledge base.

Two kinds of names: those of immunomodulator ingredients (every INN, synonym, salt, brand,
biosimilar, abbreviation and code the knowledge base holds) and those of all other drugs
(DrugBank open vocabulary), so that a known non-immunomodulator is named as such instead of
being fuzzed onto the nearest immunomodulator.
"""

from __future__ import annotations

import sqlite3
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from immunomod.knowledge.normalise import name_key
from immunomod.knowledge.store import Store

_ABBREV = Path(__file__).with_name("abbreviations.toml")


@dataclass(frozen=True)
class IngredientInfo:
    id: str
    inn: str
    direction: str
    class_id: str
    type_id: str
    atc: tuple[str, ...]


@dataclass
class Vocabulary:
    """Name keys (``name_key`` form) to what they name."""

    immuno: dict[str, tuple[str, ...]]  # key -> ingredient ids
    kinds: dict[str, str]  # key -> kind of the name (inn, brand, abbreviation …)
    compact: dict[str, tuple[str, ...]]  # key without spaces -> ingredient ids
    other: dict[str, str]  # key -> display name of a non-immunomodulator
    other_category: dict[str, str]  # key -> "cytotoxic-chemotherapy" | "other-antineoplastic"
    other_compact: dict[str, str]
    ambiguous: dict[str, tuple[str, ...]]  # key -> candidates ("other:x" for non-immunomod.)
    info: dict[str, IngredientInfo]
    brand_routes: dict[tuple[str, str], tuple[str, ...]]  # (key, ingredient) -> routes
    combinations: dict[str, tuple[str, ...]]  # name key -> ingredient ids, then "other:<key>"
    max_words: int
    fuzzy_keys: list[str] = field(default_factory=list)  # immunomodulator keys worth fuzzing
    # fuzzy key -> other-drug keys within 4 edits (compiler.guard_neighbours); a key missing
    # here was not listed (a hand-made vocabulary): the resolver then scans every other name
    guard: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # other-drug names curated by hand (other_drugs_extra.tsv): read even when short ("ASA")
    other_curated: frozenset[str] = frozenset()

    @classmethod
    def from_store(cls, store: Store) -> Vocabulary:
        con: sqlite3.Connection = store._con
        immuno: dict[str, list[str]] = {}
        kinds: dict[str, str] = {}
        for key, kind, iid in con.execute("SELECT key, kind, ingredient_id FROM names"):
            ids = immuno.setdefault(key, [])
            if iid not in ids:
                ids.append(iid)
            kinds.setdefault(key, kind)
        compact: dict[str, list[str]] = {}
        for key, ids in immuno.items():
            compact.setdefault(key.replace(" ", ""), []).extend(ids)
        other = dict(con.execute("SELECT key, name FROM other_names"))
        other_category = dict(
            con.execute("SELECT key, category FROM other_names WHERE category != ''")
        )
        other_compact = {k.replace(" ", ""): v for k, v in other.items()}
        atc: dict[str, list[str]] = {}
        for code, iid in con.execute("SELECT code, ingredient_id FROM atc ORDER BY code"):
            atc.setdefault(iid, []).append(code)
        info = {
            iid: IngredientInfo(iid, inn, d, c, t, tuple(atc.get(iid, [])))
            for iid, inn, d, c, t in con.execute(
                "SELECT id, inn, direction, class_id, type_id FROM ingredients"
            )
        }
        routes = {
            (k, i): tuple(r.split(","))
            for k, i, r in con.execute("SELECT key, ingredient_id, routes FROM brand_routes")
        }
        abbrev = tomllib.loads(_ABBREV.read_text(encoding="utf-8"))["ambiguous"]
        ambiguous = {}
        for abbr, cands in abbrev.items():
            known = tuple(c for c in cands if c.startswith("other:") or c in info)
            if known:
                ambiguous[name_key(abbr)] = known
        combos = {  # a regimen's other drugs as "other:<vocabulary key>"
            k: tuple(i for i in ids.split(",") if i)
            + tuple(f"other:{name_key(o)}" for o in others.split(",") if o)
            for k, ids, others in con.execute("SELECT key, ingredients, others FROM combinations")
        }
        for k, parts in list(combos.items()):  # "RCHOP" as well as "R-CHOP"
            joined = k.replace(" ", "")
            if joined != k and joined not in immuno and joined not in other:
                combos.setdefault(joined, parts)
        keys = list(immuno) + list(other) + list(combos)
        fuzzy_keys = sorted(k for k in immuno if len(k) >= 5 and not k.isdigit())
        near: dict[str, list[str]] = {k: [] for k in fuzzy_keys}
        for k, o in con.execute("SELECT key, other_key FROM fuzzy_guard ORDER BY rowid"):
            near.setdefault(k, []).append(o)
        return cls(
            immuno={k: tuple(v) for k, v in immuno.items()},
            kinds=kinds,
            compact={k: tuple(dict.fromkeys(v)) for k, v in compact.items()},
            other=other,
            other_category=other_category,
            other_compact=other_compact,
            ambiguous=ambiguous,
            info=info,
            brand_routes=routes,
            combinations=combos,
            max_words=min(8, max(len(k.split()) for k in keys) if keys else 1),
            fuzzy_keys=fuzzy_keys,
            guard={k: tuple(v) for k, v in near.items()},
            other_curated=frozenset(
                k
                for (k,) in con.execute("SELECT key FROM other_names WHERE drugbank_id = 'curated'")
            ),
        )


@cache
def vocabulary() -> Vocabulary:
    """The vocabulary of the package's own knowledge base (built once per process)."""
    from immunomod import kb

    return Vocabulary.from_store(kb.store())
