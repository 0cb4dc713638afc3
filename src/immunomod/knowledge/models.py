"""The schema of the knowledge base: what a source, a class, a condition and an ingredient hold.

Every clinical statement is a :class:`Fact`: it names the registry ids of its sources and a
confidence. The YAML files under ``knowledge/data`` are parsed into these models by
:mod:`immunomod.knowledge.loader`, checked by :mod:`immunomod.knowledge.validate` and compiled
into SQLite by :mod:`immunomod.knowledge.compiler`; the store hands the same models back.

    >>> Quantity.model_validate("≥ 20 mg/day")
    Quantity(op='>=', value=20.0, high=None, unit='mg/day')
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Confidence = Literal["high", "medium", "low"]
Direction = Literal["suppress", "stimulate", "mixed"]
Market = Literal["US", "UK", "EU", "CA", "AU", "JP", "INT"]
Modality = Literal[
    "small-molecule",
    "monoclonal-antibody",
    "fusion-protein",
    "recombinant-protein",
    "polyclonal-antibody",
    "immunoglobulin",
    "cell-therapy",
    "gene-therapy",
    "live-bacteria",
    "oncolytic-virus",
    "vaccine",
    "peptide",
    "other",
]
Route = Literal[
    "oral",
    "iv",
    "sc",
    "im",
    "intravesical",
    "intralesional",
    "intra-articular",
    "intrathecal",
    "topical",
    "ophthalmic",
    "inhaled",
    "intranasal",
    "rectal",
    "otic",
    "buccal",
    "sublingual",
    "intraperitoneal",
    "intravitreal",
]
#: Routes whose exposure stays where the drug is put; a steroid given this way is not counted
#: as systemic immunosuppression (CDC/ACIP via S4 table; fact sheet row 1.21).
LOCAL_ROUTES: frozenset[str] = frozenset(
    {"topical", "ophthalmic", "inhaled", "intranasal", "intra-articular", "otic", "rectal"}
)

ATC_LEVEL5 = re.compile(r"^[A-Z]\d{2}[A-Z]{2}\d{2}$")

#: Units a Quantity may carry. Kept explicit so a typo ("mg/dya") is caught by the validator.
KNOWN_UNITS: frozenset[str] = frozenset(
    {
        "mg", "g", "mcg", "ng/mL", "mg/kg", "mg/m2", "mg/day", "mg/week", "mg/kg/day",
        "mg/kg/week", "mg/kg/dose", "units", "MIU", "cells", "IU", "mL", "%",
        "hour", "day", "week", "month", "year", "dose", "cycle", "infusion", "x ULN",
        "g/dL", "/mm3", "x10^9/L", "mIU/mL", "mL/min", "mmHg", "kg",
    }
)  # fmt: skip

_QUANTITY = re.compile(
    r"""^\s*(?P<op>>=|<=|≥|≤|>|<|~|=)?\s*
        (?P<value>\d+(?:\.\d+)?)
        (?:\s*(?:-|–|to)\s*(?P<high>\d+(?:\.\d+)?))?
        \s*(?P<unit>.*?)\s*$""",
    re.VERBOSE,
)
_OPS = {"≥": ">=", "≤": "<="}
_UNIT_ALIASES = {
    "weeks": "week", "days": "day", "months": "month", "years": "year", "hours": "hour",
    "wk": "week", "wks": "week", "h": "hour", "hrs": "hour", "doses": "dose", "cycles": "cycle",
    "infusions": "infusion", "unit": "units", "µg": "mcg", "ug": "mcg",
}  # fmt: skip


class Model(BaseModel):
    """Base of every schema model: unknown keys are an error, so a misspelt field is caught."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Quantity(Model):
    """A number as the source gives it: operator, value (or range low–high) and unit.

    Accepts a short string in the YAML (``"≥ 20 mg/day"``, ``"2-4 week"``, ``"12 week"``).
    A bare number has no unit; the validator reports it rather than guessing one.
    """

    op: Literal["=", "<", "<=", ">", ">=", "~"] = "="
    value: float
    high: float | None = None
    unit: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        if isinstance(data, bool):
            raise ValueError("a quantity must be a number with a unit, not true/false")
        if isinstance(data, int | float):
            return {"value": data}
        if isinstance(data, str):
            m = _QUANTITY.match(data)
            if not m:
                raise ValueError(
                    f"cannot read {data!r} as a quantity; write it like '≥ 20 mg/day' or '2-4 week'"
                )
            op = _OPS.get(m["op"] or "=", m["op"] or "=")
            unit = m["unit"] or None
            if unit:
                unit = _UNIT_ALIASES.get(unit, unit)
            return {
                "op": op,
                "value": float(m["value"]),
                "high": float(m["high"]) if m["high"] else None,
                "unit": unit,
            }
        return data

    def __str__(self) -> str:
        op = {"=": "", ">=": "≥ ", "<=": "≤ ", ">": "> ", "<": "< ", "~": "~"}[self.op]
        num = _fmt(self.value) + (f"–{_fmt(self.high)}" if self.high is not None else "")
        return f"{op}{num} {self.unit or ''}".strip()


