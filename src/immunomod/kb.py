"""The knowledge base as a library: look up, search and list immunomodulators.

    >>> from immunomod import kb
    >>> kb.get("humira").inn                      # any name: brand, biosimilar, salt, ATC code
    'adalimumab'
    >>> kb.get("L04AB04").direction
    'suppress'
    >>> [d.inn for d in kb.by_class("jak-inhibitor")][:1]
    ['tofacitinib']

Unknown names raise :class:`immunomod.errors.UnknownDrugError` with ``suggestions``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from immunomod.knowledge.models import Condition, DrugRecord, Source, TaxonClass
from immunomod.knowledge.store import DrugSummary, Store


@cache
def store() -> Store:
    """The package's own compiled knowledge base, opened once per process."""
    return Store.open()


def get(name_or_atc_code: str) -> DrugRecord:
    """The ingredient that ``name_or_atc_code`` names (INN, synonym, salt, brand, biosimilar,
    abbreviation, or a level-5 ATC code)."""
    return store().get(name_or_atc_code)


def search(text: str, limit: int = 20) -> list[DrugSummary]:
    """Ingredients whose names start with, contain or resemble ``text``."""
    return store().search(text, limit)


def by_class(name: str) -> list[DrugSummary]:
    """Ingredients of a direction (``suppress``), class, type or teaching group."""
    return store().by_class(name)


def for_condition(text: str) -> tuple[Condition, list[DrugSummary]]:
    """The condition ``text`` names and the immunomodulators indicated for it."""
    return store().for_condition(text)


def classes() -> dict[str, TaxonClass]:
    """The taxonomy's classes (with their types), by id."""
    return store().classes()


def sources() -> dict[str, Source]:
    """The sources registry, by id."""
    return store().sources()


def stats() -> dict[str, Any]:
    """Counts and the content hash of the compiled knowledge base."""
    return store().stats()


__all__ = [
    "DrugRecord",
    "DrugSummary",
    "by_class",
    "classes",
    "for_condition",
    "get",
    "search",
    "sources",
    "stats",
    "store",
]
