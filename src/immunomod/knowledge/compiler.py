"""Compile the YAML sources into the SQLite file the package ships (``immunomod kb build``).

The database holds each ingredient's effective record as JSON, a name index (plain table and
FTS5) and the taxonomy, conditions and sources. Its ``content_hash`` is a SHA-256 over the
canonical JSON of everything stored, so the same sources always give the same hash whatever
the SQLite version; ``kb stats`` prints it. Beside the file the compiler writes
``kb.sqlite.sha256``, the SHA-256 of the finished file's bytes, which the store checks on open
(:mod:`.integrity`: cheap enough for every start, unlike re-hashing the content).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic_core import to_jsonable_python

from immunomod.knowledge import integrity
from immunomod.knowledge.loader import DEFAULT_DATA_DIR, Problem, SourceTree, read_other_drugs
from immunomod.knowledge.merge import effective
from immunomod.knowledge.models import (
    ClassRef,
    DrugRecord,
    Fact,
    SourceRef,
    Taxonomy,
    TypeRef,
)
from immunomod.knowledge.normalise import CONJUGATES, name_key
from immunomod.knowledge.store import DEFAULT_DB, SCHEMA_VERSION
from immunomod.knowledge.validate import validate, walk

_DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE classes (id TEXT PRIMARY KEY, direction TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE conditions (id TEXT PRIMARY KEY, name TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE condition_names (key TEXT NOT NULL, condition_id TEXT NOT NULL,
                              PRIMARY KEY (key, condition_id));
CREATE TABLE ingredients (
  id TEXT PRIMARY KEY, inn TEXT NOT NULL, direction TEXT NOT NULL,
  class_id TEXT NOT NULL, type_id TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE names (key TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
                    ingredient_id TEXT NOT NULL, compact TEXT NOT NULL,
                    PRIMARY KEY (key, ingredient_id, kind));
CREATE INDEX names_compact ON names (compact);
CREATE TABLE atc (code TEXT NOT NULL, ingredient_id TEXT NOT NULL,
                  PRIMARY KEY (code, ingredient_id));
CREATE TABLE memberships (class_id TEXT NOT NULL, type_id TEXT, ingredient_id TEXT NOT NULL);
CREATE TABLE indications (condition_id TEXT NOT NULL, ingredient_id TEXT NOT NULL,
                          PRIMARY KEY (condition_id, ingredient_id));
CREATE TABLE scope (code TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE combinations (key TEXT PRIMARY KEY, name TEXT NOT NULL, ingredients TEXT NOT NULL,
                           others TEXT NOT NULL);
CREATE TABLE brand_routes (key TEXT NOT NULL, ingredient_id TEXT NOT NULL, routes TEXT NOT NULL);
CREATE TABLE other_names (key TEXT PRIMARY KEY, name TEXT NOT NULL, drugbank_id TEXT NOT NULL,
                          compact TEXT NOT NULL, category TEXT NOT NULL);
CREATE TABLE fuzzy_guard (key TEXT NOT NULL, other_key TEXT NOT NULL);
CREATE VIRTUAL TABLE names_fts USING fts5(name, ingredient_id UNINDEXED,
                                          tokenize = 'unicode61 remove_diacritics 2');
"""


