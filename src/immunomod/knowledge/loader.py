"""Read the YAML sources of the knowledge base into models, remembering where each value sits.

Curation-time only: the installed package reads the compiled SQLite file, never these files.
Every problem found while reading carries ``file:line`` so the validator can point at it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from immunomod.knowledge.models import (
    Combination,
    Combinations,
    Condition,
    DerivedNames,
    Ingredient,
    Scope,
    Source,
    TaxonClass,
    Taxonomy,
    TaxonType,
)
from immunomod.knowledge.normalise import name_key

Path_ = tuple[str | int, ...]

#: The folder of YAML sources inside the repository.
DEFAULT_DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True, order=True)
class Problem:
    """One defect in the sources: where it is, what is wrong and how to fix it."""

    file: str
    line: int
    code: str
    message: str
    hint: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.code}] {self.message}. Fix: {self.hint}"


@dataclass
class Located:
    """A parsed YAML document with the line of every key and list item (1-based)."""

    file: str
    data: Any
    lines: dict[Path_, int]

    def line(self, path: Iterable[str | int]) -> int:
        """Line of the deepest known prefix of ``path`` (so a missing key points at its parent)."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), 1)


class _Unreadable(Exception):
    """A value the YAML parser accepted but that cannot be built: where, what and the fix."""

    def __init__(self, node: yaml.Node, message: str, hint: str):
        super().__init__(message)
        self.line, self.message, self.hint = node.start_mark.line + 1, message, hint


def _scalar(node: yaml.Node) -> Any:
    # A fresh SafeLoader per scalar keeps PyYAML's own typing rules (dates, bools, numbers).
    try:
        return yaml.SafeLoader("").construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # "2026-02-30" has a date's shape but is no date; "!!int abc"; an unknown "!tag".
        reason = getattr(exc, "problem", None) or str(exc)
        raise _Unreadable(
            node, f"cannot read the value {str(node.value)[:40]!r} ({reason})",
            "write a real date (YYYY-MM-DD) or number, or quote the value to keep it as text",
        ) from None  # fmt: skip


def _construct(node: yaml.Node, path: Path_, lines: dict[Path_, int], seen: set[int]) -> Any:
    """Build Python data from a composed node tree, recording each path's line."""
    if id(node) in seen:
        # An alias (*name) reuses a node: the value would have another place's line, a
        # self-referencing one never ends, and nested ones grow exponentially ("billion laughs").
        raise _Unreadable(
            node, "YAML anchors and aliases (&name, *name) are not used in these files",
            "write the value out where it is used, so every fact has its own line",
        )  # fmt: skip
    seen.add(id(node))
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for k_node, v_node in node.value:
            key = _scalar(k_node)
            key = key if isinstance(key, str | int) else str(key)
            out[key] = _construct(v_node, (*path, key), lines, seen)
            lines[(*path, key)] = k_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), lines, seen) for i, item in enumerate(node.value)]
    return _scalar(node)


def read_yaml(path: Path, root: Path) -> tuple[Located | None, list[Problem]]:
    rel = str(path.relative_to(root.parent)) if path.is_relative_to(root.parent) else str(path)
    fix = "check indentation and quotes"
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        lines: dict[Path_, int] = {}
        data = _construct(node, (), lines, set()) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        return None, [Problem(rel, line, "yaml", f"not valid YAML: {exc.problem}", fix)]
    except yaml.YAMLError as exc:  # e.g. a control character (ReaderError carries no mark)
        return None, [Problem(rel, 1, "yaml", f"not valid YAML: {str(exc).splitlines()[0]}", fix)]
    except _Unreadable as exc:
        return None, [Problem(rel, exc.line, "yaml", exc.message, exc.hint)]
    except RecursionError:
        return None, [Problem(rel, 1, "yaml", "nested too deeply to read", "flatten the lists")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(rel, 1, "read", f"cannot read file: {exc}", "save it as UTF-8 text")]
    return Located(rel, data, lines), []


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _schema_problems(doc: Located, exc: ValidationError, prefix: Path_ = ()) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc: Path_ = (*prefix, *(x for x in err["loc"] if isinstance(x, str | int)))
        # A key may hold a newline or other control character: shown escaped, so one problem
        # stays one line of `kb validate` output.
        where = _CONTROL.sub(lambda m: repr(m.group())[1:-1], ".".join(map(str, loc))) or "(top)"
        if err["type"] == "missing":
            code, msg = "missing-field", f"required field '{where}' is missing"
            hint = f"add '{loc[-1]}:' here (see docs/knowledge-format.md for what it holds)"
        elif err["type"] == "extra_forbidden":
            code, msg = "unknown-field", f"'{where}' is not a field of this record"
            hint = "check the spelling against docs/knowledge-format.md, or remove it"
        else:
            code, msg = "bad-value", f"'{where}': {err['msg']}"
            hint = "correct the value to the form the schema expects"
        out.append(Problem(doc.file, doc.line(loc), code, msg, hint))
    return out


