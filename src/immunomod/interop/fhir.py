"""FHIR R4 in: a Bundle (or loose resources) becomes the regimen checker's :class:`AssessRequest`.

    >>> from immunomod.interop.fhir import request_from_fhir
    >>> parsed = request_from_fhir(bundle_dict, as_of=date(2026, 11, 25))
    >>> assess(parsed.request), parsed.notes

Resources read: Patient (birthDate), MedicationRequest, MedicationStatement,
MedicationAdministration (medicationCodeableConcept, or a contained or bundled Medication),
Observation body weight (LOINC 29463-7) and ImmunizationRecommendation (planned vaccines).
Resources are validated with ``fhir.resources`` (its R4B models, which read R4 JSON for these
resources). Each medication becomes one line of text ("name dose unit frequency") that goes
through the same resolver as typed text, so a FHIR regimen and its JSON twin give one answer.
Every guess or gap is reported in ``notes``: nothing is dropped silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from immunomod import kb
from immunomod.errors import UnknownDrugError, UserError, describe
from immunomod.rules.models import AssessRequest

ATC_SYSTEM = "http://www.whocc.no/atc"
_STRENGTH = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:mg|mcg|µg|ug|g|ml|unt|units?|iu|%)(?:\s*/\s*\d*(?:\.\d+)?\s*"
    r"(?:ml|g|mg|actuat|hr|h|dose|tablet))?\b",
    re.IGNORECASE,
)
LOINC_BODY_WEIGHT = "29463-7"
MAX_ENTRIES = 5000  # a regimen bundle, not a whole record dump
MEDICATION_TYPES = {"MedicationRequest", "MedicationStatement", "MedicationAdministration"}
# Statuses that mean the medication was never (or is not validly) given.
SKIP_STATUS = {"entered-in-error", "cancelled", "draft", "not-taken", "not-done"}
_UNIT_WORDS = {"s": "second", "min": "minute", "h": "hour", "d": "day", "wk": "week",
               "mo": "month", "a": "year"}  # fmt: skip
_WEIGHT_TO_KG = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237, "lbs": 0.45359237}


class FhirInputError(UserError):
    """The FHIR input cannot be read; the message names the resource, the field and the fix."""


@dataclass
class FhirRegimen:
    request: AssessRequest
    notes: list[str] = field(default_factory=list)


def request_from_fhir(
    data: Any, as_of: date | None = None, jurisdiction: str = "US"
) -> FhirRegimen:
    """Read a Bundle, a single resource or a list of resources (parsed JSON)."""
    resources = _resources(data)
    notes: list[str] = []
    today = as_of or date.today()
    by_ref = {f"{r['resourceType']}/{r['id']}": r for r in resources if r.get("id")}
    entries = data.get("entry") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        # transaction bundles refer to entries by fullUrl (urn:uuid:…)
        if isinstance(entry, dict) and entry.get("fullUrl") and _is_resource(entry.get("resource")):
            by_ref[str(entry["fullUrl"])] = entry["resource"]
    patient: dict[str, Any] = {}
    birth: date | None = None
    meds: list[dict[str, Any]] = []
    weights: list[tuple[str, float]] = []
    vaccines: list[str] = []
    for res in resources:
        kind = res.get("resourceType")
        if kind == "Patient":
            birth = _validated(res).birthDate
        elif kind in MEDICATION_TYPES:
            med = _medication(res, by_ref, notes)
            if med is not None:
                meds.append(med)
        elif kind == "Observation":
            w = _weight(res, notes)
            if w is not None:
                weights.append(w)
        elif kind == "ImmunizationRecommendation":
            vaccines += _recommended(res, notes)
        elif kind not in {"Medication", "Bundle"}:
            _validated(res)  # a type FHIR does not define is an error, not something to skip
            notes.append(f"{kind} resources are not used (ignored)")
    unique = list({json.dumps(m, sort_keys=True): m for m in meds}.values())
    if len(unique) < len(meds):  # EHR exports often repeat the same order (refills, renewals)
        notes.append(f"{len(meds) - len(unique)} repeated medication entries counted once")
        meds = unique
    if birth is not None:
        patient["age_years"] = round((today - birth).days / 365.25, 2)
    if weights:
        _when, kg = max(weights)  # the latest measurement
        patient["weight_kg"] = kg
    payload = {"as_of": today.isoformat(), "jurisdiction": jurisdiction, "patient": patient,
               "medications": meds, "planned_vaccines": vaccines,
               "birth_date": birth.isoformat() if birth else None}  # fmt: skip
    try:
        request = AssessRequest.model_validate(payload)
    except ValidationError as exc:
        raise FhirInputError(f"the FHIR input gives an unusable regimen: {describe(exc)}") from None
    return FhirRegimen(request, sorted(set(notes), key=notes.index))


def _resources(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict) and data.get("resourceType") == "Bundle":
        _validated(data)
        items = [e.get("resource") for e in data.get("entry") or []]
    elif isinstance(data, dict) and "resourceType" in data:
        items = [data]
    else:
        raise FhirInputError(
            "expected a FHIR Bundle, a resource or a list of resources (JSON objects with a "
            "'resourceType'); export the patient's medications as a Bundle and try again"
        )
    if len(items) > MAX_ENTRIES:
        raise FhirInputError(f"{len(items)} resources; the limit is {MAX_ENTRIES} per request")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not _is_resource(item):
            raise FhirInputError(f"entry {i} has no resource with a 'resourceType'")
        out.append(item)
        contained = item.get("contained")
        out += [c for c in contained if _is_resource(c)] if isinstance(contained, list) else []
    return out


def _is_resource(item: Any) -> bool:
    """A JSON object with a textual 'resourceType' (anything else is not read as a resource)."""
    return isinstance(item, dict) and isinstance(item.get("resourceType"), str)


def _validated(res: dict[str, Any]) -> Any:
    """The resource as a fhir.resources model; a clear error naming the field if invalid."""
    from fhir.resources.R4B import get_fhir_model_class

    kind = res.get("resourceType", "?")
    try:
        model = get_fhir_model_class(kind)
    except (KeyError, ValueError):
        raise FhirInputError(
            f"'{kind}' is not a FHIR R4 resource type; check the 'resourceType' spelling"
        ) from None
    try:
        return model.model_validate(res)
    except ValidationError as exc:
        label = f"{kind}/{res.get('id', '?')}"
        raise FhirInputError(f"{label} is not valid FHIR R4: {describe(exc, limit=1)}") from None
    except (TypeError, LookupError):
        # fhir.resources raises these, not a ValidationError, for a nested resource (a Bundle
        # entry, a contained one) whose 'resourceType' is missing, not text, or no FHIR type.
        raise FhirInputError(
            f"{kind}/{res.get('id', '?')} is not valid FHIR R4: a resource inside it has a "
            "missing or unknown 'resourceType'; check each entry's and contained resource's"
        ) from None


def _concept_name(concept: Any, what: str, notes: list[str]) -> str | None:
    """A CodeableConcept as a name: ATC code if given, else text, else a coding's display."""
    if concept is None:
        return None
    codings = concept.coding or []
    for c in codings:
        if c.system == ATC_SYSTEM and c.code:
            try:  # an ATC code the knowledge base holds names the ingredient exactly
                return kb.get(str(c.code)).inn
            except UnknownDrugError:
                pass  # not an immunomodulator code: the text still names the drug
    codes = _codes()
    for c in codings:
        iid = codes.get((str(c.system or ""), str(c.code or "")))
        if iid is not None:  # an ingredient-level RxNorm or SNOMED CT code we hold
            return kb.get(iid).inn
    name = concept.text or next((c.display for c in codings if c.display), None)
    unknown = [f"{c.system or 'no system'}|{c.code}" for c in codings if c.code]
    if unknown and name:
        notes.append(f"{what}: codes {', '.join(unknown)} are not mapped in the knowledge base; "
                     f"used the text '{name}'")  # fmt: skip
    elif unknown:
        notes.append(f"{what}: codes {', '.join(unknown)} have no text or display and are not "
                     "mapped; add a display name")  # fmt: skip
    return str(name) if name else None


