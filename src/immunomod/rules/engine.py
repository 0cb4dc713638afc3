"""The regimen checker: one pass from medications to an :class:`Assessment`.

    medications (text or fields) -> resolver -> Med (ingredient, route, dose/day, dates, context)
        -> level of each Med (levels rules)       -> regimen level (the highest; unknown if unsure)
        -> prednisone-equivalent (steroid factors)
        -> vaccine verdicts (washouts, parameters) -> screening and monitoring (the knowledge
           base's own facts, with dates)          -> cautions (combination rules)

Fail-safe by construction: a missing weight, dose, date or an unidentified drug can only make
an answer ``unknown`` (and is listed in ``missing``); it never yields ``none`` or ``allowed``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any

from immunomod import kb
from immunomod.deadline import check_time
from immunomod.errors import UserError
from immunomod.knowledge.models import LOCAL_ROUTES, DrugRecord, Quantity
from immunomod.knowledge.normalise import name_key
from immunomod.names import resolve
from immunomod.names.models import Match
from immunomod.names.sig import _frequency, course_days
from immunomod.rules.models import (
    LEVEL_ORDER,
    Assessment,
    AssessRequest,
    Caution,
    CautionRule,
    Contribution,
    Immunosuppression,
    Item,
    LevelRule,
    MedicationIn,
    MedicationOut,
    Parameter,
    Reason,
    RulePack,
    Selector,
    Vaccine,
    VaccineVerdict,
    Washout,
)

DAYS = {"day": 1.0, "week": 7.0, "month": 30.4375, "year": 365.25, "hour": 1 / 24}


class AssessInputError(UserError):
    """The regimen cannot be assessed as given (the message names the field and the fix)."""


@cache
def pack() -> RulePack:
    row = kb.store()._con.execute("SELECT json FROM rule_pack").fetchone()
    if row is None:
        raise UserError(
            "This knowledge base has no rule pack: rebuild it with `immunomod kb build`."
        )
    return RulePack.model_validate(json.loads(row[0]))


def _days(q: Quantity) -> float:
    if q.unit not in DAYS:
        raise ValueError(f"{q} is not a time interval")
    return q.value * DAYS[q.unit]


def _src(refs: list[Any]) -> list[str]:
    return [str(r) for r in refs]


# --- normalised medications ------------------------------------------------------------------


@dataclass
class Med:
    input: str
    ingredient: str | None  # knowledge-base id, or None when not identified
    record: DrugRecord | None
    other_name: str | None = None  # a known drug that is not an immunomodulator
    other_category: str | None = None  # cytotoxic-chemotherapy | other-antineoplastic
    status: str = "unique"
    context: str = "current"
    route: str | None = None
    local: bool = False
    dose: float | None = None
    unit: str | None = None
    per_day: float | None = None  # in `unit` per day
    per_week: float | None = None
    steps: list[Any] = field(default_factory=list)
    course_days: float | None = None  # the whole course, when the sig gives its length
    start: date | None = None
    end: date | None = None
    last_dose: date | None = None
    note: str | None = None

    @property
    def name(self) -> str:
        return self.ingredient or self.other_name or self.input

    def active(self, on: date) -> bool:
        if self.context not in {"current"}:
            return False
        if self.start and self.start > on:
            return False
        return not (self.end and self.end < on)

    def planned(self, on: date) -> bool:
        return self.context == "planned" or bool(self.start and self.start > on)

    def stopped(self, on: date) -> bool:
        return self.context in {"stopped", "historical"} or bool(self.end and self.end < on)

    def stop_date(self) -> date | None:
        return self.last_dose or self.end


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}
_DATE = (
    r"(\d{4}-\d{2}-\d{2}|\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{4})"
)
_DATE_CUES = {
    "start": re.compile(
        rf"\b(?:since|from|started(?: on)?|starting(?: on)?|start(?:ed)? date)\s+{_DATE}", re.I
    ),
    "end": re.compile(
        rf"\b(?:until|till|stopped(?: on)?|ended(?: on)?|finished(?: on)?)\s+{_DATE}", re.I
    ),
    "last_dose": re.compile(rf"\blast (?:dose|infusion|injection)(?: on| given)?\s+{_DATE}", re.I),
}


def _parse_date(text: str) -> date | None:
    try:
        if text[:4].isdigit():
            return date.fromisoformat(text)
        day, mon, year = text.split()
        return date(int(year), _MONTHS[mon[:3].lower()], int(day))
    except (ValueError, KeyError):
        return None


def dates_in_text(text: str) -> dict[str, date]:
    """Start, end and last-dose dates written in a medication text ("since 2026-10-01")."""
    out = {}
    for key, pattern in _DATE_CUES.items():
        if (m := pattern.search(text)) and (d := _parse_date(m.group(1))) is not None:
            out[key] = d
    return out


def interchangeable(match: Match) -> str | None:
    """For an ambiguous name ("pred": prednisone or prednisolone), the first candidate when
    every candidate would be judged alike: all immunomodulators of one type, with the same
    level rule and the same prednisone-equivalent factor. None when any reading could change
    the answer (then the name stays unidentified and the level 'unknown')."""
    cands = [c.ingredient for c in match.candidates]
    if len(cands) < 2 or not all(c.immunomodulator for c in match.candidates):
        return None
    judged = set()
    for iid in cands:
        rec = kb.get(iid)
        rule = level_rule(Med(iid, iid, rec))
        judged.add((rec.type.id, rule.id if rule else None, steroid_factor(iid)))
    return cands[0] if len(judged) == 1 else None


def _normalise(m: MedicationIn, missing: list[str], notes: list[str]) -> list[Med]:
    text = m.text or m.drug or ""
    res = resolve(text)
    if res.error:
        raise AssessInputError(f"medication '{text[:60]}': {res.error}")
    meds: list[Med] = []
    for match in res.matches:
        if match.context in {"negated", "allergy"}:
            continue  # not taken
        if match.status == "not_immunomodulator":
            meds.append(
                Med(
                    text, None, None, other_name=match.ingredient, status=match.status,
                    context=match.context, other_category=match.class_,
                )
            )  # fmt: skip
            continue
        status = match.status
        if status == "ambiguous" and (same := interchangeable(match)) is not None:
            names = " or ".join(c.ingredient for c in match.candidates)
            notes.append(
                f"'{match.matched_text}' may be {names}: each gives the same assessment (same "
                f"type, level rule and prednisone-equivalent factor), so it was read as {same}; "
                "name the ingredient to be sure"
            )
            match = match.model_copy(update={"ingredient": same})
        elif status != "unique" or match.ingredient is None:
            cands = ", ".join(c.ingredient for c in match.candidates) or match.ingredient or "?"
            missing.append(
                f"medication '{match.matched_text}' is not identified for sure "
                f"({match.status}: {cands}); give the ingredient name"
            )
            meds.append(Med(text, None, None, status=match.status, context=match.context))
            continue
        assert match.ingredient is not None
        rec = kb.get(match.ingredient)
        med = Med(
            input=text,
            ingredient=match.ingredient,
            record=rec,
            status=status,
            context=match.context,
            route=match.route,
            local=match.local,
        )
        if match.sig is not None:
            s = match.sig
            med.dose, med.unit, med.steps = s.dose, s.unit, list(s.steps)
            med.course_days = course_days(s)
            med.per_day, med.per_week = s.amount_per_day, s.amount_per_week
        meds.append(med)
    if not res.matches:
        hint = f" (did you mean {', '.join(res.suggestions)}?)" if res.suggestions else ""
        missing.append(f"medication '{text[:60]}' was not recognised{hint}")
        meds.append(Med(text, None, None, status="not_found"))
    written = dates_in_text(text)
    for med in meds:  # structured fields override what the text said
        med.start = m.start or written.get("start")
        med.end = m.end or written.get("end")
        med.last_dose = m.last_dose or written.get("last_dose")
        if m.dose is not None:
            med.dose, med.unit = m.dose, (m.unit or "mg")
            freq = _frequency(m.frequency or "") if m.frequency else None
            if freq is not None:
                times, per = freq[1], freq[2]
                med.per_day = med.dose * times / DAYS[per]
                med.per_week = med.per_day * 7
            elif med.ingredient:
                med.per_day = med.per_week = None
        if m.route:
            route = m.route.lower()
            med.route = {"iv": "iv", "intravenous": "iv", "po": "oral", "sc": "sc"}.get(
                route, route
            )
            med.local = med.route in LOCAL_ROUTES
    return meds


# --- levels ------------------------------------------------------------------------------------


def _matches(sel: Selector, med: Med) -> bool:
    if med.record is None:
        if med.other_category and med.other_category in sel.other_categories:
            return True
        return bool(
            med.other_name and name_key(med.other_name) in {name_key(n) for n in sel.other_names}
        )
    iid = med.ingredient or ""
    if iid in sel.exclude:
        return False
    if sel.local is not None:
        return med.local == sel.local
    rec = med.record
    also = {a.split("/")[0] for a in rec.ingredient.classification.also}
    return (
        iid in sel.ingredients
        or rec.class_.id in sel.classes
        or bool(also & set(sel.classes))
        or rec.type.id in sel.types
    )


@dataclass
class LevelOut:
    level: str
    rule: str
    reason: Reason
    high_until: date | None = None  # last day of high-level steroid exposure (for washouts)


def _factor(iid: str) -> tuple[float | None, Any]:
    for f in pack().steroids:
        if f.ingredient == iid:
            return f.factor, f
    return None, None


def pred_eq_per_day(med: Med) -> float | None:
    """Prednisone-equivalent mg/day of one systemic glucocorticoid (None: cannot tell)."""
    if med.record is None or med.local or med.per_day is None or med.unit not in {"mg", "g"}:
        return None
    factor, _ = _factor(med.ingredient or "")
    if factor is None:
        return None
    mg = med.per_day * (1000 if med.unit == "g" else 1)
    return round(mg * factor, 3)


def level_rule(med: Med) -> LevelRule | None:
    """The level rule that decides ``med`` (the first whose selector matches), if any."""
    return next((rule for rule in pack().levels if _matches(rule.select, med)), None)


def steroid_factor(ingredient: str) -> float | None:
    """Prednisone-equivalent mg per mg of a systemic glucocorticoid (None: not a steroid)."""
    return _factor(ingredient)[0]


def _level(
    med: Med, req: AssessRequest, missing: list[str], steroid_total: float | None = None
) -> LevelOut:
    rule = level_rule(med)
    if rule is not None:
        reason = Reason(
            rule=rule.id,
            text=rule.text,
            sources=_src(rule.sources),
            confidence=rule.confidence,
            drug=med.name,
        )
        if rule.kind == "fixed":
            assert rule.level is not None
            return LevelOut(rule.level, rule.id, reason)
        if rule.kind == "steroid":
            return _steroid_level(rule, med, req, missing, reason, steroid_total)
        return _weight_dose_level(rule, med, req, missing, reason)
    missing.append(f"no rule gives the immunosuppression level of {med.name}")
    return LevelOut(
        "unknown",
        "no-rule",
        Reason(
            rule="no-rule",
            text=f"No rule in the rule packs classifies {med.name}.",
            sources=[],
            confidence="low",
            drug=med.name,
        ),
    )


def _steroid_level(
    rule: LevelRule,
    med: Med,
    req: AssessRequest,
    missing: list[str],
    reason: Reason,
    steroid_total: float | None = None,
) -> LevelOut:
    """IDSA's threshold applies to the total prednisone-equivalent of all systemic steroids,
    taken for at least 14 days; a shorter course is low level whatever the dose or weight."""
    assert rule.threshold and rule.min_duration
    own = pred_eq_per_day(med)
    pe = steroid_total if (own is not None and steroid_total is not None) else own
    if pe is None:
        missing.append(f"daily dose of {med.name} (needed for the prednisone-equivalent)")
        return LevelOut("unknown", rule.id, reason)
    need = rule.min_duration.value
    last = min(req.as_of, med.end) if med.end else req.as_of
    days_on = (last - med.start).days + 1 if med.start else None
    if med.course_days is not None and med.course_days < need:
        text = reason.text + f" {med.name}: a course of {med.course_days:g} day(s) in all."
        return LevelOut("low", rule.id, reason.model_copy(update={"text": text}))
    if days_on is not None and days_on < need:
        text = reason.text + (
            f" {med.name}: {days_on} day(s) so far; high level from day {int(need)} "
            f"({med.start + timedelta(days=int(need) - 1)}) if continued at a high dose."  # type: ignore[operator]
        )
        return LevelOut("low", rule.id, reason.model_copy(update={"text": text}))
    weight = req.patient.weight_kg
    age = req.patient.age_years
    child_band = (
        rule.child_weight is not None and weight is not None and weight < rule.child_weight.value
    )
    # Without weight the band is unknown; >= 20 mg/day is high in both bands.
    if weight is None and (age is None or age < 5) and pe < rule.threshold.value:
        missing.append("weight (the steroid threshold for a child under 10 kg is mg/kg)")
        return LevelOut("unknown", rule.id, reason)
    if child_band and rule.child_threshold is not None:
        dose, limit = pe / weight, rule.child_threshold  # type: ignore[operator]
    else:
        dose, limit = pe, rule.threshold
    over = dose >= limit.value if limit.op == ">=" else dose > limit.value
    if not over:
        return LevelOut("low", rule.id, reason)
    if days_on is None:
        missing.append(f"start date of {med.name} (high level needs >= 14 days at this dose)")
        return LevelOut("unknown", rule.id, reason)
    return LevelOut("high", rule.id, reason, high_until=last)


def _weight_dose_level(
    rule: LevelRule, med: Med, req: AssessRequest, missing: list[str], reason: Reason
) -> LevelOut:
    assert rule.threshold and rule.threshold.unit
    per = rule.threshold.unit.rsplit("/", 1)[-1]
    amount = med.per_week if per == "week" else med.per_day
    if amount is None or med.unit not in {"mg", "g"}:
        missing.append(f"dose and frequency of {med.name} (the level depends on mg/kg/{per})")
        return LevelOut("unknown", rule.id, reason)
    if req.patient.weight_kg is None:
        missing.append(f"weight (the level of {med.name} depends on mg/kg/{per})")
        return LevelOut("unknown", rule.id, reason)
    mg = amount * (1000 if med.unit == "g" else 1)
    per_kg = mg / req.patient.weight_kg
    low = (
        per_kg <= rule.threshold.value
        if rule.threshold.op == "<="
        else per_kg < rule.threshold.value
    )
    text = reason.text + f" {med.name}: {per_kg:.2f} mg/kg/{per}."
    return LevelOut("low" if low else "high", rule.id, reason.model_copy(update={"text": text}))


def _overall(levels: list[str]) -> str:
    if not levels:
        return "none"
    if "high" in levels:
        return "high"
    if "unknown" in levels:
        return "unknown"
    return max(levels, key=lambda lv: LEVEL_ORDER[lv])


# --- vaccines ------------------------------------------------------------------------------------


def _vaccine(name: str) -> Vaccine | None:
    key = name_key(name)
    for v in pack().vaccines:
        if key in {name_key(v.id), name_key(v.name), *(name_key(s) for s in v.synonyms)}:
            return v
    return None


def _param(pid: str) -> Parameter:
    for p in pack().parameters:
        if p.id == pid:
            return p
    raise KeyError(pid)


def _reason_of(
    rule: Washout | Parameter | CautionRule, drug: str | None, extra: str = ""
) -> Reason:
    return Reason(
        rule=rule.id,
        text=(rule.text + (" " + extra if extra else "")).strip(),
        sources=_src(rule.sources),
        confidence=rule.confidence,
        drug=drug,
    )


def dosing_interval_days(med: Med) -> float | None:
    """The longest usual dosing interval of the product, in days (None: not known)."""
    if med.record is None:
        return None
    days = [
        _days(d.interval)
        for d in med.record.ingredient.dosing
        if d.interval is not None and d.interval.unit in DAYS
    ]
    return max(days) if days else None


def _washouts(
    med: Med, jurisdiction: str
) -> tuple[list[tuple[Washout, float | None]], list[Washout]]:
    """(rules of this jurisdiction or INT with their interval in days, alternatives)."""
    mine, other = [], []
    for w in pack().washouts:
        if not _matches(w.select, med):
            continue
        if w.jurisdiction in {jurisdiction, "INT"}:
            days = None
            if w.dosing_interval:
                days = dosing_interval_days(med)
            elif w.interval is not None:
                days = _days(w.interval)
            mine.append((w, days))
        else:
            other.append(w)
    return mine, other


def _alternatives(rules: list[Washout], med: Med) -> list[Reason]:
    """Where another jurisdiction's source disagrees, show it beside the rule applied."""
    return [
        _reason_of(w, med.name, f"(Alternative: {w.jurisdiction} rule, not the one applied here.)")
        for w in rules
    ]


