"""Cross-file checks of the knowledge-base sources (``immunomod kb validate``).

Each check returns :class:`~immunomod.knowledge.loader.Problem` rows with ``file:line``, what
is wrong and how to fix it. The checks, by code:

``unknown-source``       a fact cites an id that is not in ``sources/``
``unshippable-source``   a fact cites a cross-check-only source (non-commercial licence)
``missing-field``        a required field is absent (from the schema)
``duplicate-name``       a name or brand is claimed by two ingredients
``bad-atc``              an ATC code is not a well-formed level-5 code
``unknown-class``        class or type not in the taxonomy (or type not under that class)
``direction-conflict``   the ingredient's direction contradicts its class
``no-unit``              a number without a unit (or with a unit we do not know)
``reading-grade``        patient text above US grade 8 (Flesch-Kincaid)
``unknown-condition``    an indication names a condition not in ``conditions/``
``unknown-exclusion``    ``exclude_inherited`` names a fact the class does not state
``summary-length``       the plain-language summary is not two to four sentences
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from immunomod.knowledge.loader import (
    DEFAULT_DATA_DIR,
    Located,
    Problem,
    SourceTree,
    load_tree,
    read_other_drugs,
)
from immunomod.knowledge.models import (
    ATC_LEVEL5,
    INHERITABLE_FIELDS,
    KNOWN_UNITS,
    Quantity,
    SourceRef,
)
from immunomod.knowledge.normalise import name_key

#: Highest US school grade allowed for patient-facing text.
MAX_GRADE = 8.0
#: Flesch-Kincaid is unstable on fragments ("Serious infections, including TB." scores 15),
#: so texts shorter than this are not scored alone; they are scored together with the rest
#: of their file's patient text, which is how a patient reads them.
MIN_WORDS_ALONE = 12

PathT = tuple[str | int, ...]


def walk(obj: Any, path: PathT = ()) -> Iterator[tuple[PathT, Any]]:
    """Yield (yaml path, value) for every model, list item and field below ``obj``."""
    yield path, obj
    if isinstance(obj, BaseModel):
        for name, info in type(obj).model_fields.items():
            value = getattr(obj, name)
            if value is None or value == [] or value == {}:
                continue
            yield from walk(value, (*path, info.alias or name))
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from walk(item, (*path, i))
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from walk(item, (*path, key))


@cache
def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade of ``text`` (textstat)."""
    import textstat  # curation-time dependency only

    return float(textstat.flesch_kincaid_grade(text))


def count_sentences(text: str) -> int:
    """Sentences in plain text (ends at . ! ? followed by a space or the end)."""
    return len([s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()])


def _documents(tree: SourceTree) -> Iterator[tuple[Located, BaseModel | dict[str, Any]]]:
    """Each parsed document with the model(s) read from it."""
    for key, doc in tree.docs.items():
        if key.startswith("drug:"):
            yield doc, tree.ingredients[key[5:]]
        elif key.startswith("class:") and tree.taxonomy and key[6:] in tree.taxonomy.classes:
            cls = tree.taxonomy.classes[key[6:]]
            # types from their own files are checked with their own file's lines
            own = {t for t in cls.types if f"type:{key[6:]}/{t}" not in tree.docs}
            yield doc, cls.model_copy(update={"types": {t: cls.types[t] for t in own}})
        elif key.startswith("type:") and tree.taxonomy:
            cid, _, tid = key[5:].partition("/")
            if cid in tree.taxonomy.classes and tid in tree.taxonomy.classes[cid].types:
                yield doc, tree.taxonomy.classes[cid].types[tid]
        elif key == "combinations":
            yield doc, {"combinations": tree.combinations}
        elif key == "taxonomy" and tree.taxonomy:
            yield doc, {"directions": tree.taxonomy.directions, "glossary": tree.taxonomy.glossary}