@cache
def _codes() -> dict[tuple[str, str], str]:
    """(system, code) -> ingredient id, derived from DrugCentral by scripts/derive_codes.py."""
    out = {}
    text = (Path(__file__).with_name("codes.tsv")).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            system, code, iid = line.split("\t")
            out[(system, code)] = iid
    return out


def _medication(
    res: dict[str, Any], by_ref: dict[str, dict[str, Any]], notes: list[str]
) -> dict[str, Any] | None:
    model = _validated(res)
    label = f"{res['resourceType']}/{res.get('id', '?')}"
    status = str(model.status or "")
    if status in SKIP_STATUS:
        notes.append(f"{label}: status '{status}', not counted")
        return None
    name = _drug_name(model, res, by_ref, label, notes)
    if name is None:
        notes.append(f"{label}: no medication code, text or display; not counted")
        return None
    med: dict[str, Any] = _dosage(model, res["resourceType"])
    if "text" in med:  # the prescriber's own words: read by the sig parser with the name
        # A product name's strength ("20 MG Oral Tablet") is not the dose: drop it so the sig
        # parser reads the dose from the instruction alone.
        med["text"] = f"{_STRENGTH.sub(' ', name).strip()} {med['text']}"
    else:
        med["drug"] = name
    start, end = _period(model, res["resourceType"])
    if res["resourceType"] == "MedicationAdministration":
        given = end or start
        med["last_dose"] = given.isoformat() if given else None
    else:
        med["start"] = start.isoformat() if start else None
        med["end"] = end.isoformat() if end else None
        if status in {"stopped", "completed"} and end is None:
            notes.append(f"{label}: status '{status}' without an end date; treated as current")
    return {k: v for k, v in med.items() if v is not None}


