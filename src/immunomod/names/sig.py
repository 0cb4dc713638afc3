"""Read the dosing ("sig") written after a drug name: dose, unit, route, frequency, duration,
PRN, multi-step regimens and tapers, normalised to an amount per day and per week.

    >>> s = parse_sig("15 mg weekly")
    >>> (s.dose, s.unit, s.frequency, s.amount_per_week)
    (15.0, 'mg', 'weekly', 15.0)
    >>> sig = parse_sig("40 mg daily for 1 week, then 30 mg daily for 1 week, then stop")
    >>> [st.dose for st in sig.steps]
    [40.0, 30.0]

Unit arithmetic uses pint with a small registry of the units prescriptions use; the few
per-period factors a sig needs are computed by pint once, stored in ``unit_factors.toml``
(scripts/build_unit_factors.py; a test recomputes them), so resolving never imports pint.
Anything the parser cannot read stays ``None``: a missing dose is reported as missing, never
guessed.
"""

from __future__ import annotations

import math
import re
import tomllib
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from immunomod.names.lexicon import LEXICON
from immunomod.names.models import Sig, SigStep

# A number: "1,000" and "10,000" (a comma before groups of exactly three digits) are thousands;
# "0,5" and "2,5" are a decimal comma. Reading "1,000 mg" as 1 mg would hide a steroid pulse.
_NUM = r"([1-9]\d{0,2}(?:,\d{3})+(?![\d.,])|\d+(?:[.,]\d+)?)"
_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:,\d{3})+")
_UNIT = (
    r"(mg/kg|mg/m2|mg/m²|mcg/kg|g/kg|units/kg|micrograms?|mcg|µg|ug|mg|milligrams?|g|grams?|iu|"
    r"units?|"
    r"million units|mu|ml|%)"
)
_DOSE = re.compile(rf"(?<![\w.]){_NUM}\s*(?:-|to|–)?\s*(?:{_NUM}\s*)?{_UNIT}(?![a-z])", re.I)
_TABS = re.compile(rf"(?<![\w.]){_NUM}\s*(?:x\s*)?(tablets?|tabs?|capsules?|caps?|puffs?)", re.I)
_EVERY = re.compile(r"\bevery\s+(\d+)\s*(hours?|hrs?|h|days?|weeks?|wks?|months?)\b", re.I)
#: UK "4-weekly", "8 weekly", "6 monthly": every n weeks or months. Not after "x" or "take"
#: ("x6 weekly", "take 6 weekly" are six tablets a week), and with a space only when no
#: tablets or capsules are counted in the text ("2.5 mg tablets 6 weekly" is not read).
_N_WEEKLY = re.compile(r"(?<![x×])(?<![x×] )(?<!take )\b(\d+)([- ]?)(weekly|monthly)\b", re.I)
_COUNTED = re.compile(r"\b(?:tabs?|tablets?|caps?|capsules?)\b", re.I)
#: "on days 1 and 8", "on days 1-5", "on day 1 and day 15" of a treatment cycle
_CYCLE_DAYS = re.compile(
    r"\bon\s+days?\s+(\d+(?:\s*(?:-|to)\s*\d+)?(?:\s*(?:,|and|&|\+)\s*(?:day\s+)?"
    r"\d+(?:\s*(?:-|to)\s*\d+)?)*)",
    re.I,
)
_QN = re.compile(
    r"\bq\s?(\d+)\s?(hours?|hrs?|h|days?|d|weeks?|wks?|w|months?|mos?|m)\b", re.I
)  # q8h, q2w, "q4 weeks", "q 3 months"
_TIMES = re.compile(
    r"\b(\d+|once|twice|three|four)\s*(?:x|times)\s*(?:a|per|/|each)?\s*(day|daily|week|wk)\b", re.I
)
#: "six days a week", "5 days per week": so many doses a week
_DAYS_A_WEEK = re.compile(
    r"\b([1-7]|one|two|three|four|five|six|seven)\s+days?\s+(?:a|per|each|every)\s+week\b", re.I
)
_DURATION = re.compile(
    r"\b(?:for|x|×|over)\s*(\d+)\s*(days?|d|weeks?|wks?|w|months?|mo)\b|(?<![\d/])(\d+)/(7|52|12)\b",
    re.I,
)
_PER_UNIT = re.compile(r"(?<=[a-z0-9])/(day|d|24 ?h|week|wk)\b", re.I)
_PRN = re.compile(r"\b(prn|p\.r\.n\.|as needed|as required|when required|if needed)\b", re.I)
_TAPER = re.compile(
    rf"\b(?:reduce|reducing|decrease|decreasing|taper|tapering|wean|weaning|drop|dropping)"
    rf"(?:\s+(?:the\s+)?dose)?\s+by\s+{_NUM}\s*{_UNIT}\s*"
    r"(?:(?:every|each|per|a)\s*(\d+)?\s*(days?|weeks?|wks?|months?)|(daily|weekly|monthly))?"
    rf"(?:\s*(?:until|till|to|down to)\s*(?:reaching\s*)?{_NUM}\s*{_UNIT})?",
    re.I,
)
#: "... then by 1 mg every month": a taper step that leaves out the verb of the one before
_TAPER_GOES_ON = re.compile(rf"^\s*(?:and\s+)?by\s+{_NUM}\s*{_UNIT}", re.I)
_TAPER_TARGET = re.compile(r" to (\S+) (\S+)$")
_STEP_SPLIT = re.compile(r"\s*(?:,|;)?\s*\b(?:then|followed by|thereafter)\b\s*", re.I)
MASS_OR_UNITS = frozenset(
    {"mg", "g", "mcg", "units", "MU", "mg/kg", "mg/m2", "mcg/kg", "g/kg", "units/kg"}
)
PERIODS = ("day", "week", "month")  # what _frequency normalises a frequency to
_WORDNUM = {"once": 1, "twice": 2, "three": 3, "four": 4}
_DAYS = {"h": 1 / 24, "d": 1, "w": 7, "m": 30.4375}


