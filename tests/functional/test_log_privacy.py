"""No patient data in the logs: requests carrying marked patient text, names and dates of
birth, through every endpoint that takes them, leave no trace of the marks in any logger, at
DEBUG. (`immunomod serve --access-log` end to end: test_serve.py.)"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from immunomod.interfaces.api import create_app
from immunomod.interfaces.logs import WITHHELD
from immunomod.interop.cds_auth import AuthSettings

MARK = f"ZZPATIENTMARKER-{uuid.uuid4().hex}"
BIRTH = "1911-11-11"  # a date of birth no other part of the app would log
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "regimen.fhir.json"
# The test's own HTTP client logs each URL it requests (client side, not the server's logs).
CLIENT_LOGGERS = ("httpx", "httpcore")


def _server_log(caplog: pytest.LogCaptureFixture) -> str:
    records = [r for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) for r in records)


def _hook_call() -> dict[str, Any]:
    resources = [e["resource"] for e in json.loads(EXAMPLE.read_text())["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    patient = {**patient, "name": [{"family": MARK, "given": [MARK]}], "birthDate": BIRTH}
    meds = [r for r in resources if r["resourceType"] == "MedicationRequest"]
    meds[0]["note"] = [{"text": MARK}]
    bundle = {"resourceType": "Bundle", "type": "searchset",
              "entry": [{"resource": r} for r in meds]}  # fmt: skip
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": MARK},
            "prefetch": {"patient": patient, "medications": bundle}}  # fmt: skip


def test_marked_patient_data_never_reaches_a_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every logger propagates to it
    client = TestClient(create_app(cds_auth=AuthSettings(required=False)))
    note = f"{MARK}: MTX 20mg weekly, pred 40mg od since {BIRTH}"
    meds = [{"text": note}, {"drug": "adalimumab", "start": "2026-01-01"}]
    regimen = {"as_of": "2026-11-25", "birth_date": BIRTH, "medications": meds}
    answers = [
        client.get("/v1/resolve", params={"text": note}),
        client.post("/v1/resolve", json={"texts": [note, MARK * 3]}),
        client.post("/v1/assess", json=regimen),
        client.post("/v1/assess", json={**regimen, "patient": {"weight_kg": MARK}}),  # 422
        client.post("/cds-services/immunomod-patient-view", json=_hook_call()),
        client.post("/cds-services/immunomod-order", json=_hook_call()),  # wrong hook: 422
        client.get("/assess", params={"meds": note, "age": MARK}),  # the form, in the query
        client.post("/v1/assess", content=f'{{"as_of": "{MARK}"'),  # not JSON
    ]
    assert [r.status_code for r in answers] == [200, 200, 200, 422, 200, 422, 200, 422]
    assert MARK in answers[0].text  # the answers do carry it: the marks went through
    assert MARK not in _server_log(caplog)
    assert BIRTH not in _server_log(caplog)


def test_a_logged_server_error_keeps_its_type_and_frames_not_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected error is logged by the server (uvicorn) with its traceback; messages can
    quote the input (a ValidationError's input_value), so the message is withheld."""
    create_app()  # installs the filters
    caplog.set_level(logging.DEBUG)

    def fail(text: str) -> None:
        raise ValueError(f"cannot read {text!r}")

    try:
        fail(MARK)
    except ValueError as exc:
        # What uvicorn does with an exception from the app (uvicorn/protocols/http/*.py).
        logging.getLogger("uvicorn.error").error("Exception in ASGI application\n", exc_info=exc)
    text = caplog.text
    assert "Exception in ASGI application" in text and "builtins.ValueError" in text
    assert "in fail" in text and WITHHELD in text  # the frames stay: enough to find the fault
    assert MARK not in text
