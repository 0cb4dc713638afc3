"""Quantities keep the source's operator, value and unit; source references keep locators."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from immunomod.knowledge.models import Quantity, RouteFact, SourceRef


@pytest.mark.parametrize(
    ("text", "op", "value", "high", "unit"),
    [
        ("≥ 20 mg/day", ">=", 20, None, "mg/day"),
        (">20 mg/day", ">", 20, None, "mg/day"),
        ("≤0.4 mg/kg/week", "<=", 0.4, None, "mg/kg/week"),
        ("2-4 week", "=", 2, 4, "week"),
        ("2–4 weeks", "=", 2, 4, "week"),
        ("12 week", "=", 12, None, "week"),
        ("20 %", "=", 20, None, "%"),
        ("~6 month", "~", 6, None, "month"),
    ],
)
def test_quantity_strings(text: str, op: str, value: float, high: float | None, unit: str) -> None:
    q = Quantity.model_validate(text)
    assert (q.op, q.value, q.high, q.unit) == (op, value, high, unit)


def test_bare_number_has_no_unit_rather_than_a_guess() -> None:
    assert Quantity.model_validate(2).unit is None
    assert Quantity.model_validate("2").unit is None


def test_quantity_round_trips_to_text() -> None:
    assert str(Quantity.model_validate("≥ 20 mg/day")) == "≥ 20 mg/day"
    assert str(Quantity.model_validate("2-4 week")) == "2–4 week"


@pytest.mark.parametrize("bad", ["about twenty", True, "mg 20"])
def test_unreadable_quantities_are_rejected(bad: object) -> None:
    with pytest.raises(ValidationError):
        Quantity.model_validate(bad)


def test_source_ref_with_locator() -> None:
    ref = SourceRef.model_validate('fda-label-humira "5.1"')
    assert (ref.id, ref.locator) == ("fda-label-humira", "5.1")
    assert SourceRef.model_validate("idsa-2013").locator is None


@pytest.mark.parametrize(
    ("route", "local"),
    [("ophthalmic", True), ("topical", True), ("inhaled", True), ("intranasal", True),
     ("intra-articular", True), ("oral", False), ("iv", False), ("sc", False)],
)  # fmt: skip
def test_local_routes_default_from_the_route(route: str, local: bool) -> None:
    fact = RouteFact.model_validate({"route": route, "sources": ["x"], "confidence": "high"})
    assert fact.is_local is local