@cache
def _ureg() -> Any:
    """A small pint registry of prescribing units (faster to build than pint's default)."""
    import pint

    u: Any = pint.UnitRegistry(None)
    for d in [
        "gram = [mass] = g",
        "milligram = 1e-3 gram = mg",
        "microgram = 1e-6 gram = mcg = ug = µg",
        "kilogram = 1e3 gram = kg",
        "international_unit = [iu] = IU = iu = unit = units",
        "million_units = 1e6 international_unit = MU = mu",
        "liter = [volume] = L = l",
        "milliliter = 1e-3 liter = mL = ml",
        "day = [time] = d",
        "week = 7 day = wk",
        "month = 30.4375 day",
    ]:
        u.define(d)
    return u


def _unit_name(raw: str) -> str:
    r = raw.lower()
    if r.startswith("microgram") or r in {"mcg", "µg", "ug"}:
        return "mcg"
    if r.startswith("milligram"):
        return "mg"
    if r in {"gram", "grams"}:
        return "g"
    if r in {"unit", "units", "iu"}:
        return "units"
    if r in {"million units", "mu"}:
        return "MU"
    return r.replace("m²", "m2")


_FREQ_PHRASES = sorted(LEXICON.frequency, key=len, reverse=True)
_FREQ_RE = re.compile(r"(?<![\w/])(" + "|".join(re.escape(p) for p in _FREQ_PHRASES) + r")(?![\w])")


def _number(text: str) -> float | None:
    """A written number ("2", "0,5"); None when it is too long to be one (400 digits -> inf)."""
    value = float(text.replace(",", "") if _THOUSANDS.fullmatch(text) else text.replace(",", "."))
    return value if math.isfinite(value) else None