def _drug_name(
    model: Any, res: dict[str, Any], by_ref: dict[str, dict[str, Any]], label: str,
    notes: list[str],
) -> str | None:  # fmt: skip
    concept = getattr(model, "medicationCodeableConcept", None)
    if concept is not None:
        return _concept_name(concept, label, notes)
    ref = getattr(model, "medicationReference", None)
    if ref is None or not ref.reference:
        return None
    key = str(ref.reference)
    # "#id" is a contained Medication; otherwise "Medication/id" or a Bundle fullUrl.
    target = by_ref.get(f"Medication/{key[1:]}" if key.startswith("#") else key)
    if target is None:
        return str(ref.display) if ref.display else None
    medication = _validated(target)
    name = _concept_name(medication.code, f"{label} ({key})", notes)
    return name or (str(ref.display) if ref.display else None)


def _dosage(model: Any, kind: str) -> dict[str, Any]:
    """Structured dose, unit, frequency and route; or ``text`` when the dosage is only words."""
    if kind == "MedicationAdministration":
        d = model.dosage
        q = d.dose if d is not None else None
        out = _quantity(q)
        if d is not None and d.route is not None:
            out["route"] = _route(d.route)
        return out
    dosages = model.dosageInstruction if kind == "MedicationRequest" else model.dosage
    if not dosages:
        return {}
    d = dosages[0]
    out = {}
    for dr in d.doseAndRate or []:
        out = _quantity(dr.doseQuantity)
        if out:
            break
    rep = d.timing.repeat if d.timing else None
    if out and rep is not None and rep.frequency and rep.period and rep.periodUnit:
        out["frequency"] = _frequency_words(
            int(rep.frequency), float(rep.period), str(rep.periodUnit)
        )
    if d.route is not None:
        out["route"] = _route(d.route)
    if ("frequency" not in out or "dose" not in out) and d.text:
        # Tapers, "as directed" and the like live only in the words: let the sig parser read them.
        return {"text": str(d.text)}
    return {k: v for k, v in out.items() if v}


def _quantity(q: Any) -> dict[str, Any]:
    if q is None or q.value is None:
        return {}
    return {"dose": float(q.value), "unit": str(q.unit or q.code or "mg")}


def _route(concept: Any) -> str | None:
    text = concept.text or next((c.display for c in concept.coding or [] if c.display), None)
    return str(text).lower() if text else None


_PER_DAY_WORDS = {"d": "daily", "wk": "weekly", "mo": "monthly"}
_HOURS = {"h": 1.0, "d": 24.0, "wk": 168.0}


def _frequency_words(freq: int, period: float, unit: str) -> str:
    """FHIR Timing.repeat as words the sig parser reads ("every 2 weeks", "2 times per day")."""
    word = _UNIT_WORDS.get(unit, unit)
    if freq == 1:
        if period == 1:
            return _PER_DAY_WORDS.get(unit, f"every 1 {word}")
        return f"every {_num(period)} {word}s"
    if period == 1:
        return f"{freq} times per {word}"
    if unit in _HOURS:  # e.g. 3 per 2 days: say it as an interval the parser reads exactly
        return f"every {_num(round(period * _HOURS[unit] / freq, 3))} hours"
    return f"{freq} times per {_num(period)} {word}s"


def _num(x: Any) -> str:
    f = float(x)
    return str(int(f)) if f.is_integer() else str(f)


def _period(model: Any, kind: str) -> tuple[date | None, date | None]:
    if kind == "MedicationRequest":
        start = _day(model.authoredOn)
        dosages = model.dosageInstruction or []
        bounds = dosages[0].timing.repeat.boundsPeriod if dosages and dosages[0].timing and \
            dosages[0].timing.repeat else None  # fmt: skip
        if bounds is not None:
            return _day(bounds.start) or start, _day(bounds.end)
        return start, None
    period = model.effectivePeriod
    if period is not None:
        return _day(period.start), _day(period.end)
    when = _day(model.effectiveDateTime)
    return when, None


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None


def _weight(res: dict[str, Any], notes: list[str]) -> tuple[str, float] | None:
    # Read before validating: other observations are skipped, whatever their shape.
    code = res.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list) or not any(
        isinstance(c, dict) and c.get("code") == LOINC_BODY_WEIGHT for c in codings
    ):
        return None
    obs = _validated(res)
    q = obs.valueQuantity
    label = f"Observation/{res.get('id', '?')}"
    if q is None or q.value is None:
        notes.append(f"{label}: body weight without a value; not used")
        return None
    unit = str(q.code or q.unit or "kg")
    factor = _WEIGHT_TO_KG.get(unit)
    if factor is None:
        notes.append(f"{label}: body weight in unknown unit '{unit}'; give kg, g or [lb_av]")
        return None
    when = _day(obs.effectiveDateTime) or _day(obs.issued)
    return (when.isoformat() if when else "", round(float(q.value) * factor, 2))


def _recommended(res: dict[str, Any], notes: list[str]) -> list[str]:
    rec = _validated(res)
    label = f"ImmunizationRecommendation/{res.get('id', '?')}"
    out = []
    for item in rec.recommendation or []:
        for concept in item.vaccineCode or []:
            name = _concept_name(concept, label, notes)
            if name:
                out.append(name)
    return out


__all__ = ["FhirInputError", "FhirRegimen", "request_from_fhir"]