def _live_verdict(
    v: Vaccine,
    text: str,
    req: AssessRequest,
    meds: list[Med],
    levels: dict[int, LevelOut],
    missing: list[str],
) -> VaccineVerdict:
    reasons: list[Reason] = []
    status = "allowed"
    earliest: date | None = None
    latest: date | None = None
    order = ["allowed", "give_before_start", "defer", "unknown", "contraindicated"]

    def worse(s: str) -> None:
        nonlocal status
        if order.index(s) > order.index(status):
            status = s

    for i, med in enumerate(meds):
        lv = levels.get(i)
        if med.record is None and med.status != "not_immunomodulator":
            worse("unknown")
            reasons.append(
                Reason(
                    rule="unidentified-medication",
                    text=f"'{med.input}' is not "
                    "identified, so a live vaccine cannot be judged safe.",
                    sources=[],
                    confidence="high",
                    drug=med.input,
                )
            )
            continue
        if lv is None:
            continue
        if med.active(req.as_of):
            during = [w for w, _ in _washouts(med, req.jurisdiction)[0] if w.while_taking]
            for w in during:
                worse(w.while_taking or "defer")
                reasons.append(_reason_of(w, med.name))
            if lv.level == "none":
                continue
            if (med.record and med.record.type.id == "interferon") or lv.level == "high":
                worse("contraindicated")
            elif lv.level == "unknown":
                worse("unknown")
            else:
                worse("defer")
            reasons.append(lv.reason)
            mine, others = _washouts(med, req.jurisdiction)
            for w, days in mine:
                extra = (
                    f"If {med.name} is stopped today: earliest {req.as_of + timedelta(days=days)}."
                    if days
                    else ""
                )
                reasons.append(_reason_of(w, med.name, extra))
            reasons.extend(_alternatives(others, med))
        elif med.planned(req.as_of):
            if lv.level == "none":
                continue
            p = _param("idsa-live-before-start")
            if med.start is None:
                worse("unknown")
                missing.append(f"planned start date of {med.name}")
                reasons.append(_reason_of(p, med.name))
                continue
            last_ok = med.start - timedelta(days=_days(p.value))
            if last_ok >= req.as_of:
                worse("give_before_start")
                latest = min(latest, last_ok) if latest else last_ok
                reasons.append(_reason_of(p, med.name, f"Give by {last_ok}."))
            else:
                worse("defer")
                reasons.append(
                    _reason_of(
                        p,
                        med.name,
                        f"{med.name} starts {med.start}: too soon "
                        "for a live vaccine before it; ask the prescriber.",
                    )
                )
        elif med.stopped(req.as_of):
            stop = med.stop_date()
            rules = [
                (w, d)
                for w, d in _washouts(med, req.jurisdiction)[0]
                if not w.only_if_high or lv.level == "high"
            ]
            if lv.level == "none" and not rules:
                continue  # e.g. a stopped local steroid; IVIG still has its efficacy interval
            reasons.extend(_alternatives(_washouts(med, req.jurisdiction)[1], med))
            if stop is None:
                worse("unknown")
                missing.append(f"date of the last dose of {med.name} (for live-vaccine timing)")
                reasons.extend(_reason_of(w, med.name) for w, _ in rules)
                continue
            days_list = [d for _, d in rules if d is not None]
            if not days_list:
                worse("unknown")
                missing.append(f"no washout interval known for {med.name}")
                continue
            ok = stop + timedelta(days=max(days_list))
            for w, d in rules:
                if d is not None:
                    reasons.append(
                        _reason_of(
                            w, med.name, f"Last dose {stop}: from {stop + timedelta(days=d)}."
                        )
                    )
            if ok > req.as_of:
                worse("defer")
                earliest = max(earliest, ok) if earliest else ok
    if (
        status == "allowed"
        and not any(m.record for m in meds)
        and any(m.status != "not_immunomodulator" for m in meds)
    ):
        status = "unknown"
    preg = _param("pregnancy-live-vaccines")
    if req.patient.pregnant:
        worse("contraindicated")
        reasons.append(_reason_of(preg, None))
    elif req.patient.pregnant is None and (
        req.patient.age_years is None or 12 <= req.patient.age_years <= 55
    ):
        missing.append("pregnancy status (live vaccines are contraindicated in pregnancy)")
    if _infant_live(v, req, reasons) and status in {"allowed", "give_before_start"}:
        status = "defer"
    if status == "defer" and earliest is None:
        earliest = next((r_date for r_date in [_infant_earliest(req)] if r_date), None)
    return VaccineVerdict(
        vaccine=v.id,
        input=text,
        live=True,
        status=status,
        earliest_date=earliest if status == "defer" else None,
        latest_date=latest if status == "give_before_start" else None,
        reasons=reasons,
    )