@lru_cache(maxsize=4096)
def _frequency(text: str) -> tuple[str, float, str] | None:
    """(label, times, per 'day'|'week'|'month') of the first frequency in ``text``."""
    low = text.lower()
    # times is None for a frequency whose number cannot be used: "every 0 days" and "q0h" are
    # no interval (and would divide by zero), "10000…0 times a day" is no count. Such a phrase
    # still wins its place, so a later "a day" is not read in its stead: no frequency, no guess.
    found: list[tuple[int, str, float | None, str]] = []
    if m1 := _FREQ_RE.search(low):
        times, per = LEXICON.frequency[m1.group(1)]
        found.append((m1.start(), m1.group(1), times, per))
    n_weekly = _N_WEEKLY.search(low)
    if n_weekly and n_weekly.group(2) != "-" and _COUNTED.search(low):
        n_weekly = None
    for m in (_EVERY.search(low), _QN.search(low), n_weekly):
        if m is not None:
            label = f"every {m.group(1)} {m.group(2)}" if m.re is _EVERY else m.group(0)
            n = _number(m.group(1))
            unit = m.group(3 if m.re is _N_WEEKLY else 2)[0]
            found.append((m.start(), label, *(_per(n, unit) if n else (None, "day"))))
    if m5 := _PER_UNIT.search(low):  # "0.5 mg/kg/day", "20 mg/d"
        per = "week" if m5.group(1).startswith("w") else "day"
        found.append((m5.start(), f"per {per}", 1.0, per))
    if m6 := _DAYS_A_WEEK.search(low):
        days = _COUNT_WORDS.get(m6.group(1)) or float(m6.group(1))
        found.append((m6.start(), m6.group(0), days, "week"))
    if m4 := _TIMES.search(low):
        count = _WORDNUM.get(m4.group(1).lower()) or _number(m4.group(1))
        per = "week" if m4.group(2).lower().startswith("w") else "day"
        found.append((m4.start(), m4.group(0), None if count is None else float(count), per))
    if not found:
        return None
    # earliest in the text wins; at the same place the longest phrase wins
    found.sort(key=lambda f: (f[0], -len(f[1])))
    _, label, first_times, first_per = found[0]
    return (label, first_times, first_per) if first_times is not None else None


def _day_list(listed: str) -> set[int] | None:
    """{1, 8} from "1 and 8", {1, ..., 21} from "1-21"; None when it cannot be a day list."""
    days: set[int] = set()
    for part in re.split(r"\s*(?:,|and|&|\+)\s*(?:day\s+)?", listed):
        ends = [int(x) for x in re.findall(r"\d+", part)[:2]]
        if not ends or ends[-1] < ends[0] or ends[-1] > 366:
            return None
        days.update(range(ends[0], ends[-1] + 1))
    return days


def _with_cycle_days(text: str, freq: tuple[str, float, str]) -> tuple[str, float, str]:
    """ "750 mg/m2 on days 1 and 8 every 21 days" is two doses per cycle, not one.

    Only when the frequency is the cycle's interval (once per ``n`` days, weeks or months)
    and the days listed fit in it; "bd on days 1-14" is left as it is written.
    """
    m = _CYCLE_DAYS.search(text)
    days = _day_list(m.group(1)) if m else None
    if not days:
        return freq
    label, times, per = freq
    cycle_days = _DAYS[per[0]] / times
    if len(days) < 2 or times > 1 or max(days) > cycle_days:
        return freq
    return f"{label}, on {len(days)} days", times * len(days), per


def _per(n: float, unit: str) -> tuple[float, str]:
    """'every n <unit>' as (times, per) in days or weeks."""
    days = n * _DAYS[unit]
    return (1 / days, "day") if days < 7 else (7 / days, "week")


def _duration(text: str) -> tuple[str, float] | None:
    m = _DURATION.search(text)
    if not m:
        return None
    if m.group(3):  # UK "5/7" (days), "6/52" (weeks), "3/12" (months)
        n, per = _number(m.group(3)), m.group(4)
        days = n * {"7": 1, "52": 7, "12": 30.4375}[per] if n is not None else None
        return (m.group(0), days) if days is not None else None
    n, unit = _number(m.group(1)), m.group(2)[0].lower()
    if n is None:
        return None
    return m.group(0).strip(), n * {"d": 1, "w": 7, "m": 30.4375}[unit]


def _amounts(
    dose: float | None, unit: str | None, freq: tuple[str, float, str] | None
) -> tuple[float | None, float | None]:
    if dose is None or unit is None or freq is None or unit not in MASS_OR_UNITS:
        return None, None
    _, times, per = freq
    if "/" in unit:  # mg/kg, mg/m2: keep the unit, scale by frequency only
        per_day = dose * times / {"day": 1, "week": 7, "month": 30.4375}[per]
        return round(per_day, 6), round(per_day * 7, 6)
    to_day, to_week = _per_period(unit, per)
    return round(dose * times * to_day, 6), round(dose * times * to_week, 6)


