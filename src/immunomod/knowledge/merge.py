"""Build the effective record of an ingredient: curated facts + derived names + inherited facts.

Two rules, applied in this order:

1. **Derived names** (``derived/names.yaml``) add to what the curator wrote; curated entries
   win when both name the same brand, biosimilar or agency.
2. **Inheritance**: facts stated on the ingredient's class, then its type, are prepended to the
   ingredient's own lists, each marked ``inherited_from``. A fact the ingredient states with the
   same ``id`` replaces the inherited one; ``exclude_inherited`` drops one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from immunomod.knowledge.models import (
    INHERITABLE_FIELDS,
    AtcCodes,
    Biosimilar,
    DerivedNames,
    Fact,
    Ingredient,
    InheritableFacts,
    Names,
    Taxonomy,
)

F = TypeVar("F", bound=Fact)


def _key(name: str) -> str:
    return " ".join(name.casefold().replace("-", " ").split())


def _unique(items: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if _key(item) not in seen:
            seen.add(_key(item))
            out.append(item)
    return out


def _merge_sources(a: Fact, b: Fact) -> list[Any]:
    return list({str(s): s for s in [*a.sources, *b.sources]}.values())


def merge_derived(ing: Ingredient, der: DerivedNames | None) -> Ingredient:
    """Add derived ATC codes, synonyms, brands, biosimilars and approvals to ``ing``."""
    if der is None:
        return ing
    update: dict[str, Any] = {}
    if der.atc is not None:
        if ing.atc is None:
            update["atc"] = der.atc
        else:
            codes = _unique([*ing.atc.codes, *der.atc.codes])
            update["atc"] = AtcCodes(
                codes=codes, sources=_merge_sources(ing.atc, der.atc), confidence=ing.atc.confidence
            )
    if der.names is not None:
        if ing.names is None:
            update["names"] = der.names
        else:
            own = {_key(n) for n, _ in ing.all_names()}
            update["names"] = Names(
                synonyms=_unique(
                    [*ing.names.synonyms, *(s for s in der.names.synonyms if _key(s) not in own)]
                ),
                salts=ing.names.salts,
                abbreviations=ing.names.abbreviations,
                codes=_unique([*ing.names.codes, *der.names.codes]),
                sources=_merge_sources(ing.names, der.names),
                confidence=ing.names.confidence,
            )
    brands = {_key(b.name) for b in ing.brands}
    update["brands"] = [*ing.brands, *(b for b in der.brands if _key(b.name) not in brands)]
    update["biosimilars"] = _merge_biosimilars(ing.biosimilars, der.biosimilars, brands)
    agencies = {r.agency for r in ing.regulatory}
    update["regulatory"] = [
        *ing.regulatory,
        *(r for r in der.regulatory if r.agency not in agencies),
    ]
    return ing.model_copy(update=update)


def _merge_biosimilars(
    own: list[Biosimilar], derived: list[Biosimilar], brand_keys: set[str]
) -> list[Biosimilar]:
    seen = {_key(b.proper_name) for b in own if b.proper_name}
    seen |= {_key(n) for b in own for n in b.brands} | brand_keys
    out = list(own)
    for b in derived:
        if b.proper_name and _key(b.proper_name) in seen:
            continue
        names = [n for n in b.brands if _key(n) not in seen]
        if not b.proper_name and not names:
            continue
        out.append(b.model_copy(update={"brands": names}))
        seen |= {_key(n) for n in names}
    return out


def _tag(facts: Sequence[F], origin: str) -> list[F]:
    return [f.model_copy(update={"inherited_from": origin}) for f in facts]


def inherit(ing: Ingredient, taxonomy: Taxonomy) -> Ingredient:
    """Prepend the class's and type's facts to ``ing``'s lists (see module docstring)."""
    cls = taxonomy.classes.get(ing.classification.class_)
    if cls is None:
        return ing
    layers: list[tuple[str, InheritableFacts]] = [(f"class:{ing.classification.class_}", cls.facts)]
    typ = cls.types.get(ing.classification.type)
    if typ is not None:
        layers.append((f"type:{ing.classification.type}", typ.facts))
    excluded = set(ing.exclude_inherited)
    update: dict[str, Any] = {}
    for field in INHERITABLE_FIELDS:
        own: list[Fact] = list(getattr(ing, field))
        own_ids = {f.id for f in own if f.id}
        inherited: list[Fact] = []
        for origin, facts in layers:
            for f in _tag(getattr(facts, field), origin):
                if f.id and (f.id in excluded or f.id in own_ids):
                    continue
                # A type fact with the id of a class fact replaces it.
                inherited = [g for g in inherited if not (f.id and g.id == f.id)]
                inherited.append(f)
        update[field] = [*inherited, *own]
    return ing.model_copy(update=update)


def effective(ing: Ingredient, der: DerivedNames | None, taxonomy: Taxonomy) -> Ingredient:
    """The ingredient as served: derived names merged, class and type facts inherited."""
    return inherit(merge_derived(ing, der), taxonomy)
