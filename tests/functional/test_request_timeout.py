"""A request that outlives its time budget is answered 503 problem+json naming the fix, with
the security headers; quick requests are untouched. (Limit: IMMUNOMOD_REQUEST_TIMEOUT_S.)"""

from __future__ import annotations

import time
from typing import Any

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


def _stops_at_its_budget(
    monkeypatch: pytest.MonkeyPatch, module: Any, path: str, body: dict[str, Any], items: int
) -> None:
    """POST ``body`` with a 0.05 s budget while ``module.resolve`` takes 10 ms a call: the
    answer is 503, and the worker thread makes at most one more call afterwards (without the
    deadline check it would go on through all ``items``)."""
    calls: list[str] = []
    real = module.resolve

    def slow(text: str):  # type: ignore[no-untyped-def]
        calls.append(text)
        time.sleep(0.01)
        return real(text)

    monkeypatch.setattr(module, "resolve", slow)
    client = TestClient(create_app(cds_auth=AuthSettings(required=False), request_timeout_s=0.05))
    answer = client.post(path, json=body)
    assert answer.status_code == 503
    at_answer = len(calls)
    time.sleep(0.5)  # without the check the thread would make ~50 more calls meanwhile
    assert len(calls) - at_answer <= 1 and len(calls) < items


def test_a_batch_past_its_budget_stops_working(monkeypatch: pytest.MonkeyPatch) -> None:
    # The 503 goes out at the deadline; the batch loop in the worker thread must stop there too
    # instead of resolving the rest of the texts for an answer nobody will read.
    from immunomod.interfaces import api

    texts = [f"Humira {i}" for i in range(300)]
    _stops_at_its_budget(monkeypatch, api, "/v1/resolve", {"texts": texts}, len(texts))


def test_a_regimen_past_its_budget_stops_working(monkeypatch: pytest.MonkeyPatch) -> None:
    # The regimen checker checks the budget before each medication (immunomod.deadline).
    from immunomod.rules import engine

    meds = [{"text": f"MTX {i} mg"} for i in range(150)]
    regimen = {"as_of": "2026-11-25", "medications": meds}
    _stops_at_its_budget(monkeypatch, engine, "/v1/assess", regimen, len(meds))