@cache
def _factors() -> dict[str, tuple[float, float]]:
    with (Path(__file__).parent / "unit_factors.toml").open("rb") as fh:
        return {k: (float(v[0]), float(v[1])) for k, v in tomllib.load(fh)["factors"].items()}


@lru_cache(maxsize=512)
def _per_period(unit: str, per: str) -> tuple[float, float]:
    """Factors from 'unit per `per`' to unit/day and unit/week: pint's, as stored by
    scripts/build_unit_factors.py (importing pint takes ~0.2 s), else pint's own."""
    stored = _factors().get(f"{unit}/{per}")
    return stored if stored is not None else pint_factors(unit, per)


def pint_factors(unit: str, per: str) -> tuple[float, float]:
    """Factors from 'unit per `per`' to unit/day and unit/week, computed by pint."""
    u = _ureg()
    q = u.Quantity(1, unit) / u.Quantity(1, per)
    return float(q.to(f"{unit}/day").magnitude), float(q.to(f"{unit}/week").magnitude)


#: A strength then its tablets: "5 mg tablets", "5mg e/c tablets", "500 mg gastro-resistant
#: tablets", "25 mg film-coated tablets" (the words a UK or US product name puts between).
_FORM_AFTER = re.compile(
    r"^\s*(?:(?:oral|film[- ]coated|dispersible|soluble|chewable|orodispersible|e/?c|"
    r"enteric[- ]coated|gastro[- ]resistant|modified[- ]release|prolonged[- ]release|mr|sr)\s+)*"
    r"(?:tab|cap)",
    re.I,
)
_COUNT = r"(\d+(?:[.,]\d+)?|one|two|three|four|five|six|half)"  # how many tablets
_TAKE_N = re.compile(rf"\btake\s+{_COUNT}\b(?!\s*(?:mg|mcg|g|ml|%))", re.I)
#: UK dispensing labels: "three to be taken daily", "two tablets to be taken twice a day"
_TO_BE_TAKEN = re.compile(rf"\b{_COUNT}\s+(?:(?:tablets?|capsules?)\s+)?to\s+be\s+taken\b", re.I)
#: a count right after the strength: "500mg 2 tablets twice daily"
_COUNT_NEXT = re.compile(rf"^\s*{_COUNT}\s*(?:x\s*)?(?:tablets?|tabs?|capsules?|caps?)\b", re.I)
# "tab x6 weekly" is a count; "x14 days" and "x 5/7" are durations.
_X_N = re.compile(r"\bx\s*(\d+)\b(?!\s*(?:/|(?:days?|d|weeks?|wks?|w|months?)\b))", re.I)
_COUNT_WORDS = {"one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0, "six": 6.0,
                "seven": 7.0, "half": 0.5}  # fmt: skip


def _dose(text: str) -> tuple[float | None, str | None]:
    m = _DOSE.search(text)
    if m:
        if m.group(2):  # a range ("5-10 mg"): the dose is not one number
            return None, _unit_name(m.group(3))
        amount, unit = _number(m.group(1)), _unit_name(m.group(3))
        if amount is None:  # a number too long to be a dose is not read as one
            return None, unit
        if (per := _PER_VOLUME.match(text, m.end())) and unit in MASS_OR_UNITS:
            return _dose_of_liquid(text[per.end() :], amount, unit, per.group(1))
        # "20 mg tablets, take 2 (tablets) daily": the amount is a strength, the count multiplies
        # it, unless the text also states the amount itself ("6 tablets (15 mg)").
        rest = text[m.end() :]
        if (form := _FORM_AFTER.match(rest)) or _COUNT_NEXT.match(rest):
            after = form.end() if form else 0
            later = _DOSE.search(rest, after)
            if later and not later.group(2):
                return _number(later.group(1)), _unit_name(later.group(3))
            count = (
                _TABS.search(rest)
                or _TAKE_N.search(rest)
                or _TO_BE_TAKEN.search(rest)
                or _COUNT_NEXT.match(rest)
                or _X_N.search(rest, after)
            )
            if count:
                raw = count.group(1).lower()
                n = _COUNT_WORDS.get(raw) or _number(raw)
                if n is None:
                    return None, unit
                if re.match(r"\s+and\s+a\s+half\b", rest[count.end() :], re.I):
                    n += 0.5  # "take one and a half tablets"
                return round(amount * n, 6), unit
        return amount, unit
    t = _TABS.search(text)
    if t:
        return _number(t.group(1)), t.group(2).lower().rstrip("s") + "(s)"
    return None, None


