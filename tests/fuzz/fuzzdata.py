"""Strategies shared by the fuzz suites: JSON-like values and mutations of valid documents.

Mutating a valid document reaches much deeper than random JSON: most of the document stays
valid, so each example breaks one thing in a place the parser really reads.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

# Strings that have tripped parsers before, or that mean something to ours.
TRICKY = [
    "", " ", "0", "-1", "1e309", "NaN", "2026-02-30", "2026-13-01", "0001-01-01", "9999-12-31",
    "1972", "2026-11-25T25:61:00Z", "urn:uuid:pt-1", "#ada", "#", "Medication/ada", "Patient/",
    "Bundle", "Patient", "Medication", "MedicationRequest", "MedicationStatement",
    "MedicationAdministration", "Observation", "ImmunizationRecommendation", "Basic", "Foo",
    "http://www.whocc.no/atc", "http://loinc.org", "L04AB04", "L04AX03", "29463-7", "kg", "g",
    "[lb_av]", "d", "wk", "mo", "h", "a", "s", "active", "stopped", "completed",
    "entered-in-error", "order", "final", "prednisone", "MTX", "Humira 40 mg every 0 days",
    "methotrexate 20 mg q0h", "pred " + "9" * 400 + " mg daily", "yellow fever", "MMR",
    "\x00", "\ud7ff", "é", "💊", "x" * 300,
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()  # NaN and ±Infinity too: Python's JSON parser accepts both literals
    | st.text(max_size=20)
    | st.sampled_from(TRICKY)
)


def json_values(keys: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Any]:
    """Any JSON-like value; object keys from ``keys`` (default: short arbitrary text)."""
    key_strategy = keys if keys is not None else st.text(max_size=10)
    return st.recursive(
        SCALARS,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(key_strategy, inner, max_size=5)
        ),
        max_leaves=25,
    )


Path_ = tuple[str | int, ...]


def paths(doc: Any, here: Path_ = ()) -> Iterator[Path_]:
    """Every place in ``doc`` (the root too)."""
    yield here
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from paths(v, (*here, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from paths(v, (*here, i))


def _get(doc: Any, path: Path_) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _similar(value: Any, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int | float):
        return st.integers(-1, 10**6) | st.floats() | st.sampled_from([0, -0.0, 1e308, 10**400])
    if isinstance(value, str):
        return st.sampled_from(TRICKY) | st.text(max_size=30) | st.just(value + value)
    return values


@st.composite
def mutated(draw: Any, doc: Any, keys: list[str], max_mutations: int = 3) -> Any:
    """``doc`` with one to ``max_mutations`` changes: a value replaced (same or other type),
    deleted, duplicated, or a key added. ``keys``: names worth adding (the format's own)."""
    doc = copy.deepcopy(doc)
    values = json_values(st.sampled_from(keys) | st.text(max_size=8))
    for _ in range(draw(st.integers(1, max_mutations))):
        path = draw(st.sampled_from(list(paths(doc))))
        if not path:
            doc = draw(values)
            continue
        parent, last = _get(doc, path[:-1]), path[-1]
        ops = ["similar", "similar", "replace", "delete", "duplicate", "add", "empty"]
        op = draw(st.sampled_from(ops))
        if op == "similar":  # same JSON type, so the rest of the document still validates
            parent[last] = draw(_similar(parent[last], values))
        elif op == "replace":
            parent[last] = draw(values)
        elif op == "delete":
            del parent[last]
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif op == "add" and isinstance(parent[last], dict):
            parent[last][draw(st.sampled_from(keys))] = draw(values)
        elif op == "empty":
            parent[last] = type(parent[last])() if isinstance(parent[last], list | dict | str) \
                else None  # fmt: skip
    return doc
