"""Print a random sample of facts beside their source references, for a human audit.

    .venv/bin/python scripts/audit_facts.py --n 50 --seed 2026 [--part 1|2] > audit.md

Each fact is shown with the ingredient (or class) it belongs to, its field, its wording, any
numbers, its confidence and every source (title, URL, locator). The auditor checks each line
against the source and records the errors found and fixed on the issue.
"""

from __future__ import annotations

import argparse
import random
from typing import Any

from immunomod import kb
from immunomod.knowledge.models import Fact, Quantity
from immunomod.knowledge.validate import walk

PART2_CLASSES = {
    "checkpoint-inhibitor", "cell-therapy", "cytokine", "colony-stimulating-factor",
    "bacterial-immunotherapy", "t-cell-engager", "cancer-vaccine", "immune-response-modifier",
    "oncolytic-virus",
}  # fmt: skip


def facts_of_ingredients(part: int | None) -> list[tuple[str, str, Fact]]:
    """(ingredient, field path, fact) for every fact an ingredient states itself."""
    out = []
    for s in kb.store().all_summaries():
        rec = kb.get(s.id)
        is_part2 = rec.class_.id in PART2_CLASSES
        if (part == 1 and is_part2) or (part == 2 and not is_part2):
            continue
        for path, value in walk(rec.ingredient):
            if isinstance(value, Fact) and value.inherited_from is None:
                out.append((s.id, ".".join(str(p) for p in path), value))
    return out


def describe(fact: Fact) -> str:
    parts: list[str] = []
    keys = ("name", "proper_name", "title", "test", "effect", "context", "condition", "agency")
    for name in (*keys, "route", "topic", "markets"):
        v = getattr(fact, name, None)
        if v:
            parts.append(f"{name}: {v}")
    for name in ("text", "plain", "frequency_text", "detail", "status", "year"):
        v = getattr(fact, name, None)
        if v:
            parts.append(f"{name}: {v}")
    for name, v in fact:
        if isinstance(v, Quantity):
            parts.append(f"{name}: {v}")
    for name in ("codes", "brands", "synonyms", "targets"):
        v: Any = getattr(fact, name, None)
        if v:
            parts.append(f"{name}: {', '.join(map(str, v))}")
    return " | ".join(parts) or "(structure only)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--part", type=int, choices=[1, 2])
    args = ap.parse_args()
    facts = facts_of_ingredients(args.part)
    sample = random.Random(args.seed).sample(facts, min(args.n, len(facts)))
    sources = kb.sources()
    print(f"# Fact audit: {len(sample)} of {len(facts)} facts, seed {args.seed}\n")
    for i, (iid, path, fact) in enumerate(sample, 1):
        print(f"## {i}. {iid} · {path} · confidence {fact.confidence}")
        print(describe(fact))
        for ref in fact.sources:
            src = sources[ref.id]
            loc = f" [{ref.locator}]" if ref.locator else ""
            print(f"- {ref.id}{loc}: {src.title} ({src.publisher}, {src.year}) {src.url}")
        if fact.note:
            print(f"- note: {fact.note}")
        print()


if __name__ == "__main__":
    main()
