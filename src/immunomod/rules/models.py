"""Rule packs (the schema of ``rules/data/*.yaml``) and the regimen checker's input and output.

Every rule has an id, the source's exact thresholds and operators, a jurisdiction and a
confidence; the engine interprets them and every answer carries the ids and sources of the
rules that produced it (``immunomod explain RULE_ID``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from immunomod.knowledge.models import Confidence, Quantity, SourceRef

Level = Literal["high", "low", "none", "unknown"]
Jurisdiction = Literal["INT", "US", "UK", "AU", "EU"]
VaccineStatus = Literal[
    "contraindicated",
    "defer",
    "allowed",
    "allowed_reduced_response",
    "give_before_start",
    "unknown",
]
LEVEL_ORDER: dict[str, int] = {"none": 0, "low": 1, "unknown": 2, "high": 3}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- rule packs ------------------------------------------------------------------------------


class Selector(_Model):
    """Which medications a rule is about (any list that matches selects the medication)."""

    ingredients: list[str] = Field(default_factory=list)
    classes: list[str] = Field(default_factory=list)
    types: list[str] = Field(default_factory=list)
    other_names: list[str] = Field(default_factory=list, description="non-immunomodulators")
    other_categories: list[str] = Field(
        default_factory=list, description="non-immunomodulator categories (cytotoxic-chemotherapy)"
    )
    local: bool | None = None
    exclude: list[str] = Field(default_factory=list, description="ingredient ids left out")


class Rule(_Model):
    """Fields every rule shares."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    text: str = Field(description="The rule in clinician words (our own).")
    plain: str | None = None
    sources: list[SourceRef] = Field(min_length=1)
    confidence: Confidence
    jurisdiction: Jurisdiction = "INT"
    note: str | None = None


class LevelRule(Rule):
    """The immunosuppression level one medication contributes."""

    select: Selector
    kind: Literal["fixed", "steroid", "weight_dose"]
    level: Literal["high", "low", "none", "unknown"] | None = None
    #: steroid: the high-level boundary (">= 20 mg/day"); weight_dose: the low-level boundary
    #: ("<= 0.4 mg/kg/week").
    threshold: Quantity | None = None
    child_threshold: Quantity | None = None
    child_weight: Quantity | None = Field(default=None, description="'< 10 kg'")
    min_duration: Quantity | None = None


class Washout(Rule):
    """Time from the last dose of a medication to a live vaccine."""

    select: Selector
    interval: Quantity | None = None
    dosing_interval: bool = Field(
        default=False, description="'one dosing interval' of the product (ACR 2022 footnote c)"
    )
    resume_after: Quantity | None = None
    only_if_high: bool = Field(
        default=False, description="applies only when the medication was at high level"
    )
    while_taking: Literal["contraindicated", "defer"] | None = Field(
        default=None, description="verdict for a live vaccine while the drug is still taken"
    )


class Parameter(Rule):
    """A named number the engine uses (live vaccine before start, steroid after stop …)."""

    value: Quantity


class CautionRule(Rule):
    """A combination that needs care."""

    a: Selector
    b: Selector | None = None
    severity: Literal["contraindicated", "major", "moderate", "advisory"]
    min_pred_eq: Quantity | None = Field(
        default=None, description="applies only at this prednisone-equivalent (baseline steroids)"
    )
    past_b: bool = Field(default=False, description="stopped medications count as `b` too")


class SteroidFactor(_Model):
    ingredient: str
    factor: float | None = Field(
        default=None, description="mg x factor = prednisone mg; None: no conversion"
    )
    sources: list[SourceRef] = Field(min_length=1)
    confidence: Confidence
    note: str | None = None


class Vaccine(_Model):
    id: str
    name: str
    live: bool
    synonyms: list[str] = Field(default_factory=list)
    influenza: bool = False
    sources: list[SourceRef] = Field(min_length=1)
    confidence: Confidence


class RulePack(_Model):
    levels: list[LevelRule] = Field(default_factory=list)
    washouts: list[Washout] = Field(default_factory=list)
    parameters: list[Parameter] = Field(default_factory=list)
    cautions: list[CautionRule] = Field(default_factory=list)
    steroids: list[SteroidFactor] = Field(default_factory=list)
    vaccines: list[Vaccine] = Field(default_factory=list)