def parse(model: type[BaseModel], doc: Located, data: Any, prefix: Path_ = ()) -> Any:
    """Validate ``data`` into ``model``; return (instance or None, problems)."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, _schema_problems(doc, exc, prefix)


@dataclass
class SourceTree:
    """Everything read from a knowledge-base data folder, with locations for error reports."""

    root: Path
    sources: dict[str, Source] = field(default_factory=dict)
    taxonomy: Taxonomy | None = None
    conditions: dict[str, Condition] = field(default_factory=dict)
    ingredients: dict[str, Ingredient] = field(default_factory=dict)
    derived: dict[str, DerivedNames] = field(default_factory=dict)
    scope: Scope | None = None
    combinations: list[Combination] = field(default_factory=list)
    docs: dict[str, Located] = field(default_factory=dict)  # key: "class:<id>", "drug:<id>" …
    source_lines: dict[str, tuple[str, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def load_tree(root: Path = DEFAULT_DATA_DIR) -> SourceTree:
    """Read ``sources/``, ``conditions/``, ``classes/``, ``taxonomy.yaml`` and ``drugs/``."""
    tree = SourceTree(root=root)

    def read_dir(name: str) -> list[Located]:
        docs = []
        for path in sorted((root / name).glob("*.yaml")):
            doc, probs = read_yaml(path, root)
            tree.problems += probs
            if doc is not None:
                docs.append(doc)
        if not docs:
            tree.problems.append(
                Problem(name, 1, "missing-file", f"no {name}/*.yaml files in {root}",
                        f"create {name}/ with at least one YAML file")
            )  # fmt: skip
        return docs

    def read(name: str) -> Located | None:
        path = root / name
        if not path.exists():
            tree.problems.append(
                Problem(name, 1, "missing-file", f"{name} not found in {root}", f"create {name}")
            )
            return None
        doc, probs = read_yaml(path, root)
        tree.problems += probs
        return doc

    for doc in read_dir("sources"):
        tree.docs[f"sources:{doc.file}"] = doc
        for i, item in enumerate(_as_list(doc, tree)):
            src, probs = parse(Source, doc, item, (i,))
            tree.problems += probs
            if src is None:
                continue
            if src.id in tree.sources:
                tree.problems.append(
                    Problem(doc.file, doc.line((i,)), "duplicate-source",
                            f"source id '{src.id}' is registered twice", "keep one entry")
                )  # fmt: skip
            tree.sources[src.id] = src
            tree.source_lines[src.id] = (doc.file, doc.line((i,)))

    for doc in read_dir("conditions"):
        tree.docs[f"conditions:{doc.file}"] = doc
        for i, item in enumerate(_as_list(doc, tree)):
            cond, probs = parse(Condition, doc, item, (i,))
            tree.problems += probs
            if cond is None:
                continue
            if cond.id in tree.conditions:
                tree.problems.append(
                    Problem(doc.file, doc.line((i,)), "duplicate-condition",
                            f"condition id '{cond.id}' is defined twice", "keep one entry")
                )  # fmt: skip
            tree.conditions[cond.id] = cond

    classes: dict[str, TaxonClass] = {}
    for doc in read_dir("classes"):
        cid = Path(doc.file).stem
        tree.docs[f"class:{cid}"] = doc
        cls, probs = parse(TaxonClass, doc, doc.data)
        tree.problems += probs
        if cls is not None:
            classes[cid] = _with_type_files(cls, cid, root, tree)
    tax_doc = read("taxonomy.yaml")
    if tax_doc is not None:
        tree.docs["taxonomy"] = tax_doc
        data = dict(tax_doc.data or {}) if isinstance(tax_doc.data, dict) else {}
        data["classes"] = {}
        tax, probs = parse(Taxonomy, tax_doc, data)
        tree.problems += probs
        if tax is not None:
            tree.taxonomy = tax.model_copy(update={"classes": classes})

    for path in sorted((root / "drugs").glob("*.yaml")):
        drug_doc, probs = read_yaml(path, root)
        tree.problems += probs
        if drug_doc is None:
            continue
        doc = drug_doc
        if not isinstance(doc.data, dict):
            tree.problems.append(
                Problem(doc.file, 1, "bad-value", "a drug file must be a mapping of fields",
                        "start from docs/knowledge-format.md's example")
            )  # fmt: skip
            continue
        if _sets_inherited_from(doc.data):
            tree.problems.append(
                Problem(doc.file, 1, "bad-value", "'inherited_from' is set by the compiler",
                        "remove it; state the fact on the class to share it")
            )  # fmt: skip
        ing, probs = parse(Ingredient, doc, doc.data)
        tree.problems += probs
        if ing is None:
            continue
        if ing.id != path.stem:
            tree.problems.append(
                Problem(doc.file, doc.line(("id",)), "bad-value",
                        f"id '{ing.id}' does not match the file name '{path.stem}'",
                        f"rename the file to {ing.id}.yaml or fix the id")
            )  # fmt: skip
        tree.docs[f"drug:{ing.id}"] = doc
        tree.ingredients[ing.id] = ing
    combo_path = root / "combinations.yaml"
    if combo_path.exists():
        combo_doc, probs = read_yaml(combo_path, root)
        tree.problems += probs
        if combo_doc is not None:
            tree.docs["combinations"] = combo_doc
            combos, probs = parse(Combinations, combo_doc, combo_doc.data or {})
            tree.problems += probs
            if combos is not None:
                tree.combinations = list(combos.combinations)

    scope_path = root / "scope.yaml"
    if scope_path.exists():
        scope_doc, probs = read_yaml(scope_path, root)
        tree.problems += probs
        if scope_doc is not None:
            tree.docs["scope"] = scope_doc
            tree.scope, probs = parse(Scope, scope_doc, scope_doc.data)
            tree.problems += probs

    derived_path = root / "derived" / "names.yaml"
    if derived_path.exists():
        der_doc, probs = read_yaml(derived_path, root)
        tree.problems += probs
        if der_doc is not None and isinstance(der_doc.data, dict):
            doc = der_doc
            tree.docs["derived"] = doc
            for iid, entry in sorted(doc.data.items()):
                dn, probs = parse(DerivedNames, doc, entry, (iid,))
                tree.problems += probs
                if dn is None:
                    continue
                if iid not in tree.ingredients:
                    tree.problems.append(
                        Problem(doc.file, doc.line((iid,)), "unknown-ingredient",
                                f"derived names for '{iid}', which has no drugs/{iid}.yaml",
                                "re-run scripts/derive_names.py")
                    )  # fmt: skip
                    continue
                tree.derived[iid] = dn
    return tree


def _with_type_files(cls: TaxonClass, cid: str, root: Path, tree: SourceTree) -> TaxonClass:
    """Add the types in ``classes/<class>/<type>.yaml`` (one file per type keeps big classes
    such as biologics editable by several curators at once)."""
    types = dict(cls.types)
    for path in sorted((root / "classes" / cid).glob("*.yaml")):
        doc, probs = read_yaml(path, root)
        tree.problems += probs
        if doc is None:
            continue
        tid = path.stem
        typ, probs = parse(TaxonType, doc, doc.data)
        tree.problems += probs
        if typ is None:
            continue
        if tid in types:
            tree.problems.append(
                Problem(doc.file, 1, "duplicate-type",
                        f"type '{tid}' is defined in classes/{cid}.yaml and in this file",
                        "keep one definition")
            )  # fmt: skip
        tree.docs[f"type:{cid}/{tid}"] = doc
        types[tid] = typ
    return cls.model_copy(update={"types": types})


def _as_list(doc: Located, tree: SourceTree) -> list[Any]:
    if doc.data is None:
        return []
    if not isinstance(doc.data, list):
        tree.problems.append(
            Problem(doc.file, 1, "bad-value", "this file must be a YAML list of entries",
                    "start each entry with '- id: ...'")
        )  # fmt: skip
        return []
    return doc.data


def _sets_inherited_from(data: Any) -> bool:
    if isinstance(data, dict):
        return "inherited_from" in data or any(_sets_inherited_from(v) for v in data.values())
    if isinstance(data, list):
        return any(_sets_inherited_from(v) for v in data)
    return False


def read_other_drugs(root: Path) -> list[tuple[str, str, str, str]]:
    """(key, name, DrugBank id, category) of non-immunomodulator drugs
    (``derived/other_drugs.tsv``; category: cytotoxic-chemotherapy, other-antineoplastic or "";
    a brand's name is its substances', "Eliquis" -> "Apixaban")."""
    path = root / "derived" / "other_drugs.tsv"
    if not path.exists():
        return []
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    out: dict[str, tuple[str, str, str, str]] = {}
    for row in csv.DictReader(lines, delimiter="\t"):
        key = name_key(row["name"])
        if key:
            name = row.get("canonical") or row["name"]  # a brand is named as its substances
            out.setdefault(key, (key, name, row["drugbank_id"], row.get("category") or ""))
    extra = root / "other_drugs_extra.tsv"
    if extra.exists():  # curated brands and combination names DrugBank lacks
        rows = [ln for ln in extra.read_text(encoding="utf-8").splitlines() if ln[:1] != "#"]
        for row in csv.DictReader(rows, delimiter="\t"):
            key = name_key(row["name"])
            if key:
                out[key] = (key, row["canonical"], "curated", "")
    return [out[k] for k in sorted(out)]