def _fmt(x: float) -> str:
    return str(int(x)) if x == int(x) else str(x)


class SourceRef(Model):
    """A pointer into the sources registry, optionally with where in the source (``§5.1``)."""

    id: str
    locator: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        if isinstance(data, str):
            sid, _, loc = data.strip().partition(" ")
            return {"id": sid, "locator": loc.strip().strip("\"'") or None}
        return data

    def __str__(self) -> str:
        return f"{self.id} {self.locator}" if self.locator else self.id


class Fact(Model):
    """A statement backed by at least one registered source and a confidence mark."""

    id: str | None = Field(
        default=None, description="Stable id, so a class fact can be overridden by a member."
    )
    sources: list[SourceRef] = Field(min_length=1)
    confidence: Confidence
    note: str | None = None
    #: Set by the compiler, never in YAML: ``class:biologic`` or ``type:tnf-inhibitor`` when
    #: the fact was stated once on the class or type and inherited by this ingredient.
    inherited_from: str | None = None


class TextFact(Fact):
    """A statement in clinician words (``text``) and, where patients see it, plain words."""

    text: str
    plain: str | None = Field(default=None, description="Patient wording, US grade 8 or below.")


# --- Source registry -----------------------------------------------------------------------


class Source(Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    title: str
    publisher: str
    year: int = Field(ge=1900, le=2100)
    url: str = Field(pattern=r"^https?://")
    accessed: date
    kind: Literal["guideline", "label", "database", "review", "regulator", "article", "book"]
    licence: str | None = None
    aliases: list[str] = Field(default_factory=list, description="Keys used in the fact sheet.")
    #: False for sources whose licence forbids shipping facts taken from them (non-commercial
    #: data such as SIDER): they may be consulted to cross-check, never cited by a fact.
    shippable: bool = True
    note: str | None = None


# --- Taxonomy ------------------------------------------------------------------------------


class InheritableFacts(Model):
    """Facts a class or type states once for all its members (members may override by id)."""

    side_effects: list[SideEffect] = Field(default_factory=list)
    serious_risks: list[TextFact] = Field(default_factory=list)
    boxed_warnings: list[BoxedWarning] = Field(default_factory=list)
    screening: list[Screening] = Field(default_factory=list)
    monitoring: list[Monitoring] = Field(default_factory=list)
    vaccines: list[VaccineGuidance] = Field(default_factory=list)
    pregnancy: list[PregnancyFact] = Field(default_factory=list)
    time_to_effect: list[TimeToEffect] = Field(default_factory=list)


class TaxonType(Model):
    name: str
    plain_name: str | None = None
    description: TextFact | None = None
    facts: InheritableFacts = Field(default_factory=InheritableFacts)


class TaxonClass(Model):
    name: str
    plain_name: str | None = None
    direction: Direction
    #: The heading patients are taught under ("Immunotherapy", "Biologics" …).
    teaching_group: str
    description: TextFact
    types: dict[str, TaxonType] = Field(default_factory=dict)
    facts: InheritableFacts = Field(default_factory=InheritableFacts)


class Taxonomy(Model):
    directions: dict[Direction, TextFact]
    classes: dict[str, TaxonClass]
    glossary: dict[str, TextFact] = Field(default_factory=dict)


class Condition(Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    plain_name: str | None = None
    synonyms: list[str] = Field(default_factory=list)
    snomed: str | None = None


# --- Ingredient ------------------------------------------------------------------------------


class Classification(Fact):
    direction: Direction
    class_: str = Field(alias="class")
    type: str
    modality: Modality
    also: list[str] = Field(
        default_factory=list, description="Other 'class/type' memberships, e.g. 'antimetabolite'."
    )

    model_config = ConfigDict(populate_by_name=True)


class AtcCodes(Fact):
    codes: list[str] = Field(min_length=1)


class Names(Fact):
    synonyms: list[str] = Field(default_factory=list, description="USAN, other INN spellings.")
    salts: list[str] = Field(default_factory=list, description="Salts and esters as marketed.")
    abbreviations: list[str] = Field(default_factory=list)
    codes: list[str] = Field(default_factory=list, description="Development codes (e.g. D2E7).")


class Brand(Fact):
    name: str
    markets: list[Market] = Field(min_length=1)
    #: True for the originator product; biosimilar brands live under ``biosimilars``.
    originator: bool = True
    discontinued: bool = False
    #: Routes of the products sold under this name, where known (an eye-drop brand of a
    #: steroid is a local form: the resolver reports it as such).
    routes: list[Route] = Field(default_factory=list)


class Biosimilar(Fact):
    proper_name: str | None = Field(
        default=None, description="FDA proper name with its four-letter suffix (adalimumab-atto)."
    )
    brands: list[str] = Field(default_factory=list)
    markets: list[Market] = Field(min_length=1)
    interchangeable: bool | None = None


class Mechanism(TextFact):
    targets: list[str] = Field(default_factory=list)


class RouteFact(Fact):
    route: Route
    forms: list[str] = Field(default_factory=list)
    local: bool | None = Field(
        default=None, description="Defaults from the route: eye, skin, inhaled … are local."
    )

    @property
    def is_local(self) -> bool:
        return self.local if self.local is not None else self.route in LOCAL_ROUTES


class Dosing(Fact):
    context: str
    route: Route | None = None
    interval: Quantity | None = None
    dose: Quantity | None = None
    text: str | None = None


class Indication(Fact):
    condition: str
    approved_by: list[Literal["FDA", "EMA", "MHRA"]] = Field(default_factory=list)
    detail: str | None = None


class SideEffect(Fact):
    effect: str
    plain: str | None = None
    frequency: Quantity | None = None
    frequency_text: str | None = None


class BoxedWarning(TextFact):
    title: str
    jurisdiction: Literal["US"] = "US"


class Screening(TextFact):
    test: str
    when: str = "before the first dose"


class Monitoring(TextFact):
    test: str
    interval: Quantity | None = None
    for_how_long: str | None = None
    first_check: Quantity | None = Field(default=None, description="Time after start of 1st check.")


class VaccineGuidance(TextFact):
    topic: Literal["live", "inactivated", "general", "infant"]


class PregnancyFact(TextFact):
    topic: Literal["pregnancy", "breastfeeding", "contraception", "paternal", "fertility"]


class TimeToEffect(TextFact):
    onset: Quantity | None = None


class Regulatory(Fact):
    agency: Literal["FDA", "EMA", "MHRA", "WHO"]
    status: Literal["approved", "withdrawn", "never-marketed", "suspended", "not-approved"]
    year: int | None = None
    detail: str | None = None


class Summary(Fact):
    plain: str = Field(description="Two to four sentences in plain words, US grade 8 or below.")


class Ingredient(InheritableFacts):
    """One active ingredient, as a curator writes it in ``drugs/<id>.yaml``."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    inn: str
    classification: Classification
    atc: AtcCodes | None = None
    names: Names | None = None
    brands: list[Brand] = Field(default_factory=list)
    biosimilars: list[Biosimilar] = Field(default_factory=list)
    mechanism: Mechanism
    routes: list[RouteFact] = Field(min_length=1)
    dosing: list[Dosing] = Field(default_factory=list)
    indications: list[Indication] = Field(default_factory=list)
    regulatory: list[Regulatory] = Field(default_factory=list)
    summary: Summary
    #: Facts a member does not take from its class or type, by fact id.
    exclude_inherited: list[str] = Field(default_factory=list)
    #: Fields deliberately left empty, with the reason (``no data`` is an answer, not a gap).
    no_data: dict[str, str] = Field(default_factory=dict)

    @field_validator("inn")
    @classmethod
    def _inn_lower(cls, v: str) -> str:
        return v.strip()

    @property
    def direction(self) -> Direction:
        return self.classification.direction

    def all_names(self) -> list[tuple[str, str]]:
        """Every name this ingredient answers to, as (name, kind) pairs."""
        out: list[tuple[str, str]] = [(self.inn, "inn")]
        if self.names:
            out += [(n, "synonym") for n in self.names.synonyms]
            out += [(n, "salt") for n in self.names.salts]
            out += [(n, "abbreviation") for n in self.names.abbreviations]
            out += [(n, "code") for n in self.names.codes]
        out += [(b.name, "brand") for b in self.brands]
        for bs in self.biosimilars:
            if bs.proper_name:
                out.append((bs.proper_name, "biosimilar"))
            out += [(b, "biosimilar-brand") for b in bs.brands]
        return out


class Combination(Fact):
    """One name for several drugs: a fixed-combination product (Opdualag) or a named treatment
    regimen (R-CHOP: rituximab, cyclophosphamide, doxorubicin, vincristine, prednisone)."""

    name: str
    #: None of ours in a chemotherapy regimen (FOLFOX): its cytotoxics are all ``others``.
    ingredients: list[str] = Field(default_factory=list, description="Drug ids from drugs/.")
    #: Drugs that are not immunomodulators, by their name in the other-drug vocabulary: a
    #: regimen's cytotoxics (doxorubicin), which the regimen checker counts as chemotherapy.
    others: list[str] = Field(default_factory=list)
    markets: list[Market] = Field(default_factory=list)

    @model_validator(mode="after")
    def _several(self) -> Combination:
        if len(self.ingredients) + len(self.others) < 2:
            raise ValueError("a combination names at least two drugs (ingredients + others)")
        return self


class Combinations(Model):
    combinations: list[Combination] = Field(default_factory=list)


class ScopeGroup(Model):
    id: str
    prefix: str
    part: int
    why: str
    exclude: dict[str, str] = Field(default_factory=dict)
    only: list[str] = Field(default_factory=list)


class ScopeCode(Model):
    code: str
    name: str
    group: str
    part: int
    status: Literal["in-scope", "excluded"]
    reason: str | None = None


class Scope(Model):
    """Which ATC codes the knowledge base must cover (``data/scope.yaml``, generated)."""

    groups: list[ScopeGroup]
    codes: list[ScopeCode]


class DerivedNames(Model):
    """What ``scripts/derive_names.py`` derives for one ingredient from the reference data."""

    atc: AtcCodes | None = None
    names: Names | None = None
    brands: list[Brand] = Field(default_factory=list)
    biosimilars: list[Biosimilar] = Field(default_factory=list)
    regulatory: list[Regulatory] = Field(default_factory=list)


class ClassRef(Model):
    id: str
    name: str
    plain_name: str | None = None
    direction: Direction
    teaching_group: str


class TypeRef(Model):
    id: str
    name: str
    plain_name: str | None = None


class DrugRecord(Model):
    """An ingredient as the installed package serves it: derived names merged in, class and
    type facts inherited (each marked ``inherited_from``), and the sources it cites."""

    id: str
    inn: str
    direction: Direction
    class_: ClassRef = Field(alias="class")
    type: TypeRef
    modality: Modality
    atc: list[str]
    ingredient: Ingredient
    sources: dict[str, Source]

    model_config = ConfigDict(populate_by_name=True)

    @property
    def brand_names(self) -> list[str]:
        return [b.name for b in self.ingredient.brands]

    def public_dict(self) -> dict[str, Any]:
        """The JSON shape shared by the CLI (``--json``) and, later, the REST API."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


#: The list fields an ingredient may inherit from its class and type.
INHERITABLE_FIELDS: tuple[str, ...] = tuple(InheritableFacts.model_fields)

InheritableFacts.model_rebuild()
TaxonType.model_rebuild()
TaxonClass.model_rebuild()
Taxonomy.model_rebuild()
Ingredient.model_rebuild()