def check_sources_units_and_text(tree: SourceTree) -> list[Problem]:
    out = []
    for doc, model in _documents(tree):
        fragments: list[tuple[PathT, str]] = []
        for path, value in walk(model):
            if isinstance(value, SourceRef) and value.id not in tree.sources:
                out.append(
                    Problem(doc.file, doc.line(path), "unknown-source",
                            f"source id '{value.id}' is not in the sources registry",
                            "add it to a file in sources/ or use a registered id")
                )  # fmt: skip
            elif isinstance(value, SourceRef) and not tree.sources[value.id].shippable:
                out.append(
                    Problem(doc.file, doc.line(path), "unshippable-source",
                            f"'{value.id}' may only be used to cross-check (its licence does "
                            "not allow shipping facts taken from it)",
                            "cite the primary source (e.g. the label) instead")
                )  # fmt: skip
            elif isinstance(value, Quantity):
                if value.unit is None:
                    out.append(
                        Problem(doc.file, doc.line(path), "no-unit",
                                f"the number {value} has no unit",
                                "write the unit the source gives, e.g. '12 week' or '20 mg/day'")
                    )  # fmt: skip
                elif value.unit not in KNOWN_UNITS:
                    out.append(
                        Problem(doc.file, doc.line(path), "no-unit",
                                f"unit '{value.unit}' is not a known unit",
                                "use one of KNOWN_UNITS in models.py (time units are singular)")
                    )  # fmt: skip
            elif path and path[-1] == "plain" and isinstance(value, str):
                if len(value.split()) < MIN_WORDS_ALONE:
                    fragments.append((path, value))
                    continue
                grade = reading_grade(value)
                if grade > MAX_GRADE:
                    out.append(
                        Problem(doc.file, doc.line(path), "reading-grade",
                                f"patient text reads at US grade {grade:.1f} (limit {MAX_GRADE:g})",
                                "use shorter sentences and everyday words")
                    )  # fmt: skip
        if fragments:
            joined = " ".join(
                t if t.rstrip().endswith((".", "?", "!")) else t + "." for _, t in fragments
            )
            grade = reading_grade(joined)
            if grade > MAX_GRADE:
                out.append(
                    Problem(doc.file, doc.line(fragments[0][0]), "reading-grade",
                            f"the short patient texts of this file read at US grade {grade:.1f} "
                            f"together (limit {MAX_GRADE:g})",
                            "use shorter, everyday words in the short 'plain:' texts")
                )  # fmt: skip
    return out


def check_ingredients(tree: SourceTree) -> list[Problem]:
    out: list[Problem] = []
    tax = tree.taxonomy
    for iid, ing in sorted(tree.ingredients.items()):
        doc = tree.docs[f"drug:{iid}"]
        c = ing.classification
        if tax is not None:
            cls = tax.classes.get(c.class_)
            if cls is None:
                out.append(
                    Problem(doc.file, doc.line(("classification", "class")), "unknown-class",
                            f"class '{c.class_}' is not in the taxonomy",
                            f"use one of: {', '.join(sorted(tax.classes))}")
                )  # fmt: skip
            else:
                if c.type not in cls.types:
                    out.append(
                        Problem(doc.file, doc.line(("classification", "type")), "unknown-class",
                                f"type '{c.type}' is not a type of class '{c.class_}'",
                                f"use one of: {', '.join(sorted(cls.types))}")
                    )  # fmt: skip
                if {c.direction, cls.direction} == {"suppress", "stimulate"}:
                    out.append(
                        Problem(doc.file, doc.line(("classification", "direction")),
                                "direction-conflict",
                                f"direction '{c.direction}' contradicts class '{c.class_}' "
                                f"({cls.direction})",
                                "fix the direction, move the drug to another class, or use "
                                "'mixed' with a note if it truly acts both ways")
                    )  # fmt: skip
                inherited = {
                    f.id for fld in INHERITABLE_FIELDS for f in getattr(cls.facts, fld) if f.id
                }
                if c.type in cls.types:
                    tfacts = cls.types[c.type].facts
                    inherited |= {
                        f.id for fld in INHERITABLE_FIELDS for f in getattr(tfacts, fld) if f.id
                    }
                for i, fid in enumerate(ing.exclude_inherited):
                    if fid not in inherited:
                        out.append(
                            Problem(doc.file, doc.line(("exclude_inherited", i)),
                                    "unknown-exclusion",
                                    f"'{fid}' is not a fact of class '{c.class_}' or its type",
                                    "use the id of an inherited fact, or remove the line")
                        )  # fmt: skip
            for i, also in enumerate(c.also):
                acls, _, atype = also.partition("/")
                if acls not in tax.classes or (atype and atype not in tax.classes[acls].types):
                    out.append(
                        Problem(doc.file, doc.line(("classification", "also", i)),
                                "unknown-class", f"'{also}' is not a class/type in the taxonomy",
                                "write it as 'class' or 'class/type' with ids from classes/")
                    )  # fmt: skip
        n = count_sentences(ing.summary.plain)
        if not 2 <= n <= 4:
            out.append(
                Problem(doc.file, doc.line(("summary", "plain")), "summary-length",
                        f"the summary has {n} sentence(s); it should have two to four",
                        "merge or split sentences: what it is, how it is given, what it treats, "
                        "the main risk")
            )  # fmt: skip
        if ing.atc is not None:
            for i, code in enumerate(ing.atc.codes):
                if not ATC_LEVEL5.match(code):
                    out.append(
                        Problem(doc.file, doc.line(("atc", "codes", i)), "bad-atc",
                                f"'{code}' is not a level-5 ATC code",
                                "use the 7-character WHO form, e.g. L04AB04")
                    )  # fmt: skip
        for i, ind in enumerate(ing.indications):
            if ind.condition not in tree.conditions:
                out.append(
                    Problem(doc.file, doc.line(("indications", i, "condition")),
                            "unknown-condition",
                            f"condition '{ind.condition}' is not in conditions/",
                            "add it (with synonyms) to a file in conditions/, or reuse an id")
                )  # fmt: skip
    return out