def _infant_earliest(req: AssessRequest) -> date | None:
    if req.birth_date and req.in_utero_exposure:
        return req.birth_date + timedelta(days=_days(_param("infant-in-utero-biologic").value))
    return None


def _infant_live(v: Vaccine, req: AssessRequest, reasons: list[Reason]) -> bool:
    """Add the in-utero exposure reasons; True when they defer this live vaccine."""
    if not req.in_utero_exposure:
        return False
    defer = False
    p = _param("infant-in-utero-biologic")
    for exp in req.in_utero_exposure:
        try:
            rec = kb.get(exp.drug)
        except UserError:
            reasons.append(
                Reason(
                    rule="infant-unknown-exposure",
                    text=f"In-utero exposure '{exp.drug}' is not identified.",
                    sources=[],
                    confidence="high",
                )
            )
            defer = True
            continue
        if rec.class_.id != "biologic":
            continue
        if (
            v.id == "rotavirus"
            and rec.type.id == "tnf-inhibitor"
            and req.jurisdiction in {"US", "AU"}
        ):
            reasons.append(
                _reason_of(p, rec.id, "Rotavirus may be given after TNF-inhibitor exposure.")
            )
            continue
        until = _infant_earliest(req)
        extra = f"Not before {until}." if until else "Birth date needed to give a date."
        reasons.append(
            Reason(
                rule=p.id,
                text=p.text + " " + extra,
                sources=_src(p.sources),
                confidence=p.confidence,
                drug=rec.id,
            )
        )
        defer = True
    return defer


