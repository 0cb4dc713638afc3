"""Per-person episodes of high, low or unknown immunosuppression, from classified exposures.

One pure function, :func:`person_episodes`, does the work for one person; the DuckDB and Spark
engines only feed it each person's rows, so both give the same episodes.

How a day's level is decided (the rules are the regimen checker's, from the rule packs):

* every exposure covers the days from its start to its end (``im_end``: the end date, else
  start + days supply - 1, else the sig's duration, else one dosing interval, else one day);
* systemic glucocorticoids are added up as prednisone-equivalent mg/day, day by day, following
  the sig's steps and tapers. IDSA 2013 (rule ``idsa-steroid``): a total at or above the
  threshold (>= 20 mg/day) is high level once it has lasted the minimum duration (>= 14 days):
  the episode turns high on day 14 of an unbroken run, the day the point-in-time checker would
  also say "high". Days before that, and days below the threshold, are low. A steroid without a
  readable dose makes those days ``unknown``;
* every other drug gives its rule's fixed level (TNF inhibitors high, hydroxychloroquine none,
  methotrexate ``unknown`` because its level depends on mg/kg and tables carry no weight);
* the day's level is the highest: high > unknown > low (none is not an episode).

Episodes are the runs of days with one level; two runs of the same level separated only by
days with no exposure at all are joined when the gap is at most ``grace_days`` (default 30,
the persistence window OHDSI uses to build drug eras), and the gap days count in the episode.
The adult threshold is used: batch tables carry no weight, and the child threshold (2 mg/kg/day
under 10 kg) cannot be checked.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from immunomod.rules.engine import pack
from immunomod.rules.models import LevelRule

GRACE_DAYS = 30
LEVELS = ("high", "unknown", "low")  # strongest first; "none" is not an episode
EPISODE_COLUMNS: dict[str, str] = {
    "person_id": "STRING", "episode": "INTEGER", "level": "STRING", "start_date": "DATE",
    "end_date": "DATE", "days": "INTEGER", "drugs": "STRING", "rules": "STRING",
    "max_pred_eq_mg_per_day": "DOUBLE", "exposures": "INTEGER", "uncertain_drugs": "STRING",
}  # fmt: skip
#: The classified columns episodes read, in this order (see ``Exposure.from_row``).
INPUT_COLUMNS = ("im_ingredient", "im_level", "im_level_rule", "im__pe_factor",
                 "im_amount_per_day", "im_schedule", "im_start", "im_end", "im_status")  # fmt: skip


@dataclass(frozen=True)
class Exposure:
    """One usable exposure row (context current, dates readable, drug identified)."""

    drug: str
    level: str | None  # fixed level; None for a systemic steroid (judged over time)
    rule: str
    pe_factor: float | None
    per_day: float | None  # mg/day when the row has no multi-step schedule
    schedule: str | None  # JSON [[days | null, mg/day | null], ...]
    start: date
    end: date
    uncertain: bool = False

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Exposure:
        drug, level, rule, factor, per_day, sched, start, end, status = row
        return cls(drug, level, rule, factor, per_day, sched, start, end,
                   uncertain=status != "unique")  # fmt: skip


@dataclass
class _Day:
    """What covers one elementary interval of days."""

    steroid_pe: float | None = 0.0  # None: a steroid with an unreadable dose
    steroid_drugs: set[str] = field(default_factory=set)
    fixed: dict[str, set[str]] = field(default_factory=dict)  # level -> drugs
    rules: dict[str, set[str]] = field(default_factory=dict)  # level -> rule ids
    rows: set[int] = field(default_factory=set)
    uncertain: set[str] = field(default_factory=set)


@cache
def _steroid_rule() -> LevelRule:
    return next(r for r in pack().levels if r.kind == "steroid")


def person_episodes(
    person: str, rows: Iterable[Sequence[Any]], grace_days: int = GRACE_DAYS
) -> list[tuple[Any, ...]]:
    """The episodes of one person, as tuples in :data:`EPISODE_COLUMNS` order."""
    exposures = [Exposure.from_row(r) for r in rows]
    pieces: list[tuple[int, int, int, Exposure, float | None]] = []  # start, end, row, exp, pe
    for i, e in enumerate(exposures):
        for a, b, pe in _pieces(e):
            pieces.append((a, b, i, e, pe))
    if not pieces:
        return []
    cuts = sorted({a for a, *_ in pieces} | {b + 1 for _, b, *_ in pieces})
    spans: list[tuple[int, int, _Day]] = []
    for lo, hi in itertools.pairwise(cuts):
        day = _Day()
        for a, b, i, e, pe in pieces:
            if a <= lo and hi - 1 <= b:
                _cover(day, i, e, pe)
        if day.rows:
            spans.append((lo, hi - 1, day))
    levelled = _levels(spans)
    return _episodes(person, levelled, grace_days)


def _pieces(e: Exposure) -> list[tuple[int, int, float | None]]:
    """Day ranges (ordinal, inclusive) of one exposure, with prednisone-equivalent mg/day for a
    steroid (None when unreadable) or None for other drugs."""
    a, b = e.start.toordinal(), e.end.toordinal()
    if e.level is not None or b < a:
        return [(a, b, None)] if b >= a else []
    factor = e.pe_factor
    steps: list[list[float | None]] = json.loads(e.schedule) if e.schedule else []
    if not steps:
        pe = e.per_day * factor if e.per_day is not None and factor is not None else None
        return [(a, b, pe)]
    out: list[tuple[int, int, float | None]] = []
    day = a
    for days, amount in steps:
        if day > b:
            break
        last = b if days is None else min(b, day + max(int(-(-days // 1)), 1) - 1)
        pe = amount * factor if amount is not None and factor is not None else None
        out.append((day, last, pe))
        day = last + 1
    return out


def _cover(day: _Day, i: int, e: Exposure, pe: float | None) -> None:
    day.rows.add(i)
    if e.uncertain:
        day.uncertain.add(e.drug)
    if e.level is None:  # systemic steroid
        day.steroid_drugs.add(e.drug)
        day.steroid_pe = None if pe is None or day.steroid_pe is None else day.steroid_pe + pe
        return
    day.fixed.setdefault(e.level, set()).add(e.drug)
    day.rules.setdefault(e.level, set()).add(e.rule)


_Span = tuple[int, int, str, _Day, str | None]  # first day, last day, level, cover, steroid's


def _levels(spans: list[tuple[int, int, _Day]]) -> list[_Span]:
    """Split spans where a steroid run reaches its minimum duration; give each its level."""
    rule = _steroid_rule()
    assert rule.threshold is not None and rule.min_duration is not None
    need = int(rule.min_duration.value)
    out: list[_Span] = []
    run_start: int | None = None  # first day of the current unbroken run at/over the threshold
    previous_end: int | None = None
    for lo, hi, day in spans:
        over = (
            day.steroid_drugs
            and day.steroid_pe is not None
            and (day.steroid_pe >= rule.threshold.value if rule.threshold.op == ">="
                 else day.steroid_pe > rule.threshold.value)
        )  # fmt: skip
        if not over:
            run_start = None
        elif run_start is None or previous_end is None or previous_end + 1 != lo:
            run_start = lo
        previous_end = hi
        if over and run_start is not None:
            high_from = run_start + need - 1
            if high_from > lo:
                out.append((lo, min(hi, high_from - 1), _overall(day, "low"), day, "low"))
            if high_from <= hi:
                out.append((max(lo, high_from), hi, "high", day, "high"))
            continue
        steroid = None
        if day.steroid_drugs:
            steroid = "unknown" if day.steroid_pe is None else "low"
        out.append((lo, hi, _overall(day, steroid), day, steroid))
    return out


def _overall(day: _Day, steroid: str | None) -> str:
    levels = set(day.fixed) | ({steroid} if steroid else set())
    return next((lv for lv in LEVELS if lv in levels), "none")


def _episodes(person: str, spans: list[_Span], grace: int) -> list[tuple[Any, ...]]:
    merged: list[list[Any]] = []  # [first day, last day, level, [spans]]
    for span in spans:
        lo, hi, level = span[0], span[1], span[2]
        if level == "none":
            continue  # e.g. hydroxychloroquine alone: not immunosuppression, and not a break
        last = merged[-1] if merged else None
        # The previous episode is the last span with a level, so only days with no exposure
        # (or none-level drugs) lie between: join when that gap is within the grace period.
        if last and last[2] == level and lo - last[1] - 1 <= grace:
            last[1] = hi
            last[3].append(span)
        else:
            merged.append([lo, hi, level, [span]])
    out = []
    for n, (lo, hi, level, parts) in enumerate(merged, 1):
        drugs: set[str] = set()
        rules: set[str] = set()
        rows: set[int] = set()
        uncertain: set[str] = set()
        max_pe: float | None = None
        for _, _, _, cover, steroid in parts:
            rows |= cover.rows
            uncertain |= cover.uncertain
            drugs |= cover.fixed.get(level, set())  # the drugs that drive this level
            rules |= cover.rules.get(level, set())
            if steroid == level:
                drugs |= cover.steroid_drugs
                rules.add(_steroid_rule().id)
            if cover.steroid_drugs and cover.steroid_pe is not None:
                pe = cover.steroid_pe
                max_pe = pe if max_pe is None else max(max_pe, pe)
        out.append((
            person, n, level, date.fromordinal(lo), date.fromordinal(hi), hi - lo + 1,
            ";".join(sorted(drugs)), ";".join(sorted(rules)),
            None if max_pe is None else round(max_pe, 3), len(rows),
            ";".join(sorted(uncertain)) or None,
        ))  # fmt: skip
    return out


__all__ = ["EPISODE_COLUMNS", "GRACE_DAYS", "INPUT_COLUMNS", "Exposure", "person_episodes"]