_NAME_LISTS = frozenset({"synonyms", "codes", "brands"})
_NAME_KEYS = frozenset({"name", "proper_name"})


def _claims(tree: SourceTree) -> Iterator[tuple[str, str, str, str, int]]:
    """Every (name, kind, ingredient, file, line) claimed in drug files and derived names."""
    name_fields = {"inn", "names", "brands", "biosimilars"}
    for iid, ing in sorted(tree.ingredients.items()):
        doc = tree.docs[f"drug:{iid}"]
        lines = {
            v: doc.line(p) for p, v in walk(ing) if p and p[0] in name_fields and isinstance(v, str)
        }
        for name, kind in ing.all_names():
            yield name, kind, iid, doc.file, lines.get(name, 1)
    if "derived" in tree.docs:
        doc = tree.docs["derived"]
        for iid, der in sorted(tree.derived.items()):
            for path, v in walk(der, (iid,)):
                if not isinstance(v, str) or len(path) < 3 or path[1] not in name_fields:
                    continue
                if path[-2] in _NAME_LISTS or path[-1] in _NAME_KEYS:
                    yield v, str(path[1]), iid, doc.file, doc.line(path)


def check_combinations(tree: SourceTree) -> list[Problem]:
    """Each combination names known drugs (ours, and others by their vocabulary name), and its
    name belongs to no single ingredient."""
    out: list[Problem] = []
    if "combinations" not in tree.docs:
        return out
    doc = tree.docs["combinations"]
    names = {name_key(n) for ing in tree.ingredients.values() for n, _ in ing.all_names()}
    other_names = {row[0] for row in read_other_drugs(tree.root)}
    for i, combo in enumerate(tree.combinations):
        for j, other in enumerate(combo.others):
            if name_key(other) not in other_names:
                out.append(
                    Problem(doc.file, doc.line(("combinations", i, "others", j)),
                            "unknown-other-drug", f"'{other}' is not in the other-drug names",
                            "write the name as derived/other_drugs.tsv has it")
                )  # fmt: skip
        for j, iid in enumerate(combo.ingredients):
            if iid not in tree.ingredients:
                out.append(
                    Problem(doc.file, doc.line(("combinations", i, "ingredients", j)),
                            "unknown-ingredient", f"'{iid}' has no drugs/{iid}.yaml",
                            "use a drug id, or add the drug first")
                )  # fmt: skip
        if name_key(combo.name) in names:
            out.append(
                Problem(doc.file, doc.line(("combinations", i, "name")), "duplicate-name",
                        f"'{combo.name}' is also a name of a single ingredient",
                        "keep the combination name here only")
            )  # fmt: skip
    return out


def check_names(tree: SourceTree) -> list[Problem]:
    """A name must lead to exactly one ingredient."""
    out = []
    owners: dict[str, tuple[str, str, int]] = {}  # key -> (ingredient, file, line)
    for name, kind, iid, file, line in _claims(tree):
        key = name_key(name)
        prev = owners.get(key)
        if prev is None:
            owners[key] = (iid, file, line)
        elif prev[0] != iid:
            out.append(
                Problem(file, line, "duplicate-name",
                        f"{kind} '{name}' is also claimed by '{prev[0]}' ({prev[1]}:{prev[2]})",
                        "a name must lead to one ingredient: keep it on the right one only")
            )  # fmt: skip
    return out


def validate(root: Path = DEFAULT_DATA_DIR) -> tuple[SourceTree, list[Problem]]:
    """Load the sources under ``root`` and return them with every problem found, sorted."""
    tree = load_tree(root)
    problems = list(tree.problems)
    problems += check_sources_units_and_text(tree)
    problems += check_ingredients(tree)
    problems += check_names(tree)
    problems += check_combinations(tree)
    return tree, sorted(set(problems))