class BuildError(Exception):
    """The sources have problems; nothing was written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the knowledge-base sources")


def canonical(obj: Any) -> str:
    """Deterministic JSON for hashing and storage."""
    obj = to_jsonable_python(obj, by_alias=True, exclude_none=True)
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def build_records(tree: SourceTree) -> dict[str, DrugRecord]:
    """Effective, self-contained records for every ingredient (the tree must be valid)."""
    tax = tree.taxonomy
    assert tax is not None, "validate before building"
    out = {}
    for iid, ing in sorted(tree.ingredients.items()):
        eff = effective(ing, tree.derived.get(iid), tax)
        cls = tax.classes[eff.classification.class_]
        typ = cls.types[eff.classification.type]
        cited = sorted({ref.id for _, ref in walk(eff) if isinstance(ref, SourceRef)})
        out[iid] = DrugRecord(
            id=iid,
            inn=eff.inn,
            direction=eff.classification.direction,
            class_=ClassRef(
                id=eff.classification.class_,
                name=cls.name,
                plain_name=cls.plain_name,
                direction=cls.direction,
                teaching_group=cls.teaching_group,
            ),
            type=TypeRef(id=eff.classification.type, name=typ.name, plain_name=typ.plain_name),
            modality=eff.classification.modality,
            atc=list(eff.atc.codes) if eff.atc else [],
            ingredient=eff,
            sources={sid: tree.sources[sid] for sid in cited},
        )
    return out


def count_facts(tree: SourceTree) -> tuple[int, int]:
    """(facts, facts whose every source is registered) over the facts *as stated* in the sources.

    Inherited copies are not counted again: the TNF-inhibitor box is one fact, not ten.
    """
    stated: list[Any] = [*tree.ingredients.values(), *tree.derived.values()]
    if tree.taxonomy is not None:
        stated += [tree.taxonomy]
    facts = [v for obj in stated for _, v in walk(obj) if isinstance(v, Fact)]
    cited = [f for f in facts if f.sources and all(s.id in tree.sources for s in f.sources)]
    return len(facts), len(cited)


#: Words after a brand that name a release form or device, not another product: records often
#: leave them out ("Entocort" for Entocort EC, "Medrol" for Medrol Dosepak).
FORM_QUALIFIERS = frozenset(
    {"ec", "dr", "er", "xr", "xl", "cr", "sr", "mr", "la", "odt", "retard", "depot"}
    | {"sprinkle", "solutab", "dosepak", "pen", "forte"}
)


def brand_stems(
    names: set[tuple[str, str, str, str]], other_keys: set[str]
) -> set[tuple[tuple[str, str, str, str], str]]:
    """((key, name, kind, ingredient), key it came from) for names written without a last
    word records often leave out: a brand's release form ("Entocort EC" -> "Entocort",
    kind "brand-stem") or an antibody's conjugate ("certolizumab pegol" -> "certolizumab",
    kind "inn-stem"). Never when the stem is already a name of any drug, ours or another's
    ("trastuzumab" of trastuzumab deruxtecan is another drug), or under 5 letters. A stem two
    ingredients share becomes ambiguous in the resolver, as any shared name does."""
    taken = {n[0] for n in names} | other_keys
    out = set()
    for key, name, kind, iid in names:
        words, shown = key.split(), name.split()
        if kind in {"inn", "synonym"} and len(words) == 2 == len(shown) and words[1] in CONJUGATES:
            if words[0] not in taken and len(words[0]) >= 5:
                out.add(((words[0], shown[0], "inn-stem", iid), key))
            continue
        if kind not in {"brand", "biosimilar-brand"}:
            continue
        while len(words) > 1 and words[-1] in FORM_QUALIFIERS and len(shown) == len(words):
            words, shown = words[:-1], shown[:-1]
        stem = " ".join(words)
        if stem != key and len(stem.replace(" ", "")) >= 5 and stem not in taken:
            out.add(((stem, " ".join(shown), "brand-stem", iid), key))
    return out


#: Largest Damerau-Levenshtein distance between a name and an other-drug name that the
#: resolver's guard can ever need (see :func:`guard_neighbours`).
GUARD_RADIUS = 4


def guard_neighbours(keys: set[str], other_keys: list[str]) -> list[tuple[str, str]]:
    """(name key, other-drug key) pairs within :data:`GUARD_RADIUS` edits, for the resolver.

    The resolver accepts a misspelt word ``q`` as immunomodulator name ``k`` at distance
    ``d <= 2`` only when no ordinary drug name ``o`` is as close (metformin is not
    methotrexate). Scanning all 31,000 other names for each misspelt word cost ~1 ms; instead
    every such ``o`` is listed here beside ``k``: Damerau-Levenshtein distance is a metric, so
    ``DL(k, o) <= DL(k, q) + DL(q, o) <= 2 * d <= 4`` (the resolver's OSA distance is never
    below DL). Listed in the order the resolver's own scan used to meet them (by length, then
    alphabetically), so a tie resolves to the same name. Only keys the resolver may fuzz
    (5 characters or more, not a number) are listed. A full build spends ~6 s here.
    """
    from rapidfuzz import process
    from rapidfuzz.distance import DamerauLevenshtein, Levenshtein

    by_len: dict[int, list[str]] = {}
    for o in sorted(other_keys, key=lambda o: (len(o), o)):
        by_len.setdefault(len(o), []).append(o)
    out: list[tuple[str, str]] = []
    for k in sorted(keys):
        if len(k) < 5 or k.isdigit():
            continue
        n, r = len(k), GUARD_RADIUS
        pool = [o for d in range(n - r, n + r + 1) for o in by_len.get(d, [])]
        # Levenshtein (bit-parallel, fast) first: a swap is 2 of its edits, so DL <= r
        # implies Levenshtein <= 2r; then the exact DL on what is left. Halves the time.
        rough = process.extract(
            k, pool, scorer=Levenshtein.distance, score_cutoff=2 * r, limit=None
        )
        near = process.extract(
            k, [o for o, _, _ in rough], scorer=DamerauLevenshtein.distance, score_cutoff=r,
            limit=None,
        )  # fmt: skip
        out.extend((k, o) for o in sorted((o for o, _, _ in near), key=lambda o: (len(o), o)))
    return out


def _taxonomy_json(tax: Taxonomy, cid: str) -> str:
    return canonical(tax.classes[cid])


def compile_tree(tree: SourceTree, db_path: Path, pack: Any = None) -> dict[str, Any]:
    """Write ``db_path`` from a valid tree atomically; return the stats stored in ``meta``.

    ``pack`` is the regimen checker's rule pack (:mod:`immunomod.rules.pack`), stored beside
    the knowledge it refers to.
    """
    tax = tree.taxonomy
    assert tax is not None
    records = build_records(tree)
    hasher = hashlib.sha256()
    hasher.update(canonical(tax).encode())
    for sid in sorted(tree.sources):
        hasher.update(canonical(tree.sources[sid]).encode())
    for cid in sorted(tree.conditions):
        hasher.update(canonical(tree.conditions[cid]).encode())
    for iid in sorted(records):
        hasher.update(canonical(records[iid]).encode())
    if tree.scope is not None:
        hasher.update(canonical(tree.scope).encode())
    others = read_other_drugs(tree.root)
    hasher.update(canonical(others).encode())
    hasher.update(canonical(tree.combinations).encode())
    facts, with_source = count_facts(tree)
    stats: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "ingredients": len(records),
        "classes": len(tax.classes),
        "types": sum(len(c.types) for c in tax.classes.values()),
        "conditions": len(tree.conditions),
        "sources": len(tree.sources),
        "facts": facts,
        "facts_with_source": with_source,
        "names": 0,
        "content_hash": hasher.hexdigest(),
    }
    tmp = db_path.with_suffix(".sqlite.tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        con.executescript(_DDL)
        con.executemany(
            "INSERT INTO sources VALUES (?, ?)",
            [(sid, canonical(s)) for sid, s in sorted(tree.sources.items())],
        )
        con.executemany(
            "INSERT INTO classes VALUES (?, ?, ?)",
            [
                (cid, c.direction, _taxonomy_json(tax, cid))
                for cid, c in sorted(tax.classes.items())
            ],
        )
        con.execute(
            "INSERT INTO meta VALUES ('taxonomy', ?)",
            (canonical({"directions": tax.directions, "glossary": tax.glossary}),),
        )
        cond_rows, cond_names = [], set()
        for cid, cond in sorted(tree.conditions.items()):
            cond_rows.append((cid, cond.name, canonical(cond)))
            for n in [cid, cond.name, *(cond.plain_name or "",), *cond.synonyms]:
                if n:
                    cond_names.add((name_key(n), cid))
        con.executemany("INSERT INTO conditions VALUES (?, ?, ?)", cond_rows)
        con.executemany("INSERT INTO condition_names VALUES (?, ?)", sorted(cond_names))
        names = set()
        for iid, rec in records.items():
            ing = rec.ingredient
            con.execute(
                "INSERT INTO ingredients VALUES (?, ?, ?, ?, ?, ?)",
                (iid, rec.inn, rec.direction, rec.class_.id, rec.type.id, canonical(rec)),
            )
            for name, kind in [(iid, "id"), *ing.all_names()]:
                names.add((name_key(name), name, kind, iid))
            con.executemany(
                "INSERT INTO brand_routes VALUES (?, ?, ?)",
                [(name_key(b.name), iid, ",".join(b.routes)) for b in ing.brands if b.routes],
            )
            con.executemany("INSERT OR IGNORE INTO atc VALUES (?, ?)", [(c, iid) for c in rec.atc])
            con.execute(
                "INSERT INTO memberships VALUES (?, ?, ?)", (rec.class_.id, rec.type.id, iid)
            )
            for also in ing.classification.also:
                acls, _, atype = also.partition("/")
                con.execute("INSERT INTO memberships VALUES (?, ?, ?)", (acls, atype or None, iid))
            con.executemany(
                "INSERT OR IGNORE INTO indications VALUES (?, ?)",
                [(ind.condition, iid) for ind in ing.indications],
            )
        if tree.scope is not None:
            con.executemany(
                "INSERT INTO scope VALUES (?, ?)",
                [(c.code, canonical(c)) for c in tree.scope.codes],
            )
            stats["scope_codes"] = len(tree.scope.codes)
        con.executemany(
            "INSERT OR IGNORE INTO other_names VALUES (?, ?, ?, ?, ?)",
            [(k, n, d, k.replace(" ", ""), c) for k, n, d, c in others],
        )
        stats["other_drug_names"] = len(others)
        con.executemany(
            "INSERT OR IGNORE INTO combinations VALUES (?, ?, ?, ?)",
            [
                (name_key(c.name), c.name, ",".join(c.ingredients), ",".join(c.others))
                for c in tree.combinations
            ],
        )
        if pack is not None:
            from immunomod.rules.pack import store_pack

            pack_json = store_pack(con, pack)
            stats["rules"] = sum(
                len(getattr(pack, s)) for s in ("levels", "washouts", "parameters", "cautions")
            )
            stats["content_hash"] = hashlib.sha256(
                (stats["content_hash"] + pack_json).encode()
            ).hexdigest()
        stems = brand_stems(names, {o[0] for o in others})
        names |= {stem for stem, _ in stems}
        con.executemany(  # a stem is taken the way its brand is ("Inflamase" eye drops)
            "INSERT INTO brand_routes SELECT ?, ingredient_id, routes FROM brand_routes "
            "WHERE key = ? AND ingredient_id = ?",
            [(stem[0], brand, stem[3]) for stem, brand in sorted(stems)],
        )
        rows = sorted(names)
        con.executemany(
            "INSERT OR IGNORE INTO names VALUES (?, ?, ?, ?, ?)",
            [(*row, row[0].replace(" ", "")) for row in rows],
        )
        con.executemany(
            "INSERT INTO names_fts (name, ingredient_id) VALUES (?, ?)",
            sorted({(n, i) for _, n, _, i in rows}),
        )
        stats["names"] = con.execute("SELECT count(*) FROM names").fetchone()[0]
        con.executemany(
            "INSERT INTO fuzzy_guard VALUES (?, ?)",
            guard_neighbours({r[0] for r in rows}, [o[0] for o in others]),
        )
        con.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("stats", canonical(stats)), ("content_hash", stats["content_hash"])],
        )
        con.commit()
    finally:
        con.close()
    digest = integrity.file_digest(tmp)  # hashed before the move: the same bytes
    tmp.replace(db_path)  # atomic: a reader never sees a half-written file
    integrity.write_sidecar(db_path, digest)
    return stats


def build(
    data_dir: Path = DEFAULT_DATA_DIR,
    db_path: Path = DEFAULT_DB,
    rules_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Validate the sources (and rule packs) and compile them; raise :class:`BuildError`.

    The package's own rules are used with the package's own data; another data folder brings
    its rules in ``<data>/rules/`` if it has any. ``progress`` hears the name of each stage
    (the CLI shows it; a full build takes several seconds).
    """
    from immunomod.rules.pack import DEFAULT_RULES_DIR, load_pack

    step = progress or (lambda _stage: None)
    step("reading and validating the YAML sources")
    tree, problems = validate(data_dir)
    if rules_dir is None:
        rules_dir = DEFAULT_RULES_DIR if data_dir == DEFAULT_DATA_DIR else data_dir / "rules"
    pack = None
    if rules_dir.exists() and not problems:
        step("checking the rule packs")
        pack, rule_problems = load_pack(rules_dir, tree)
        problems += rule_problems
    if problems:
        raise BuildError(problems)
    step("compiling records, names and indexes into SQLite")
    return compile_tree(tree, db_path, pack)


__all__ = ["DEFAULT_DB", "SCHEMA_VERSION", "BuildError", "build", "compile_tree"]
