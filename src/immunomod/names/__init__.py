"""Name resolution: brands, biosimilars, salts, product strings, abbreviations, misspellings
and free text with dosing, resolved to knowledge-base ingredients.

    >>> from immunomod.names import resolve
    >>> resolve("Humira").matches[0].ingredient
    'adalimumab'
"""

from __future__ import annotations

from functools import cache

from immunomod.names.models import Candidate, Match, Resolution, Sig, SigStep
from immunomod.names.resolver import MAX_CHARS, Resolver


@cache
def default_resolver() -> Resolver:
    """The resolver over the package's own knowledge base (built once per process)."""
    return Resolver()


def resolve(text: str) -> Resolution:
    """Every drug mention in ``text``, with ingredient, status, confidence, context and sig."""
    return default_resolver().resolve(text)


__all__ = [
    "MAX_CHARS", "Candidate", "Match", "Resolution", "Resolver", "Sig", "SigStep",
    "default_resolver", "resolve",
]  # fmt: skip
