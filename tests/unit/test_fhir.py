"""FHIR R4 input: a Bundle gives the same answer as its JSON twin; gaps are reported, not hidden."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from immunomod.interop.fhir import FhirInputError, request_from_fhir
from immunomod.rules import assess
from immunomod.rules.models import AssessRequest

EXAMPLE = Path(__file__).parents[2] / "examples" / "regimen.fhir.json"
AS_OF = date(2026, 11, 25)


def bundle() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


def entry(bundle: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == rid)


def summary(a: Any) -> dict[str, Any]:
    """The clinical content of an answer, without the echo of how the input was written."""
    return {
        "level": a.immunosuppression.level,
        "contributing": sorted((c.drug, c.level, c.rule) for c in a.immunosuppression.contributing),
        "pred_eq": a.prednisone_equivalent_mg_per_day,
        "ingredients": sorted(m.ingredient or "?" for m in a.medications),
        "vaccines": [(v.vaccine, v.status, v.earliest_date, v.latest_date) for v in a.vaccines],
        "screening": sorted((s.test, s.drug) for s in a.screening),
        "monitoring": sorted((m.test, m.drug, m.next_due) for m in a.monitoring),
        "cautions": sorted((c.rule, tuple(c.drugs)) for c in a.cautions),
        "missing": a.missing,
    }


def test_bundle_gives_the_same_answer_as_the_equivalent_json() -> None:
    parsed = request_from_fhir(bundle(), as_of=AS_OF)
    twin = AssessRequest.model_validate({
        "as_of": "2026-11-25",
        "birth_date": "1972-03-14",
        "patient": {"weight_kg": 70, "age_years": 54.7},
        "medications": [
            {"drug": "prednisone", "dose": 20, "unit": "mg", "frequency": "daily",
             "start": "2026-10-01"},
            {"drug": "Humira", "dose": 40, "unit": "mg", "frequency": "every 2 weeks",
             "start": "2025-06-01"},
        ],
        "planned_vaccines": ["MMR", "Shingrix"],
    })  # fmt: skip
    got, want = summary(assess(parsed.request)), summary(assess(twin))
    assert got == want
    # IDSA 2013: prednisone-equivalent >= 20 mg/day for >= 14 days is high-level.
    assert got["level"] == "high" and got["pred_eq"] == 20.0
    assert got["vaccines"][0][:2] == ("mmr", "contraindicated")


def test_ingredient_codes_map_and_product_codes_fall_back_to_text_and_say_so() -> None:
    parsed = request_from_fhir(bundle(), as_of=AS_OF)
    # RxNorm 8640 is the ingredient prednisone (DrugCentral); the ATC code of the contained
    # Medication names adalimumab. Both map without a note.
    assert [m.drug for m in parsed.request.medications] == ["prednisone", "adalimumab"]
    assert not any("8640" in n for n in parsed.notes)
    # RxNorm 105586 is a product (methotrexate 2.5 MG Oral Tablet): its text is used, with a note.
    ehr = json.loads((EXAMPLE.parents[1] / "tests/fixtures/fhir/synthea_like_ra.json").read_text())
    parsed = request_from_fhir(ehr, as_of=AS_OF)
    assert any("rxnorm|105586" in n and "used the text" in n for n in parsed.notes)
    assert "methotrexate" in (parsed.request.medications[0].text or "")


def test_atc_code_without_any_text_still_resolves() -> None:
    b = bundle()
    med = entry(b, "ms-ada")["contained"][0]
    med["code"] = {"coding": [{"system": "http://www.whocc.no/atc", "code": "L04AF01"}]}
    parsed = request_from_fhir(b, as_of=AS_OF)
    assert parsed.request.medications[1].drug == "tofacitinib"


def test_dosage_text_goes_through_the_sig_parser() -> None:
    b = bundle()
    rx = entry(b, "rx-pred")
    rx["dosageInstruction"] = [{"text": "40 mg daily"}]
    a = assess(request_from_fhir(b, as_of=AS_OF).request)
    assert a.prednisone_equivalent_mg_per_day == 40.0


@pytest.mark.parametrize(
    ("freq", "period", "unit", "per_day"),
    [(1, 1, "d", 1.0), (2, 1, "d", 2.0), (1, 1, "wk", 1 / 7), (3, 2, "d", 1.5), (1, 12, "h", 2.0)],
)
def test_timing_repeat_becomes_the_right_number_of_doses(
    freq: int, period: int, unit: str, per_day: float
) -> None:
    b = bundle()
    timing = entry(b, "rx-pred")["dosageInstruction"][0]["timing"]["repeat"]
    timing.update(frequency=freq, period=period, periodUnit=unit)
    a = assess(request_from_fhir(b, as_of=AS_OF).request)
    pred = next(m for m in a.medications if m.ingredient == "prednisone")
    assert pred.dose_mg_per_day == pytest.approx(20 * per_day, rel=1e-3)


def test_latest_weight_in_pounds_is_converted() -> None:
    b = bundle()
    old = copy.deepcopy(entry(b, "wt-1"))
    new = entry(b, "wt-1")
    new.update(id="wt-2", effectiveDateTime="2026-11-20")
    new["valueQuantity"] = {"value": 143.3, "unit": "lb", "code": "[lb_av]",
                            "system": "http://unitsofmeasure.org"}  # fmt: skip
    b["entry"].append({"resource": old})
    parsed = request_from_fhir(b, as_of=AS_OF)
    assert parsed.request.patient.weight_kg == pytest.approx(65.0, abs=0.01)


def test_entered_in_error_is_left_out_and_reported() -> None:
    b = bundle()
    entry(b, "rx-pred")["status"] = "entered-in-error"
    parsed = request_from_fhir(b, as_of=AS_OF)
    assert [m.drug for m in parsed.request.medications] == ["adalimumab"]
    assert any("entered-in-error" in n for n in parsed.notes)


def test_administration_sets_the_last_dose() -> None:
    admin = {
        "resourceType": "MedicationAdministration", "id": "ma-1", "status": "completed",
        "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2026-09-01",
        "medicationCodeableConcept": {"text": "rituximab"},
        "dosage": {"dose": {"value": 1000, "unit": "mg"}},
    }  # fmt: skip
    parsed = request_from_fhir([admin], as_of=AS_OF)
    med = parsed.request.medications[0]
    assert med.drug == "rituximab" and med.last_dose == date(2026, 9, 1) and med.dose == 1000


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"medications": []}, "expected a FHIR Bundle"),
        ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"x": 1}}]},
         "entry.0.resource"),
        ({"resourceType": "MedicationRequest", "id": "r", "status": "active", "intent": "order",
          "subject": {"reference": "Patient/p"}, "authoredOn": "not-a-date",
          "medicationCodeableConcept": {"text": "MTX"}}, "authoredOn"),
        ({"resourceType": "Nonsense"}, "not a FHIR R4 resource type"),
    ],
)  # fmt: skip
def test_bad_input_names_the_problem(data: Any, words: str) -> None:
    with pytest.raises(FhirInputError, match=words):
        request_from_fhir(data, as_of=AS_OF)