# --- input -----------------------------------------------------------------------------------


def _not_a_number(value: Any) -> Any:
    # pydantic reads a number as a Unix timestamp: "as_of": 20261125 would be 1970-08-23.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("give the date as text, YYYY-MM-DD (a number is not a date)")
    return value


#: A date in the input: ISO text (or a date), never a number.
InDate = Annotated[date, BeforeValidator(_not_a_number)]


class Patient(_Model):
    # strict: a JSON number or true/false, as the OpenAPI document says; not text that looks
    # like one, nor 0/1 read as false/true.
    age_years: float | None = Field(default=None, ge=0, le=130, strict=True)
    weight_kg: float | None = Field(default=None, gt=0, le=400, strict=True)
    pregnant: bool | None = Field(default=None, strict=True)


class MedicationIn(_Model):
    """One medication: free ``text`` (through the resolver) or structured fields."""

    text: str | None = Field(default=None, max_length=10_000)
    drug: str | None = Field(default=None, max_length=200)
    # JSON has no Infinity or NaN, but Python's parser accepts both: refuse them by name.
    dose: float | None = Field(default=None, ge=0, allow_inf_nan=False, strict=True)
    unit: str | None = None
    frequency: str | None = None
    route: str | None = None
    start: InDate | None = None
    end: InDate | None = None
    last_dose: InDate | None = None

    @model_validator(mode="after")
    def _named(self) -> MedicationIn:
        if not (self.text or self.drug):
            raise ValueError("each medication needs 'text' or 'drug'")
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"'end' ({self.end}) is before 'start' ({self.start})")
        return self


class InUteroExposure(_Model):
    drug: str
    last_maternal_dose: InDate | None = None
    trimester: int | None = Field(default=None, ge=1, le=3, strict=True)


class AssessRequest(_Model):
    as_of: InDate
    patient: Patient = Field(default_factory=Patient)
    # Caps far above any real regimen, so a runaway client gets a 422 naming the field instead
    # of tying up a worker (README "Limits").
    medications: list[MedicationIn] = Field(default_factory=list, max_length=200)
    planned_vaccines: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=50
    )
    in_utero_exposure: list[InUteroExposure] = Field(default_factory=list, max_length=20)
    birth_date: InDate | None = None
    jurisdiction: Jurisdiction = "US"


# --- output ----------------------------------------------------------------------------------


class Reason(_Model):
    rule: str
    text: str
    sources: list[str]
    confidence: Confidence
    drug: str | None = None


class Contribution(_Model):
    drug: str
    level: Level
    rule: str


class Immunosuppression(_Model):
    level: Level
    reasons: list[Reason]
    contributing: list[Contribution]


class VaccineVerdict(_Model):
    vaccine: str
    input: str
    live: bool | None
    status: VaccineStatus
    earliest_date: date | None = None
    latest_date: date | None = None
    reasons: list[Reason]


class Item(_Model):
    """A screening test or a monitoring check, with dates where they can be computed."""

    test: str
    drug: str
    when: str
    due: date | None = None
    next_due: date | None = None
    schedule: list[date] = Field(default_factory=list)
    rule: str
    sources: list[str]
    confidence: Confidence
    overdue: bool = False


class Caution(_Model):
    rule: str
    severity: str
    drugs: list[str]
    text: str
    sources: list[str]
    confidence: Confidence


class MedicationOut(_Model):
    input: str
    ingredient: str | None
    status: str
    immunomodulator: bool
    context: str
    route: str | None
    local: bool
    dose_mg_per_day: float | None = None
    dose_mg_per_week: float | None = None
    prednisone_equivalent_mg_per_day: float | None = None
    start: date | None = None
    end: date | None = None
    active: bool


class Assessment(_Model):
    as_of: date
    jurisdiction: str
    medications: list[MedicationOut]
    immunosuppression: Immunosuppression
    prednisone_equivalent_mg_per_day: float | None
    prednisone_equivalent_mg_per_kg_per_day: float | None
    vaccines: list[VaccineVerdict]
    screening: list[Item]
    monitoring: list[Item]
    cautions: list[Caution]
    missing: list[str]
    input_notes: list[str] = Field(
        default_factory=list,
        description="How the input was read (e.g. FHIR codes not mapped, text used instead).",
    )

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
