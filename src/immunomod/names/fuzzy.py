"""Find the names within one or two edits of a word without comparing it to every name.

    >>> index = DeleteIndex(["methotrexate", "mercaptopurine"])
    >>> index.near("methotrexat", 2)
    [('methotrexate', 1)]

*Symmetric delete*: every name is filed under each string left after deleting up to two of
its characters. Two words within ``d`` edits (insertions, deletions, substitutions, swaps of
neighbours: the resolver's OSA distance) each lose at most ``d`` characters to reach a common
string, so looking up the word's own deletions finds every such name; the true distance is
then computed for those few. About 60 lookups for a 10-letter word, instead of a distance to
each of ~1,000 names.
"""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz.distance import OSA

#: Deletions filed per name: the resolver never allows more than two edits.
DEPTH = 2


def deletions(word: str, depth: int) -> set[str]:
    """``word`` and every string made by deleting up to ``depth`` (0, 1 or 2) of its
    characters.

    >>> sorted(deletions("abc", 1))
    ['ab', 'abc', 'ac', 'bc']
    """
    if not 0 <= depth <= DEPTH:
        raise ValueError(f"depth must be 0 to {DEPTH}, not {depth}")
    n = len(word)
    out = {word}
    if depth >= 1:
        out.update(word[:i] + word[i + 1 :] for i in range(n))
    if depth == 2:  # each pair of positions once, not every deletion of every deletion
        out.update(
            word[:i] + word[i + 1 : j] + word[j + 1 :] for i in range(n) for j in range(i + 1, n)
        )
    return out


class DeleteIndex:
    """Names filed by their deletions (see the module docstring)."""

    def __init__(self, names: Iterable[str]):
        self._by_deletion: dict[str, list[str]] = {}
        self._longest = 0
        for name in names:
            self._longest = max(self._longest, len(name))
            for d in deletions(name, DEPTH):
                self._by_deletion.setdefault(d, []).append(name)

    def near(self, word: str, limit: int) -> list[tuple[str, int]]:
        """(name, distance) of every name within ``limit`` (at most 2) edits of ``word``,
        closest first, then shorter, then alphabetical."""
        if limit > DEPTH:
            raise ValueError(f"the index holds names up to {DEPTH} edits away, not {limit}")
        if len(word) > self._longest + limit:
            return []  # no name is that close; and a long word has ~n**2/2 deletions
        seen: set[str] = set()
        out = []
        for d in deletions(word, limit):
            for name in self._by_deletion.get(d, ()):
                if name not in seen:
                    seen.add(name)
                    dist = OSA.distance(word, name, score_cutoff=limit)
                    if dist <= limit:
                        out.append((name, dist))
        out.sort(key=lambda h: (h[1], len(h[0]), h[0]))
        return out
