"""How complete the knowledge base is: scope codes present, and fields each ingredient lacks.

A field counts as *missing* only when it is empty **and** the curator has not explained the gap
under ``no_data`` ("no US boxed warning", "label gives no frequencies" …): an explained gap is
an answer, a silent one is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from immunomod.knowledge.models import DrugRecord, ScopeCode

#: Fields every ingredient must fill or explain (issue "Knowledge base, part 1").
REQUIRED_LISTS: tuple[str, ...] = (
    "brands", "dosing", "indications", "serious_risks", "boxed_warnings", "screening",
    "monitoring", "vaccines", "pregnancy", "time_to_effect", "regulatory",
)  # fmt: skip
MIN_SIDE_EFFECTS = 3


def fields_missing(rec: DrugRecord) -> list[str]:
    """Required fields of ``rec`` that are neither filled nor explained in ``no_data``."""
    ing = rec.ingredient
    explained = set(ing.no_data)
    out = [f for f in REQUIRED_LISTS if not getattr(ing, f) and f not in explained]
    if ing.names is None and "names" not in explained:
        out.append("names")
    if not rec.atc and "atc" not in explained:
        out.append("atc")
    if len(ing.side_effects) < MIN_SIDE_EFFECTS and "side_effects" not in explained:
        out.append(f"side_effects (<{MIN_SIDE_EFFECTS})")
    return sorted(out)


def coverage(
    scope: Iterable[ScopeCode],
    atc_owner: dict[str, str],
    records: Iterable[DrugRecord],
    part: int | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    """Compare the scope with the ATC codes present; list unexplained field gaps."""
    codes = [
        c for c in scope if (part is None or c.part == part) and (group is None or c.group == group)
    ]
    in_scope = [c for c in codes if c.status == "in-scope"]
    missing = [c for c in in_scope if c.code not in atc_owner]
    by_group: dict[str, dict[str, Any]] = {}
    for c in in_scope:
        g = by_group.setdefault(c.group, {"in_scope": 0, "present": 0, "missing": []})
        g["in_scope"] += 1
        if c.code in atc_owner:
            g["present"] += 1
        else:
            g["missing"].append(c.code)
    scoped_ids = {atc_owner[c.code] for c in in_scope if c.code in atc_owner}
    everything = part is None and group is None
    gaps = {}
    for rec in records:
        fm = fields_missing(rec) if everything or rec.id in scoped_ids else []
        if fm:
            gaps[rec.id] = fm
    return {
        "in_scope": len(in_scope),
        "present": len(in_scope) - len(missing),
        "missing": [{"code": c.code, "name": c.name, "group": c.group} for c in missing],
        "excluded": [
            {"code": c.code, "name": c.name, "reason": c.reason}
            for c in codes
            if c.status == "excluded"
        ],
        "fields_missing": gaps,
        "by_group": by_group,
    }
