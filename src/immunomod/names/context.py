"""What a mention means in its sentence: current, stopped, historical, negated, allergy, planned.

A NegEx-style reading: cue phrases from ``lexicon.toml`` scope over the mentions that follow
them in the same clause, within a few words, unless a word such as "but" or "now" ends the
scope first; "stopped" and the like may also follow the name ("prednisone stopped in May").
Allergy cues scope over the whole clause, because allergy lists are long.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import cache, lru_cache

from immunomod.names.lexicon import LEXICON
from immunomod.names.models import Context

_CLAUSE_END = re.compile(
    r"(?<!\d)\.(?!\d)|[;\n|!?]|\bbut\b|\bhowever\b|\bwhereas\b", re.I
)  # a decimal point ("0.1%") does not end a clause
_SCOPE_BREAK = re.compile(
    r"\b(now|currently|on|taking|takes|started|continues|continuing|remains|and is|restarted|"
    r"switched|changed|converted)\b",
    re.I,
)
#: Words a pre-cue may be from its mention (NegEx uses a window of about five words).
WINDOW_WORDS = 6
_PRIORITY: tuple[Context, ...] = ("allergy", "negated", "stopped", "historical", "planned")


@cache
def _cue_re(kind: str) -> re.Pattern[str]:
    cues = sorted(LEXICON.context[kind], key=len, reverse=True)
    return re.compile(r"(?<![\w'])(" + "|".join(re.escape(c) for c in cues) + r")(?![\w'])", re.I)


def _breaks_scope(between: str) -> bool:
    """A scope-ending word after the first word ("no history of TB, on methotrexate");
    right after the cue it belongs to the cue ("previously on", "denies taking")."""
    words = between.split()
    return any(_SCOPE_BREAK.fullmatch(w.strip(",")) for w in words[1:])


def clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Start and end of the clause that holds ``text[start:end]``."""
    starts, ends = _clause_ends(text)
    before = bisect_right(ends, start)  # clause ends that finish at or before the mention
    after = bisect_left(starts, end)  # ... and the first that begins after it
    return (ends[before - 1] if before else 0), (
        starts[after] if after < len(starts) else len(text)
    )


@lru_cache(maxsize=1_024)
def _clause_ends(text: str) -> tuple[list[int], list[int]]:
    """Where each clause end of ``text`` starts and finishes: found once per text, not once
    per mention (a note naming 30 drugs was scanned from its start 30 times)."""
    found = list(_CLAUSE_END.finditer(text))
    return [m.start() for m in found], [m.end() for m in found]


def mention_context(text: str, start: int, end: int) -> Context:
    """The context of the mention ``text[start:end]`` (``current`` when no cue applies)."""
    left, right = clause_bounds(text, start, end)
    return _context(text[left:start], text[end:right])


@lru_cache(maxsize=16_384)
def _context(before: str, after: str) -> Context:
    """The context from the clause's words before and after the mention (cached: a batch
    table repeats the same clauses, "prednisolone 5 mg tablets ... take 1 daily", endlessly)."""
    found: set[Context] = set()
    if _cue_re("allergy").search(before):
        found.add("allergy")
    for kind in ("negated", "stopped", "historical", "planned"):
        for m in _cue_re(kind).finditer(before):
            between = before[m.end() :]
            if len(between.split()) <= WINDOW_WORDS and not _breaks_scope(between):
                found.add(kind)
    m_post = _cue_re("stopped_post").search(after)
    if m_post and len(after[: m_post.start()].split()) <= 3:
        found.add("stopped")
    for kind in _PRIORITY:
        if kind in found:
            return kind
    return "current"