#: "/mL", "/5 ml", "/0.4 mL" right after an amount: a strength per volume, not yet a dose
_PER_VOLUME = re.compile(r"\s*/\s*(\d+(?:\.\d+)?)?\s*ml\b", re.I)
_MASS_DOSE = re.compile(rf"(?<![\w.]){_NUM}\s*(mg|mcg|micrograms?|g|units?)(?![a-z/])", re.I)
_VOLUME_DOSE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*ml\b(?!\s*/)", re.I)


def _dose_of_liquid(rest: str, amount: float, unit: str, per: str | None) -> tuple[float, str]:
    """The dose after a strength per volume ("25 mg/mL"): an amount stated later ("inject
    15 mg"), else the volume given, if it is given how often, times the strength ("5 mg/5 ml
    ... 10 ml od" is 10 mg; "0.4 ml unit dose" is a pack, not a dose), else the strength
    itself (a pre-filled pen of "40 mg/0.4 mL" is one 40 mg dose)."""
    if (later := _MASS_DOSE.search(rest)) and (n := _number(later.group(1))) is not None:
        return n, _unit_name(later.group(2))
    volume = float(per) if per else 1.0
    given = _VOLUME_DOSE.search(rest)
    if given and volume > 0 and _frequency(rest[given.end() :]):
        return round(amount * float(given.group(1)) / volume, 6), unit
    return amount, unit


# "20 mg mane 10 mg nocte", "5 mg am, 2.5 mg pm", "10 mg in the morning, 5 mg at lunchtime":
# doses split over the day (UK hydrocortisone and prednisolone habits) add up to the daily dose.
_TIME_OF_DAY = re.compile(
    rf"(?<![\w.]){_NUM}\s*{_UNIT}\s*(?:at\s+|in\s+the\s+|each\s+|every\s+)?"
    r"(mane|morning|am|a\.m\.|midday|noon|lunchtime|lunch|evening|pm|p\.m\.|nocte|night|bedtime)"
    r"(?![\w])",
    re.I,
)
_TIME_SLOT = {"mane": "morning", "morning": "morning", "am": "morning", "a.m.": "morning",
              "midday": "midday", "noon": "midday", "lunchtime": "midday", "lunch": "midday",
              "evening": "evening", "pm": "evening", "p.m.": "evening", "nocte": "night",
              "night": "night", "bedtime": "night"}  # fmt: skip


def _split_daily(text: str) -> tuple[float, str, str, float] | None:
    """(first dose, unit, label, amount per day) when ``text`` gives two or more doses of one
    unit at different times of day; None otherwise (then the usual reading applies)."""
    found = list(_TIME_OF_DAY.finditer(text))
    if len(found) < 2:
        return None
    units = {_unit_name(m.group(2)) for m in found}
    slots = [_TIME_SLOT[m.group(3).lower()] for m in found]
    amounts = [a for m in found if (a := _number(m.group(1))) is not None]
    unit = units.pop() if len(units) == 1 else None
    if unit not in MASS_OR_UNITS or "/" in unit or len(set(slots)) < len(slots):
        return None
    if len(amounts) < len(found):  # a number too long to be a dose: no guess
        return None
    label = " + ".join(m.group(3).lower() for m in found)
    return amounts[0], unit, label, round(sum(amounts), 6)