def _inactivated_verdict(
    v: Vaccine,
    text: str,
    req: AssessRequest,
    meds: list[Med],
    levels: dict[int, LevelOut],
    pe_total: float | None,
) -> VaccineVerdict:
    reasons: list[Reason] = []
    status = "allowed"
    latest = None
    active = [(m, levels.get(i)) for i, m in enumerate(meds) if m.active(req.as_of)]
    if any(lv and lv.level != "none" for _, lv in active) or any(
        m.record is None and m.status != "not_immunomodulator" for m in meds
    ):
        status = "allowed_reduced_response"
        reasons.append(_reason_of(_param("acip-nonlive-during"), None))
    steroid20 = _param("acr-nonlive-steroid-20")
    if pe_total is not None and pe_total >= steroid20.value.value and not v.influenza:
        status = "defer"
        reasons.append(
            _reason_of(steroid20, None, f"Current prednisone-equivalent {pe_total:g} mg/day.")
        )
    for m in meds:
        if m.planned(req.as_of) and not m.last_dose:
            continue  # not given yet: the before-start rule below applies
        if m.record and m.record.type.id in {"anti-cd20", "anti-cd19"}:
            stop = m.stop_date() if m.stopped(req.as_of) else (m.last_dose or None)
            p = _param("acip-nonlive-anti-b-cell")
            if stop is None or (req.as_of - stop).days < _days(p.value):
                if status == "allowed":
                    status = "allowed_reduced_response"
                reasons.append(_reason_of(p, m.name))
    for i, m in enumerate(meds):
        lv = levels.get(i)
        if m.planned(req.as_of) and lv and lv.level != "none" and m.start:
            p = _param("idsa-inactivated-before-start")
            by = m.start - timedelta(days=_days(p.value))
            if by >= req.as_of and status in {"allowed"}:
                status = "give_before_start"
                latest = by
            elif by < req.as_of and status == "allowed":
                status = "allowed_reduced_response"  # within 14 days of the start
            reasons.append(_reason_of(p, m.name, f"Ideally by {by}."))
        chemo = (
            m.record is not None and m.record.class_.id == "cytotoxic-immunosuppressant"
        ) or m.other_category == "cytotoxic-chemotherapy"
        stop = m.stop_date()
        if chemo and m.stopped(req.as_of) and stop is not None:
            p = _param("nonlive-after-chemotherapy")
            if (req.as_of - stop).days < _days(p.value) and status == "allowed":
                status = "allowed_reduced_response"
                reasons.append(_reason_of(p, m.name, f"Last dose {stop}."))
    return VaccineVerdict(
        vaccine=v.id,
        input=text,
        live=False,
        status=status,
        latest_date=latest,
        reasons=reasons,
    )


