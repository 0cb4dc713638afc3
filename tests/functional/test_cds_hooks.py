"""CDS Hooks 2.0 services in the web app: discovery, patient-view and order-select cards."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from immunomod.interfaces.api import create_app
from immunomod.interop.cds_auth import AuthSettings
from immunomod.interop.fhir import request_from_fhir

# Card logic is tested with JWT checks off; test_cds_auth.py tests the checks themselves.
client = TestClient(create_app(cds_auth=AuthSettings(required=False)))
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "regimen.fhir.json"


# The CDS Hooks 2.0 response shapes (https://cds-hooks.hl7.org/2.0/#cds-service-response):
# required fields and allowed values, so a drift from the specification fails here.
class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Spec):
    label: str = Field(min_length=1)
    url: str | None = None
    icon: str | None = None
    topic: dict[str, Any] | None = None


class Action(_Spec):
    type: str = Field(pattern="^(create|update|delete)$")
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None


class Suggestion(_Spec):
    label: str
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] = []


class Link(_Spec):
    label: str
    url: str
    type: str = Field(pattern="^(absolute|smart)$")
    appContext: str | None = None


class Card(_Spec):
    uuid: str | None = None
    summary: str = Field(min_length=1, max_length=140)
    detail: str | None = None
    indicator: str = Field(pattern="^(info|warning|critical)$")
    source: Source
    suggestions: list[Suggestion] = []
    selectionBehavior: str | None = None
    overrideReasons: list[dict[str, Any]] = []
    links: list[Link] = []


class CdsResponse(_Spec):
    cards: list[Card]
    systemActions: list[Action] = []


def prefetch() -> dict[str, Any]:
    resources = [e["resource"] for e in json.loads(EXAMPLE.read_text())["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    meds = [r for r in resources if r["resourceType"] in {"MedicationRequest"}]
    stmts = [r for r in resources if r["resourceType"] == "MedicationStatement"]
    weight = [r for r in resources if r["resourceType"] == "Observation"]

    def bundle(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "searchset",
                "entry": [{"resource": r} for r in rs]}  # fmt: skip

    return {"patient": patient, "medications": bundle(meds), "statements": bundle(stmts),
            "weight": bundle(weight)}  # fmt: skip


def hook_call(hook: str, **context: Any) -> dict[str, Any]:
    return {"hook": hook, "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {"userId": "Practitioner/1", "patientId": "pt-1", **context},
            "prefetch": prefetch()}  # fmt: skip


def check_cards(cards: list[dict[str, Any]]) -> None:
    CdsResponse.model_validate({"cards": cards})
    for card in cards:
        assert len(card["summary"]) <= 140
        assert card["indicator"] in {"info", "warning", "critical"}
        assert card["source"]["label"] and card["source"]["url"].startswith("http")


def test_discovery_lists_services_with_prefetch() -> None:
    services = client.get("/cds-services").json()["services"]
    hooks = {s["hook"] for s in services}
    assert {"patient-view", "order-select", "order-sign"} <= hooks
    assert all("patient" in s["prefetch"] for s in services)


def test_patient_view_summarises_high_level_immunosuppression() -> None:
    r = client.post("/cds-services/immunomod-patient-view", json=hook_call("patient-view"))
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    check_cards(cards)
    # IDSA 2013: prednisone 20 mg/day for >= 14 days (here since 2026-10-01) is high-level.
    assert cards[0]["summary"].startswith("High-level immunosuppression")
    assert cards[0]["indicator"] == "warning"
    assert any("live vaccines" in c["summary"].lower() for c in cards)


def order(text: str) -> dict[str, Any]:
    rx = {"resourceType": "MedicationRequest", "id": "draft-1", "status": "draft",
          "intent": "order", "subject": {"reference": "Patient/pt-1"},
          "medicationCodeableConcept": {"text": text}}  # fmt: skip
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": rx}]}


def test_ordering_a_tnf_inhibitor_asks_for_tb_screening_with_a_suggestion() -> None:
    body = hook_call("order-select", draftOrders=order("infliximab 5 mg/kg every 8 weeks"),
                     selections=["MedicationRequest/draft-1"])  # fmt: skip
    cards = client.post("/cds-services/immunomod-order", json=body).json()["cards"]
    check_cards(cards)
    screening = next(c for c in cards if c["summary"].startswith("Before starting infliximab"))
    assert "tuberculosis" in screening["summary"].lower()
    action = screening["suggestions"][0]["actions"][0]
    assert action["type"] == "create" and action["resource"]["resourceType"] == "ServiceRequest"


def test_ordering_a_non_immunomodulator_gives_no_cards() -> None:
    body = hook_call("order-select", draftOrders=order("metformin 500 mg twice daily"))
    assert client.post("/cds-services/immunomod-order", json=body).json()["cards"] == []


def test_wrong_hook_or_service_is_a_clear_problem() -> None:
    r = client.post("/cds-services/immunomod-order", json=hook_call("patient-view"))
    assert r.status_code == 422 and "answers hook 'order-select'" in r.json()["detail"]
    r = client.post("/cds-services/nope", json=hook_call("patient-view"))  # no such resource
    assert r.status_code == 404 and "GET /cds-services" in r.json()["detail"]


def test_request_missing_a_required_field_is_named() -> None:
    body = hook_call("patient-view")
    del body["hookInstance"]
    r = client.post("/cds-services/immunomod-patient-view", json=body)
    assert r.status_code == 422 and "hookInstance" in r.json()["detail"]
    body = hook_call("patient-view")
    body["fhirAuthorization"] = {"access_token": "t"}  # lacks token_type, expires_in, ...
    r = client.post("/cds-services/immunomod-patient-view", json=body)
    assert r.status_code == 422 and "fhirAuthorization" in r.json()["detail"]


def test_feedback_is_accepted() -> None:
    fb = {"feedback": [{"card": "abc", "outcome": "accepted",
                        "outcomeTimestamp": "2026-11-25T10:00:00Z"}]}  # fmt: skip
    assert client.post("/cds-services/immunomod-order/feedback", json=fb).status_code == 200


def test_without_prefetch_the_service_reads_the_fhir_server_with_the_token() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    data = prefetch()
    seen: list[tuple[str, str | None]] = []

    class Fhir(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Authorization")))
            key = next(k for k, q in [("patient", "/Patient/"), ("medications", "/Medication"
                       "Request?"), ("statements", "/MedicationStatement?"),
                       ("weight", "/Observation?")] if self.path.startswith(q))  # fmt: skip
            payload = json.dumps(data[key]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:  # keep test output (and patient ids) quiet
            pass

    server = HTTPServer(("127.0.0.1", 0), Fhir)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        body = hook_call("patient-view")
        del body["prefetch"]
        body["fhirServer"] = f"http://127.0.0.1:{server.server_port}"
        body["fhirAuthorization"] = {"access_token": "tok-123", "token_type": "Bearer",
                                     "expires_in": 300, "scope": "patient/*.read",
                                     "subject": "immunomod"}  # fmt: skip
        cards = client.post("/cds-services/immunomod-patient-view", json=body).json()["cards"]
    finally:
        server.shutdown()
        server.server_close()
    assert len(seen) == 4 and all(auth == "Bearer tok-123" for _, auth in seen)
    assert cards[0]["summary"].startswith("High-level immunosuppression")


# --- realistic and broken bundles (issue 9 acceptance) -----------------------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"


def realistic() -> list[dict[str, Any]]:
    data = json.loads((FIXTURES / "synthea_like_ra.json").read_text())
    return [e["resource"] for e in data["entry"]]


def patient_view(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    bundle = {"resourceType": "Bundle", "type": "searchset",
              "entry": [{"resource": r} for r in resources]}  # fmt: skip
    body = {"hook": "patient-view", "hookInstance": "0f2e8f0a-4b0b-4f57-9d7a-1d0b2a1c0001",
            "context": {"userId": "Practitioner/1", "patientId": "p"},
            "prefetch": {"patient": None, "medications": bundle, "statements": None,
                         "weight": None}}  # fmt: skip
    r = client.post("/cds-services/immunomod-patient-view", json=body)
    assert r.status_code == 200, r.text
    CdsResponse.model_validate(r.json())
    return list(r.json()["cards"])


def test_every_fhir_fixture_validates_with_fhir_resources() -> None:
    from fhir.resources.R4B import get_fhir_model_class

    for path in [EXAMPLE, *FIXTURES.glob("*.json")]:
        data = json.loads(path.read_text())
        get_fhir_model_class(data["resourceType"]).model_validate(data)


def test_a_synthetic_ehr_bundle_gets_a_useful_answer() -> None:
    cards = patient_view(realistic())
    # Methotrexate 15 mg/week (0.22 mg/kg/week at 68.4 kg) and prednisone 5 mg/day: both below
    # the IDSA 2013 high-level thresholds (> 0.4 mg/kg/week; >= 20 mg/day), so low-level.
    assert cards[0]["summary"].startswith("Low-level immunosuppression")
    assert "methotrexate" in cards[0]["summary"] and "prednisone" in cards[0]["summary"]


def test_wrong_resource_type_gives_a_cannot_assess_card() -> None:
    resources = realistic()
    resources[5] = {**resources[5], "resourceType": "MedicationOrder"}  # the DSTU2 name
    cards = patient_view(resources)
    assert len(cards) == 1 and cards[0]["summary"].startswith("Cannot assess")
    assert "MedicationOrder" in cards[0]["detail"] and "not" in cards[0]["detail"]


def test_missing_dosage_still_answers_and_says_what_is_missing() -> None:
    resources = [r for r in realistic() if r["resourceType"] != "Observation"]
    for r in resources:
        r.pop("dosageInstruction", None)
    cards = patient_view(resources)
    # Without a dose or weight, methotrexate's level cannot be told: never "none".
    assert cards[0]["indicator"] == "warning"
    assert "insufficient data" in cards[0]["summary"]
    assert "Missing information" in cards[0]["detail"]


def test_unknown_code_without_text_is_reported() -> None:
    resources = realistic()
    resources[6] = {**resources[6], "medicationCodeableConcept": {
        "coding": [{"system": "http://snomed.info/sct", "code": "999999999"}]}}  # fmt: skip
    parsed = request_from_fhir(resources, as_of=date(2026, 11, 25))
    assert any("999999999" in n and "display" in n for n in parsed.notes)


def test_five_hundred_medications_do_not_break_the_hook() -> None:
    base = realistic()
    template = next(r for r in base if r.get("id") == "mr-2")
    many = [{**template, "id": f"rep-{i}"} for i in range(500)]  # Synthea-style renewals
    cards = patient_view([*base, *many])
    assert cards[0]["summary"].startswith("Low-level immunosuppression")
    distinct = [{**template, "id": f"d-{i}", "medicationCodeableConcept": {"text": f"drug{i}"}}
                for i in range(500)]  # fmt: skip
    cards = patient_view(distinct)
    assert cards[0]["summary"].startswith("Cannot assess") and "200" in cards[0]["detail"]
