"""One answer per *distinct* drug text: the resolver's fields plus what episodes need.

Both engines (DuckDB and Spark) resolve each distinct text with :func:`fields` and join the
result back to the rows, so their outputs cannot differ in how a text was understood.

    >>> row = dict(zip(LOOKUP_COLUMNS, fields("prednisolone 5mg tablets", "40 mg od for 1 week")))
    >>> row["im_schedule"]
    '[[7.0, 40.0]]'
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any

from immunomod import kb
from immunomod.names import default_resolver, resolve
from immunomod.names.models import Match, Resolution, Sig, SigStep
from immunomod.names.sig import _frequency
from immunomod.rules.engine import (
    DAYS,
    Med,
    dosing_interval_days,
    interchangeable,
    level_rule,
    steroid_factor,
)

#: The lookup table's columns (after the key ``im_key``) with their SQL types. Names that start
#: with ``im__`` are internal: used by the row-level SQL and by episodes, not written out.
LOOKUP_COLUMNS: dict[str, str] = {
    "im_ingredient": "STRING", "im_ingredients": "STRING", "im_immunomodulator": "BOOLEAN",
    "im_direction": "STRING", "im_class": "STRING", "im_type": "STRING",
    "im_status": "STRING", "im_confidence": "DOUBLE", "im_context": "STRING",
    "im_route": "STRING", "im_local": "BOOLEAN", "im_dose": "DOUBLE", "im_unit": "STRING",
    "im_level": "STRING", "im_level_rule": "STRING", "im_schedule": "STRING",
    "im_note": "STRING", "im__sig_per_day": "DOUBLE", "im__sig_days": "DOUBLE",
    "im__interval_days": "DOUBLE", "im__pe_factor": "DOUBLE", "im__text_error": "STRING",
}  # fmt: skip

MAX_TEXT = 10_000
MAX_TAPER_STEPS = 200  # a taper of 1 mg a day from 200 mg; anything longer is a misreading
_TAPER = re.compile(
    r"reduce by (?P<by>[\d.]+) (?P<unit>\w+) every (?P<n>\d+) (?P<per>day|week|month)"
    r"(?: to (?P<to>[\d.]+) (?P<to_unit>\w+))?",
    re.I,
)
_MG = {"mg": 1.0, "g": 1000.0, "mcg": 0.001, "microgram": 0.001, "micrograms": 0.001}


@lru_cache(maxsize=65_536)
def _named(name: str) -> Resolution:
    return resolve(name[:MAX_TEXT])


def warm() -> None:
    """Load everything :func:`fields` uses (resolver, drug records, rule pack), so that forked
    workers inherit it instead of each loading it again."""
    from immunomod.rules.engine import pack

    default_resolver()
    kb.store().preload()
    pack()


def reads_dosing(name: str) -> bool:
    """Whether the answer for ``name`` can depend on its dosing text: False for a name whose
    every drug is a known non-immunomodulator (then ``fields(name, extra) == fields(name)``)."""
    named = _named(name.lower())
    return not (named.matches and all(m.status == "not_immunomodulator" for m in named.matches))


def fields(name: str, extra: str = "") -> tuple[Any, ...]:
    """The lookup row for one distinct (drug name, dosing text), in :data:`LOOKUP_COLUMNS`
    order. The name is resolved once however many sigs and routes it comes with.

    The dosing text is read only when the name holds an immunomodulator (or a drug not yet
    identified for sure): for other drugs (60 % of rows in an EHR table) no answer of ours
    depends on it, and they keep the strength written in the name.

    Letter case is folded first: no answer depends on it (tests/unit/test_batch_lookup.py
    checks every labelled string three ways), and tables spell one product in several
    cases ("PredniSONE 5 MG Oral Tablet", "prednisone 5 mg oral tablet").
    """
    return _fields(name.lower(), extra.lower())


@lru_cache(maxsize=65_536)
def _fields(name: str, extra: str) -> tuple[Any, ...]:
    if extra and not reads_dosing(name):
        return _fields(name, "")
    named = _named(name)
    res = default_resolver().resolve_with(name[:MAX_TEXT], extra[:MAX_TEXT], named)
    if res.error or not res.matches:
        note = None
        if not res.error:
            hint = f"; did you mean {', '.join(res.suggestions)}?" if res.suggestions else ""
            note = "not recognised" + hint
        row: dict[str, Any] = {"im_status": "not_found", "im_immunomodulator": False,
                               "im_local": False, "im_note": note,
                               "im__text_error": res.error}  # fmt: skip
        return tuple(row.get(c) for c in LOOKUP_COLUMNS)
    m = next((x for x in res.matches if x.immunomodulator), res.matches[0])
    if m.status == "ambiguous" and (same := interchangeable(m)) is not None:
        # "pred": every reading is judged alike, so the row counts as the first one (status
        # stays 'ambiguous'; the regimen checker does the same and says so).
        info = default_resolver().vocab.info[same]
        m = m.model_copy(update={"ingredient": same, "immunomodulator": True,
                                 "direction": info.direction, "class_": info.class_id,
                                 "type": info.type_id})  # fmt: skip
    every = ";".join(dict.fromkeys(x.ingredient for x in res.matches if x.ingredient))
    sig = m.sig
    level, rule, factor = _level(m)
    row = {
        "im_ingredient": m.ingredient, "im_ingredients": every or None,
        "im_immunomodulator": m.immunomodulator, "im_direction": m.direction,
        "im_class": m.class_, "im_type": m.type, "im_status": m.status,
        "im_confidence": m.confidence, "im_context": m.context, "im_route": m.route,
        "im_local": m.local, "im_dose": sig.dose if sig else None,
        "im_unit": sig.unit if sig else None, "im_level": level, "im_level_rule": rule,
        "im__pe_factor": factor,
    }  # fmt: skip
    if sig is not None:
        steps = schedule(sig)
        row["im__sig_per_day"] = _mg(sig.amount_per_day, sig.unit)
        if steps:
            row["im_schedule"] = json.dumps(steps)
            if all(days is not None for days, _ in steps):
                row["im__sig_days"] = float(sum(days for days, _ in steps if days is not None))
        row["im__interval_days"] = _interval_days(sig, m)
    elif m.ingredient:
        row["im__interval_days"] = _interval_days(None, m)
    return tuple(row.get(c) for c in LOOKUP_COLUMNS)


def schedule(sig: Sig) -> list[list[float | None]]:
    """Daily amounts over time as ``[[days or None (open-ended), mg/day or None], ...]``.

    Multi-step sigs give one entry per step; a taper ("reduce by 5 mg every week") is expanded
    step by step until it reaches its floor or zero. Empty when the sig has no daily amount.
    """
    steps = sig.steps or [
        SigStep(dose=sig.dose, unit=sig.unit, frequency=sig.frequency,
                duration_days=_duration_days(sig.duration), amount_per_day=sig.amount_per_day)
    ]  # fmt: skip
    out: list[list[float | None]] = []
    previous: float | None = None
    for k, step in enumerate(steps):
        per_day = _mg(step.amount_per_day, step.unit)
        if step.taper and (tm := _TAPER.fullmatch(step.taper)):
            tapered = _taper(per_day, previous, tm, step)
            if tapered and tapered[-1][0] is None and k + 1 < len(steps):
                tapered.pop()  # the floor lasts until the next step, not to the record's end
            out.extend(tapered)
            previous = out[-1][1] if out else previous
            continue
        if per_day is None and step.duration_days is None:
            continue
        out.append([step.duration_days, per_day])
        previous = per_day
    if any(amount is not None for _, amount in out):
        return out[: MAX_TAPER_STEPS + len(steps)]
    return []


def _taper(
    start: float | None, previous: float | None, tm: re.Match[str], step: SigStep
) -> list[list[float | None]]:
    """Expand 'reduce by X mg every N week(s) [to Y mg]' from the step's own daily amount
    (or, for "then reduce by 5 mg a week", from the previous step's amount less one cut)."""
    by = _mg(float(tm["by"]), tm["unit"])
    if by is None or by <= 0 or step.frequency not in {None, "daily", "once daily", "od"}:
        return [[step.duration_days, start]] if start is not None else []
    every = float(tm["n"]) * DAYS[tm["per"].lower()]
    floor = _mg(float(tm["to"]), tm["to_unit"]) if tm["to"] else 0.0
    amount = start if start is not None else (previous - by if previous is not None else None)
    if amount is None or floor is None:
        return []
    out: list[list[float | None]] = []
    while amount > floor + 1e-9 and len(out) < MAX_TAPER_STEPS:
        out.append([every, round(amount, 6)])
        amount -= by
    if floor > 0:
        out.append([None, floor])  # "to 5 mg": stays at the floor until the record ends
    return out


def _duration_days(text: str | None) -> float | None:
    if not text:
        return None
    m = re.search(r"(\d+(?:\.\d+)?)\s*(day|week|month)s?", text, re.I)
    if m:
        return float(m[1]) * DAYS[m[2].lower()]
    m = re.search(r"(\d+)\s*/\s*(7|52|12)\b", text)  # 5/7 = five days, 2/52 two weeks
    if m:
        return float(m[1]) * {"7": 1.0, "52": 7.0, "12": DAYS["month"]}[m[2]]
    return None


def _mg(amount: float | None, unit: str | None) -> float | None:
    if amount is None or unit is None or unit.lower() not in _MG:
        return None
    return round(amount * _MG[unit.lower()], 6)


def _interval_days(sig: Sig | None, m: Match) -> float | None:
    """How long one record covers when it gives no end date, no days supply and no duration:
    one dosing interval ("every 6 months" -> 183 days), else the product's usual interval."""
    if sig is not None and sig.frequency:
        freq = _frequency(sig.frequency)
        if freq is not None and freq[1]:
            return round(DAYS[freq[2]] / freq[1], 3)
    if not (m.ingredient and m.immunomodulator):
        return None
    return _product_interval_days(m.ingredient)


@lru_cache(maxsize=4096)
def _product_interval_days(ingredient: str) -> float | None:
    days = dosing_interval_days(Med(ingredient, ingredient, kb.get(ingredient)))
    return round(days, 3) if days is not None else None


def _level(m: Match) -> tuple[str | None, str | None, float | None]:
    """(fixed level or None, rule id, prednisone-equivalent factor) for one mention.

    Steroids are judged over time (dose and duration), so their level is left to episodes;
    dose-by-weight drugs need a weight the batch tables do not carry, so they are 'unknown'.
    """
    if m.context in {"negated", "allergy"}:
        return None, None, None
    if m.immunomodulator and m.ingredient:
        return _level_of(m.ingredient, None, None, m.local, True)
    if m.status == "not_immunomodulator":
        return _level_of(None, m.ingredient, m.class_, False, False)
    return None, None, None


@lru_cache(maxsize=4096)
def _level_of(
    ingredient: str | None, other: str | None, category: str | None, local: bool, immuno: bool
) -> tuple[str | None, str | None, float | None]:
    if immuno and ingredient:
        med = Med(ingredient, ingredient, kb.get(ingredient), local=local)
    else:
        med = Med(other or "", None, None, other_name=other, other_category=category)
    rule = level_rule(med)
    if rule is None:
        return ("unknown", "no-rule", None) if immuno else (None, None, None)
    if rule.kind == "fixed":
        return rule.level, rule.id, None
    if rule.kind == "weight_dose":
        return "unknown", rule.id, None
    factor = steroid_factor(ingredient or "")
    return None, rule.id, factor if factor is not None and math.isfinite(factor) else None


__all__ = ["LOOKUP_COLUMNS", "fields", "reads_dosing", "schedule"]
