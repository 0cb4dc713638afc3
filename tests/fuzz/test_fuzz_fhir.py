"""FHIR input fuzzing: any JSON-like value, and valid bundles with a few things broken, give a
regimen or one of immunomod's own UserErrors (a message naming the resource and the field),
never another exception. Also through the CDS Hooks endpoint, which takes FHIR in prefetch."""

from __future__ import annotations

import contextlib
import json
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

from fastapi.testclient import TestClient
from fuzzdata import json_values, mutated
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from immunomod.errors import UserError
from immunomod.interfaces.api import create_app
from immunomod.interop.cds_auth import AuthSettings
from immunomod.interop.fhir import request_from_fhir
from immunomod.rules import assess

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "examples" / "regimen.fhir.json").read_text()
)
# Field names of the resources read, so mutations add keys the parser looks at.
FHIR_KEYS = [
    "resourceType", "id", "entry", "resource", "fullUrl", "contained", "status", "subject",
    "birthDate", "medicationCodeableConcept", "medicationReference", "reference", "display",
    "coding", "system", "code", "text", "dosageInstruction", "dosage", "doseAndRate",
    "doseQuantity", "value", "unit", "timing", "repeat", "frequency", "period", "periodUnit",
    "boundsPeriod", "start", "end", "authoredOn", "effectivePeriod", "effectiveDateTime",
    "valueQuantity", "issued", "recommendation", "vaccineCode", "route", "dose",
]  # fmt: skip
AS_OF = date(2026, 11, 25)


def _read(data: Any) -> None:
    """The property: a regimen (which the checker then answers) or a UserError."""
    try:
        parsed = request_from_fhir(data, as_of=AS_OF)
    except UserError as exc:
        assert str(exc)  # a message for the user, never an empty one
        event(f"refused: {type(exc).__name__}")
        return
    event("read")
    with contextlib.suppress(UserError):
        assess(parsed.request)


@given(json_values(st.sampled_from(FHIR_KEYS) | st.text(max_size=8)))
@settings(max_examples=200, deadline=None)
@example({"resourceType": "Bundle", "entry": [None]})
# Observations were read as raw dicts before validation: a null coding raised AttributeError,
# a non-list 'contained' or 'entry' a TypeError.
@example([{"resourceType": "Observation", "code": {"coding": [None]}}])
@example([{"resourceType": "Observation", "code": "29463-7"}])
@example([{"resourceType": "Patient", "contained": 5}])
@example({"resourceType": "Patient", "entry": 5})
@example([{"resourceType": ["MedicationRequest"]}])
def test_any_json_value_is_read_or_refused_clearly(data: Any) -> None:
    _read(data)


@given(mutated(EXAMPLE, FHIR_KEYS))
@settings(max_examples=200, deadline=None)
# fhir.resources raised TypeError (not a ValidationError) for an entry's non-text resourceType.
@example({"resourceType": "Bundle", "type": "collection",
          "entry": [{"resource": {"resourceType": None, "id": "rx-pred"}}]})  # fmt: skip
def test_a_broken_valid_bundle_is_read_or_refused_clearly(bundle: Any) -> None:
    _read(bundle)


# --- the same through CDS Hooks (prefetch holds FHIR resources) -------------------------------

_client = TestClient(create_app(cds_auth=AuthSettings(required=False)))


def _hook_body() -> dict[str, Any]:
    resources = [e["resource"] for e in EXAMPLE["entry"]]

    def bundle(kind: str) -> dict[str, Any]:
        entries = [{"resource": r} for r in resources if r["resourceType"] == kind]
        return {"resourceType": "Bundle", "type": "searchset", "entry": entries}

    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": "pt-1"},
        "prefetch": {
            "patient": next(r for r in resources if r["resourceType"] == "Patient"),
            "medications": bundle("MedicationRequest"),
            "statements": bundle("MedicationStatement"),
            "weight": bundle("Observation"),
        },
    }


@given(mutated(_hook_body(), [*FHIR_KEYS, "hook", "context", "prefetch", "draftOrders"]))
@settings(max_examples=100, deadline=None)
def test_cds_hook_calls_answer_or_say_what_is_wrong(body: Any) -> None:
    # A mutation never names a FHIR server, but make sure no example can reach the network.
    with mock.patch("immunomod.interop.cds_hooks._fetch", side_effect=AssertionError("network")):
        r = _client.post(
            "/cds-services/immunomod-patient-view",
            content=json.dumps(body),  # NaN/Infinity literals too: Python's parser takes them
            headers={"content-type": "application/json"},
        )
    assert r.status_code in {200, 400, 422}, r.text
    event(f"status {r.status_code}")
    if r.status_code != 200:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"]