# --- screening, monitoring, cautions ------------------------------------------------------------


def _screening(meds: list[Med], req: AssessRequest) -> list[Item]:
    out: dict[str, Item] = {}
    for m in meds:
        if m.record is None or not (m.active(req.as_of) or m.planned(req.as_of)) or m.local:
            continue
        for i, f in enumerate(m.record.ingredient.screening):
            key = f.id or f"{m.ingredient}:screening:{i}"
            if key in out:
                if m.name not in out[key].drug:
                    out[key].drug += f", {m.name}"
                continue
            out[key] = Item(
                test=f.test,
                drug=m.name,
                when=f.when,
                due=m.start if m.planned(req.as_of) else None,
                rule=key,
                sources=_src(f.sources),
                confidence=f.confidence,
            )
    return list(out.values())


_UNIT_DAYS = {"week": 7.0, "month": 30.4375, "year": 365.25, "day": 1.0}
_FIRST = re.compile(r"^(?:for )?(?:the )?first (\d+) (day|week|month|year)s?", re.I)
_BETWEEN = re.compile(r"^months? (\d+) (?:to|-) (\d+)", re.I)
_AFTER = re.compile(r"^(?:from |after )(\d+) (week|month|year)s?", re.I)
_UNTIL = re.compile(r"^(?:until|up to) (\d+) (year|month)s? of treatment", re.I)


