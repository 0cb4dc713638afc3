"""The resolver's shortcuts for misspellings give the answers a full scan gives.

Two shortcuts replace comparing a misspelt word with every name:

* the deletion index (:mod:`immunomod.names.fuzzy`) finds immunomodulator names within one or
  two edits;
* the compiler lists, beside each immunomodulator name, the ordinary-drug names within four
  edits of it (``fuzzy_guard``), so the guard "an ordinary drug as close wins" compares a few
  dozen names, not ~12,000.

Both are checked against the brute-force answer: the first on arbitrary words (Hypothesis),
the second on misspellings made from every immunomodulator name in the package's own
knowledge base.
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from immunomod.names.fuzzy import DeleteIndex, deletions
from immunomod.names.resolver import Resolver, edit_limit
from immunomod.names.vocabulary import vocabulary

_WORD = st.text(alphabet="abcdeimnorstu", min_size=1, max_size=9)


def test_deletions_of_a_short_word():
    assert deletions("abc", 0) == {"abc"}
    assert deletions("abc", 1) == {"abc", "ab", "ac", "bc"}
    assert deletions("abc", 2) == {"abc", "ab", "ac", "bc", "a", "b", "c"}
    with pytest.raises(ValueError, match="depth"):
        deletions("abc", 3)


@settings(max_examples=300, deadline=None)
@given(names=st.lists(_WORD, min_size=1, max_size=40, unique=True), word=_WORD,
       limit=st.integers(0, 2))  # fmt: skip
def test_index_finds_exactly_the_names_a_full_scan_finds(names, word, limit):
    brute = sorted(
        ((n, OSA.distance(word, n)) for n in names if OSA.distance(word, n) <= limit),
        key=lambda h: (h[1], len(h[0]), h[0]),
    )
    assert DeleteIndex(names).near(word, limit) == brute


def test_a_word_longer_than_any_name_plus_the_edits_finds_nothing():
    # and at once: a 5,000-letter word has ~12.5 million two-letter deletions to look up
    index = DeleteIndex(["methotrexate"])
    assert index.near("methotrexatexx", 2) == [("methotrexate", 2)]
    assert index.near("methotrexatexxx", 2) == []
    assert index.near("m" * 5_000, 2) == []


def test_index_refuses_more_edits_than_it_holds():
    with pytest.raises(ValueError, match="2 edits"):
        DeleteIndex(["methotrexate"]).near("methotrexate", 3)


def _misspell(word: str, rng: random.Random, edits: int) -> str:
    """``word`` with ``edits`` random substitutions, deletions, insertions or swaps (not of
    its first letter: the resolver expects typos to spare it)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(edits):
        i = rng.randrange(1, len(word))
        kind = rng.choice("sdit")
        if kind == "s":
            word = word[:i] + rng.choice(letters) + word[i + 1 :]
        elif kind == "d":
            word = word[:i] + word[i + 1 :]
        elif kind == "i":
            word = word[:i] + rng.choice(letters) + word[i:]
        elif i + 1 < len(word):
            word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word


@pytest.fixture(scope="module")
def resolvers() -> tuple[Resolver, Resolver]:
    """The package's resolver, and one that has no guard lists (so it scans every name)."""
    vocab = vocabulary()
    return Resolver(vocab), Resolver(dataclasses.replace(vocab, guard={}))


def test_guard_lists_give_the_full_scans_answer_for_misspellings_of_every_name(resolvers):
    listed, scanning = resolvers
    rng = random.Random(20261125)
    checked = 0
    for key in listed.vocab.fuzzy_keys:
        for edits in (1, 2):
            word = _misspell(key, rng, edits)
            limit = edit_limit(word)
            if limit == 0:
                continue
            dist = OSA.distance(word, key)
            if dist > limit:
                continue
            assert listed._closest_other(word, dist, key) == scanning._closest_other(
                word, dist, key
            ), (word, key)
            checked += 1
    assert checked > 2_000  # most names give two usable misspellings
