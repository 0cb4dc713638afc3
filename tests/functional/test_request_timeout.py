"""A request that outlives its time budget is answered 503 problem+json naming the fix, with
the security headers; quick requests are untouched. (Limit: IMMUNOMOD_REQUEST_TIMEOUT_S.)"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from immunomod.errors import UserError
from immunomod.interfaces.api import create_app
from immunomod.interop.cds_auth import AuthSettings

NOTE = "prednisolone 40 mg daily reduce by 5 mg each week, methotrexate 20 mg weekly; " * 6


def test_a_slow_request_gets_503_with_the_fix() -> None:
    client = TestClient(create_app(cds_auth=AuthSettings(required=False), request_timeout_s=0.05))
    slow = client.post("/v1/resolve", json={"texts": [f"{NOTE} {i}" for i in range(400)]})
    assert slow.status_code == 503
    assert slow.headers["content-type"] == "application/problem+json"
    assert "split a batch" in slow.json()["detail"] and "0.05 s" in slow.json()["detail"]
    assert "content-security-policy" in slow.headers
    quick = client.get("/v1/resolve", params={"text": "Humira"})
    assert quick.status_code == 200


def test_the_default_budget_lets_a_full_batch_through() -> None:
    client = TestClient(create_app(cds_auth=AuthSettings(required=False)))
    answer = client.post("/v1/resolve", json={"texts": [f"{NOTE} {i}" for i in range(50)]})
    assert answer.status_code == 200 and len(answer.json()["results"]) == 50


@pytest.mark.parametrize("value", ["soon", "0", "-3"])
def test_a_bad_budget_in_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("IMMUNOMOD_REQUEST_TIMEOUT_S", value)
    with pytest.raises(UserError, match="IMMUNOMOD_REQUEST_TIMEOUT_S"):
        create_app(cds_auth=AuthSettings(required=False))


def test_a_batch_past_its_budget_stops_working(monkeypatch: pytest.MonkeyPatch) -> None:
    # The 503 goes out at the deadline; the batch loop in the worker thread must stop there too
    # instead of resolving the rest of the texts for an answer nobody will read.
    import time

    from immunomod.interfaces import api

    calls: list[str] = []
    real = api.resolve

    def slow(text: str):  # type: ignore[no-untyped-def]
        calls.append(text)
        time.sleep(0.01)
        return real(text)

    monkeypatch.setattr(api, "resolve", slow)
    client = TestClient(create_app(cds_auth=AuthSettings(required=False), request_timeout_s=0.05))
    answer = client.post("/v1/resolve", json={"texts": [f"Humira {i}" for i in range(300)]})
    assert answer.status_code == 503
    at_answer = len(calls)
    time.sleep(0.5)  # without the check the thread would resolve ~50 more texts meanwhile
    assert len(calls) - at_answer <= 1 and len(calls) < 300


def test_a_regimen_past_its_budget_stops_working(monkeypatch: pytest.MonkeyPatch) -> None:
    # The regimen checker checks the budget before each medication (immunomod.deadline).
    import time

    from immunomod.rules import engine

    calls: list[str] = []
    real = engine.resolve

    def slow(text: str):  # type: ignore[no-untyped-def]
        calls.append(text)
        time.sleep(0.01)
        return real(text)

    monkeypatch.setattr(engine, "resolve", slow)
    client = TestClient(create_app(cds_auth=AuthSettings(required=False), request_timeout_s=0.05))
    regimen = {"as_of": "2026-11-25", "medications": [{"text": f"MTX {i} mg"} for i in range(150)]}
    answer = client.post("/v1/assess", json=regimen)
    assert answer.status_code == 503
    at_answer = len(calls)
    time.sleep(0.5)
    assert len(calls) - at_answer <= 1 and len(calls) < 150
