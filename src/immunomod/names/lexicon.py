"""The words around drug names (salts, dose forms, routes, frequencies, context cues).

The word lists live in ``lexicon.toml`` beside this module (data, not code); this module loads
them once and offers the small helpers the resolver needs.

    >>> strip_salts("methotrexate sodium")
    'methotrexate'
    >>> LEXICON.local_route("eye drops")
    'ophthalmic'
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_PATH = Path(__file__).with_name("lexicon.toml")


@dataclass(frozen=True)
class Lexicon:
    salts: tuple[str, ...]  # longest first
    forms: frozenset[str]
    local: dict[str, str]
    routes: dict[str, str]
    frequency: dict[str, tuple[float, str]]
    context: dict[str, tuple[str, ...]]
    common: frozenset[str]

    def local_route(self, phrase: str) -> str | None:
        return self.local.get(phrase)

    @property
    def all_words(self) -> frozenset[str]:
        """Every single word the lexicon knows (never a drug name)."""
        words: set[str] = set(self.forms)
        for phrases in (self.salts, self.local, self.routes, self.frequency):
            for p in phrases:
                words.update(p.split())
        for cues in self.context.values():
            for c in cues:
                words.update(c.split())
        return frozenset(words)


@cache
def load() -> Lexicon:
    data = tomllib.loads(_PATH.read_text(encoding="utf-8"))
    return Lexicon(
        salts=tuple(sorted(data["salts"]["words"], key=len, reverse=True)),
        forms=frozenset(data["forms"]["words"]),
        local=dict(data["local"]),
        routes=dict(data["routes"]),
        frequency={k: (float(v[0]), str(v[1])) for k, v in data["frequency"].items()},
        context={k: tuple(v) for k, v in data["context"].items()},
        common=frozenset(data["common"]["words"]),
    )


LEXICON = load()


def strip_salts(key: str) -> str:
    """Drop trailing salt/ester/hydrate words from a normalised name (``name_key`` form)."""
    changed = True
    while changed:
        changed = False
        for salt in LEXICON.salts:
            if key.endswith(" " + salt):
                key = key[: -len(salt) - 1].rstrip()
                changed = True
                break
    return key
