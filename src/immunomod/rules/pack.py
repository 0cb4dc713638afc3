"""Load, check and store the rule packs (``rules/data/*.yaml``).

Checked at build time, with the knowledge base they refer to: every source id registered, every
ingredient, class and type a selector names known, ids unique. Stored in the compiled SQLite
file so the installed package needs no YAML.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from pydantic_core import to_jsonable_python

from immunomod.knowledge.loader import Located, Problem, SourceTree, parse, read_yaml
from immunomod.knowledge.models import SourceRef
from immunomod.knowledge.validate import walk
from immunomod.rules.models import RulePack, Selector

DEFAULT_RULES_DIR = Path(__file__).parent / "data"
_SECTIONS = ("levels", "washouts", "parameters", "cautions", "steroids", "vaccines")


def load_pack(rules_dir: Path, tree: SourceTree) -> tuple[RulePack, list[Problem]]:
    """Every rule file merged into one pack, with the problems found."""
    merged: dict[str, list[Any]] = {s: [] for s in _SECTIONS}
    problems: list[Problem] = []
    docs: list[tuple[Located, RulePack]] = []
    for path in sorted(rules_dir.glob("*.yaml")):
        doc, probs = read_yaml(path, rules_dir)
        problems += probs
        if doc is None:
            continue
        pack, probs = parse(RulePack, doc, doc.data or {})
        problems += probs
        if pack is not None:
            docs.append((doc, pack))
            for s in _SECTIONS:
                merged[s] += getattr(pack, s)
    pack = RulePack(**merged)
    problems += _check(docs, tree)
    return pack, problems


def _check(docs: list[tuple[Located, RulePack]], tree: SourceTree) -> list[Problem]:
    out = []
    tax = tree.taxonomy
    classes = set(tax.classes) if tax else set()
    types = {t for c in tax.classes.values() for t in c.types} if tax else set()
    seen: set[str] = set()
    for doc, pack in docs:
        for path, value in walk(pack):
            line = doc.line(path)
            if isinstance(value, SourceRef) and value.id not in tree.sources:
                out.append(
                    Problem(
                        doc.file,
                        line,
                        "unknown-source",
                        f"source id '{value.id}' is not registered",
                        "add it to knowledge/data/sources/ or fix the id",
                    )
                )
            elif isinstance(value, Selector):
                for name, known in (
                    ("ingredients", tree.ingredients),
                    ("exclude", tree.ingredients),
                    ("classes", classes),
                    ("types", types),
                ):
                    for item in getattr(value, name):
                        if item not in known:
                            out.append(
                                Problem(
                                    doc.file,
                                    line,
                                    "unknown-selector",
                                    f"{name} '{item}' is not in the knowledge base",
                                    "use an id from drugs/ or classes/",
                                )
                            )
            elif path and path[-1] == "ingredient" and isinstance(value, str):
                if value not in tree.ingredients:
                    out.append(
                        Problem(
                            doc.file,
                            line,
                            "unknown-selector",
                            f"ingredient '{value}' is not in the knowledge base",
                            "use an id from drugs/",
                        )
                    )
            elif path and path[-1] == "id" and len(path) == 3 and isinstance(value, str):
                if value in seen:
                    out.append(
                        Problem(
                            doc.file,
                            line,
                            "duplicate-rule",
                            f"rule id '{value}' is used twice",
                            "give each rule its own id",
                        )
                    )
                seen.add(value)
    return out


def store_pack(con: sqlite3.Connection, pack: RulePack) -> str:
    """Write the pack into ``con``; return its canonical JSON (for the content hash)."""
    data = to_jsonable_python(pack, exclude_none=True)
    con.execute("CREATE TABLE rule_pack (json TEXT NOT NULL)")
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    con.execute("INSERT INTO rule_pack VALUES (?)", (text,))
    return text
