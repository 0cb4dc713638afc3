"""Regimen-checker properties for any regimen (Hypothesis, bounded example counts).

* adding a medication or raising a dose never lowers the level;
* removing required data (weight, dates, doses) never turns a verdict into ``allowed``;
* the same input gives the same output.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from immunomod.rules import assess
from immunomod.rules.models import LEVEL_ORDER

DRUGS = ["prednisone", "methotrexate", "azathioprine", "adalimumab", "hydroxychloroquine",
         "tofacitinib", "leflunomide", "rituximab", "dupilumab", "sulfasalazine"]  # fmt: skip
RANK = {"none": 0, "low": 1, "unknown": 2, "high": 3}


@st.composite
def medication(draw: Any) -> dict[str, Any]:
    return {
        "drug": draw(st.sampled_from(DRUGS)),
        "dose": draw(st.sampled_from([5, 10, 15, 20, 25, 40, 100, 150])),
        "unit": "mg",
        "frequency": draw(st.sampled_from(["daily", "weekly", "twice daily"])),
        "start": draw(st.sampled_from(["2025-01-01", "2026-11-01", "2026-11-20"])),
    }


REGIMEN = st.fixed_dictionaries(
    {
        "meds": st.lists(medication(), max_size=4),
        "weight": st.sampled_from([None, 9.0, 50.0, 70.0]),
        "vaccines": st.lists(
            st.sampled_from(["MMR", "Shingrix", "yellow fever", "flu"]), max_size=2
        ),
    }
)


def run(r: dict[str, Any]) -> Any:
    patient = {"weight_kg": r["weight"]} if r["weight"] else {}
    return assess({
        "as_of": "2026-11-25", "patient": patient, "medications": r["meds"],
        "planned_vaccines": r["vaccines"],
    })  # fmt: skip


@given(REGIMEN, medication())
@settings(max_examples=120, deadline=None)
def test_adding_a_drug_never_lowers_the_level(r: dict[str, Any], extra: dict[str, Any]) -> None:
    before = run(r).immunosuppression.level
    after = run({**r, "meds": [*r["meds"], extra]}).immunosuppression.level
    assert RANK[after] >= RANK[before] or (before == "unknown" and after == "high")


@given(REGIMEN)
@settings(max_examples=120, deadline=None)
def test_raising_a_dose_never_lowers_the_level(r: dict[str, Any]) -> None:
    before = run(r).immunosuppression.level
    doubled = [{**m, "dose": m["dose"] * 2} for m in r["meds"]]
    after = run({**r, "meds": doubled}).immunosuppression.level
    assert LEVEL_ORDER[after] >= LEVEL_ORDER[before] or (before, after) == ("unknown", "high")


@given(REGIMEN)
@settings(max_examples=120, deadline=None)
def test_removing_data_never_makes_a_vaccine_allowed(r: dict[str, Any]) -> None:
    full = {v.vaccine: v.status for v in run(r).vaccines}
    stripped_meds = [{k: v for k, v in m.items() if k not in {"dose", "start"}} for m in r["meds"]]
    stripped = {
        v.vaccine: v.status for v in run({**r, "weight": None, "meds": stripped_meds}).vaccines
    }
    for name, status in stripped.items():
        if status == "allowed":
            assert full.get(name) == "allowed"


@given(REGIMEN)
@settings(max_examples=60, deadline=None)
def test_deterministic(r: dict[str, Any]) -> None:
    assert run(r).as_json() == run(r).as_json()