def phase_window(text: str | None) -> tuple[float | None, float | None]:
    """(from, until) in days after the start, read from a monitoring fact's 'for how long'.

    "first 3 months" -> (None, 91); "months 3 to 6" -> (91, 183); "after 6 months, ..." ->
    (183, None); anything else -> (None, None): the check runs for the whole treatment.
    """
    t = (text or "").strip()
    if (m := _FIRST.match(t)) and not re.search(r"\bthen\b", t):
        return None, float(m.group(1)) * _UNIT_DAYS[m.group(2).lower()]
    if m := _BETWEEN.match(t):
        return float(m.group(1)) * _UNIT_DAYS["month"], float(m.group(2)) * _UNIT_DAYS["month"]
    if m := _AFTER.match(t):
        return float(m.group(1)) * _UNIT_DAYS[m.group(2).lower()], None
    if m := _UNTIL.match(t):
        return None, float(m.group(1)) * _UNIT_DAYS[m.group(2).lower()]
    return None, None


def _monitoring(meds: list[Med], req: AssessRequest, missing: list[str]) -> list[Item]:
    out: list[Item] = []
    horizon = req.as_of + timedelta(days=365)
    for m in meds:
        if m.record is None or not m.active(req.as_of) or m.local:
            continue
        for i, f in enumerate(m.record.ingredient.monitoring):
            key = f.id or f"{m.ingredient}:monitoring:{i}"
            item = Item(
                test=f.test,
                drug=m.name,
                when=f.for_how_long or f.text[:120],
                rule=key,
                sources=_src(f.sources),
                confidence=f.confidence,
            )
            if f.interval is not None and f.interval.unit in DAYS:
                if m.start is None:
                    missing.append(f"start date of {m.name} (to date its monitoring)")
                else:
                    step = timedelta(days=_days(f.interval))  # the lower bound of a range
                    lo, hi = phase_window(f.for_how_long)
                    begin = m.start + timedelta(days=lo or 0)
                    end = min(horizon, m.start + timedelta(days=hi)) if hi else horizon
                    if end < req.as_of:
                        continue  # that phase of monitoring is over
                    first = begin + (
                        timedelta(days=_days(f.first_check))
                        if f.first_check and f.first_check.unit in DAYS and lo is None
                        else step
                    )
                    dates: list[date] = []
                    d = first
                    while d <= end and len(dates) < 400:
                        dates.append(d)
                        d += step
                    item.schedule = [x for x in dates if x >= req.as_of][:12]
                    item.next_due = item.schedule[0] if item.schedule else None
            out.append(item)
    return out


