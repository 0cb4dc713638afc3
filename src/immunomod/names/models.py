"""What the resolver answers: one :class:`Resolution` per input text, one :class:`Match` per
drug mention, each with how sure it is and, where the text says it, the dosing (:class:`Sig`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["unique", "ambiguous", "needs_review", "not_found", "not_immunomodulator"]
Method = Literal["exact", "product", "abbreviation", "fuzzy", "phonetic", "pattern"]
Context = Literal["current", "stopped", "historical", "negated", "allergy", "planned"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SigStep(_Model):
    """One step of a multi-step or tapering regimen ("40 mg daily for 1 week")."""

    # Immutable: parse_sig caches its answers, so one Sig may be shared by many matches.
    model_config = ConfigDict(extra="forbid", frozen=True)

    dose: float | None = None
    unit: str | None = None
    frequency: str | None = None
    duration: str | None = None
    duration_days: float | None = None
    amount_per_day: float | None = None
    amount_per_week: float | None = None
    taper: str | None = Field(default=None, description="e.g. 'reduce by 5 mg every 1 week'")


class Sig(_Model):
    """Dosing read from the text near a mention, normalised to amount per day and per week."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dose: float | None = None
    unit: str | None = None
    route: str | None = None
    frequency: str | None = None
    duration: str | None = None
    prn: bool = False
    steps: tuple[SigStep, ...] = ()
    amount_per_day: float | None = None
    amount_per_week: float | None = None
    text: str = Field(description="The part of the input the sig was read from.")


class Candidate(_Model):
    ingredient: str
    immunomodulator: bool
    score: float


class Match(_Model):
    """One drug mention in the input."""

    ingredient: str | None
    immunomodulator: bool
    direction: str | None = None
    class_: str | None = Field(default=None, alias="class")
    type: str | None = None
    atc: list[str] = Field(default_factory=list)
    matched_text: str
    span: tuple[int, int]
    confidence: float
    status: Status
    method: Method
    local: bool = False
    route: str | None = None
    context: Context = "current"
    sig: Sig | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    note: str | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Resolution(_Model):
    """The answer for one input text (the JSON-lines contract of ``immunomod resolve``)."""

    input: str
    matches: list[Match] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    @property
    def immunomodulators(self) -> list[str]:
        """Distinct immunomodulator ingredients found (any status that names one)."""
        seen: list[str] = []
        for m in self.matches:
            if m.immunomodulator and m.ingredient and m.ingredient not in seen:
                seen.append(m.ingredient)
        return seen