def _step(text: str, carry: SigStep | None = None) -> SigStep:
    taper = None
    goes_on = carry is not None and carry.taper is not None and _TAPER_GOES_ON.match(text)
    if goes_on:
        text = "reduce " + text.lstrip()
    if tm := _TAPER.search(text):
        every = tm.group(3) or "1"
        period = tm.group(4) or {"daily": "day", "monthly": "month"}.get(
            (tm.group(5) or "").lower(), "week"
        )
        taper = (
            f"reduce by {tm.group(1)} {_unit_name(tm.group(2))} every {every} {period.rstrip('s')}"
        )
        if tm.group(6):
            taper += f" to {tm.group(6)} {_unit_name(tm.group(7))}"
        text = text[: tm.start()] + " " + text[tm.end() :]  # the taper amount is not a dose
    dur = _duration(text)
    if split := _split_daily(text):
        first, split_unit, label, split_per_day = split
        return SigStep(
            dose=first, unit=split_unit, frequency=label, duration=dur[0] if dur else None,
            duration_days=dur[1] if dur else None, amount_per_day=split_per_day,
            amount_per_week=round(split_per_day * 7, 6), taper=taper,
        )  # fmt: skip
    dose, unit = _dose(text)
    freq = _frequency(text)
    if freq is not None:
        freq = _with_cycle_days(text, freq)
    if dose is None and unit is None and carry is not None and freq is not None:
        dose, unit = carry.dose, carry.unit  # "… then every 8 weeks" keeps the dose
    # a taper that goes on starts where the last one ended ("to 10 mg"), as often as before;
    # with no end given, the dose it starts from is unknown, and so left out
    target = _TAPER_TARGET.search(carry.taper) if goes_on and carry and carry.taper else None
    if target is not None and dose is None and carry is not None:
        dose, unit = _number(target.group(1)), target.group(2)
        freq = _frequency(carry.frequency) if carry.frequency else None
    per_day, per_week = _amounts(dose, unit, freq)
    return SigStep(
        dose=dose,
        unit=unit,
        frequency=freq[0] if freq else None,
        duration=dur[0] if dur else None,
        duration_days=dur[1] if dur else None,
        amount_per_day=per_day,
        amount_per_week=per_week,
        taper=taper,
    )


_ROUTE_PHRASES = {**LEXICON.routes, **LEXICON.local}  # local wins when both name a phrase
_ROUTE_RE = re.compile(
    r"(?<![\w/])("
    + "|".join(re.escape(p) for p in sorted(_ROUTE_PHRASES, key=len, reverse=True))
    + r")(?![\w])"
)


def _route(text: str) -> str | None:
    m = _ROUTE_RE.search(text.lower())
    return _ROUTE_PHRASES[m.group(1)] if m else None


@lru_cache(maxsize=32_768)
def parse_sig(text: str) -> Sig:
    """Parse the dosing text that follows a drug name (see the module docstring).

    Answers are cached (a :class:`Sig` is immutable): product strings and sigs repeat across
    the rows of a table and the drugs of a note ("5 MG Oral Tablet", "1 tablet daily").
    """
    parts = [p for p in _STEP_SPLIT.split(text) if p.strip()]
    steps: list[SigStep] = []
    for part in parts:
        steps.append(_step(part, steps[-1] if steps else None))
    steps = [s for s in steps if s.dose is not None or s.taper or s.frequency]
    first = steps[0] if steps else _step(text)
    return Sig(
        dose=first.dose,
        unit=first.unit,
        route=_route(text),
        frequency=first.frequency,
        duration=first.duration,
        prn=bool(_PRN.search(text)),
        steps=tuple(steps) if len(steps) > 1 or (steps and steps[0].taper) else (),
        amount_per_day=first.amount_per_day,
        amount_per_week=first.amount_per_week,
        text=text.strip(),
    )


def course_days(sig: Sig) -> float | None:
    """How many days the whole course lasts, when the sig says so ("for 5 days", or steps that
    each give a duration and no taper); None for an open-ended course.

    >>> course_days(parse_sig("40 mg daily for 1 week, then 30 mg daily for 1 week, then stop"))
    14.0
    """
    if sig.steps:
        days = [step.duration_days for step in sig.steps]
        if any(step.taper for step in sig.steps) or any(d is None for d in days):
            return None
        return float(sum(d for d in days if d is not None))
    found = _duration(sig.duration) if sig.duration else None
    return found[1] if found else None


@lru_cache(maxsize=16_384)
def has_dosing(text: str) -> bool:
    """Whether ``text`` holds anything a sig is made of (a dose, frequency or PRN)."""
    return bool(_DOSE.search(text) or _TABS.search(text) or _frequency(text) or _PRN.search(text))