def _cautions(meds: list[Med], req: AssessRequest, pe_total: float | None) -> list[Caution]:
    out = []
    relevant = [m for m in meds if m.active(req.as_of) or m.planned(req.as_of)]
    for rule in pack().cautions:
        a = [m for m in relevant if _matches(rule.a, m)]
        if not a:
            continue
        if rule.b is None:
            pairs = [(x, y) for i, x in enumerate(a) for y in a[i + 1 :] if x.name != y.name]
        else:
            pool = meds if rule.past_b else relevant  # prior drugs count for PML risk
            b = [m for m in pool if _matches(rule.b, m) and m.context != "negated"]
            pairs = [(x, y) for x in a for y in b if x.name != y.name]
        if not pairs:
            continue
        if rule.min_pred_eq is not None and (pe_total is None or pe_total < rule.min_pred_eq.value):
            continue
        drugs = sorted({m.name for pair in pairs for m in pair})
        out.append(
            Caution(
                rule=rule.id,
                severity=rule.severity,
                drugs=drugs,
                text=rule.text,
                sources=_src(rule.sources),
                confidence=rule.confidence,
            )
        )
    return out


# --- the whole assessment -----------------------------------------------------------------------


def assess(request: AssessRequest | dict[str, Any]) -> Assessment:
    """Assess a regimen (see the module docstring). Bad input raises :class:`AssessInputError`."""
    req = request if isinstance(request, AssessRequest) else AssessRequest.model_validate(request)
    missing: list[str] = []
    notes: list[str] = []
    meds = []
    for m in req.medications:
        check_time()  # a request past its time budget stops here (see immunomod.deadline)
        meds.extend(_normalise(m, missing, notes))
    active_steroids = [
        m
        for m in meds
        if m.record
        and m.record.type.id == "systemic-glucocorticoid"
        and m.active(req.as_of)
        and not m.local
    ]
    # One prednisone-equivalent per current systemic steroid, reused for the level, the total
    # reported and each medication's own line.
    pe_of = {id(m): pred_eq_per_day(m) for m in active_steroids}
    totals = list(pe_of.values())
    steroid_total = None if any(t is None for t in totals) else sum(t for t in totals if t)
    levels: dict[int, LevelOut] = {}
    for i, med in enumerate(meds):
        judged = med.record is not None or bool(med.other_category)  # chemotherapy counts
        if judged and (med.active(req.as_of) or med.planned(req.as_of) or med.stopped(req.as_of)):
            total = steroid_total if med in active_steroids else None
            levels[i] = _level(med, req, missing if med.active(req.as_of) else [], total)
    current = [(i, levels[i]) for i, m in enumerate(meds) if i in levels and m.active(req.as_of)]
    unknown_meds = [m for m in meds if m.record is None and m.status not in {"not_immunomodulator"}]
    level_list = [lv.level for _, lv in current] + ["unknown" for _ in unknown_meds]
    overall = _overall(level_list)
    reasons = [
        lv.reason
        for _, lv in current
        if lv.level != "none" or not any(x.level != "none" for _, x in current)
    ]
    if not current and not unknown_meds:
        reasons = [
            Reason(
                rule="no-current-immunomodulator",
                text="No current immunomodulator was found in the regimen.",
                sources=[],
                confidence="high",
            )
        ]
    contributing = [
        Contribution(drug=meds[i].name, level=lv.level, rule=lv.rule) for i, lv in current
    ]
    pe_total = None if steroid_total is None else round(steroid_total, 3)
    if not active_steroids:
        pe_total = 0.0
    if unknown_meds:  # an unidentified medication may be a steroid: the total is not known
        pe_total = None
    pe_per_kg = (
        round(pe_total / req.patient.weight_kg, 4)
        if pe_total is not None and req.patient.weight_kg
        else None
    )
    vaccines = []
    for text in req.planned_vaccines:
        v = _vaccine(text)
        if v is None:
            vaccines.append(
                VaccineVerdict(
                    vaccine=text,
                    input=text,
                    live=None,
                    status="unknown",
                    reasons=[
                        Reason(
                            rule="unknown-vaccine",
                            text=f"'{text}' is not a vaccine immunomod "
                            "knows; say which product (e.g. MMR, Shingrix, yellow fever).",
                            sources=[],
                            confidence="high",
                        )
                    ],
                )
            )
            missing.append(f"vaccine '{text}' was not recognised")
        elif v.live:
            vaccines.append(_live_verdict(v, text, req, meds, levels, missing))
        else:
            vaccines.append(_inactivated_verdict(v, text, req, meds, levels, pe_total))
    out_meds = [
        MedicationOut(
            input=m.input,
            ingredient=m.ingredient or m.other_name,
            status=m.status,
            immunomodulator=m.record is not None,
            context=m.context,
            route=m.route,
            local=m.local,
            dose_mg_per_day=m.per_day if m.unit == "mg" else None,
            dose_mg_per_week=m.per_week if m.unit == "mg" else None,
            prednisone_equivalent_mg_per_day=pe_of.get(id(m)),
            start=m.start,
            end=m.end,
            active=m.active(req.as_of),
        )
        for m in meds
    ]
    return Assessment(
        as_of=req.as_of,
        jurisdiction=req.jurisdiction,
        medications=out_meds,
        immunosuppression=Immunosuppression(
            level=overall, reasons=reasons, contributing=contributing
        ),
        prednisone_equivalent_mg_per_day=pe_total,
        prednisone_equivalent_mg_per_kg_per_day=pe_per_kg,
        vaccines=vaccines,
        screening=_screening(meds, req),
        monitoring=_monitoring(meds, req, missing),
        cautions=_cautions(meds, req, pe_total),
        missing=sorted(set(missing)),
        input_notes=list(dict.fromkeys(notes)),
    )
