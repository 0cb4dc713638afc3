"""Regimen input fuzzing: any dict, and valid regimens with a few things broken, give an
assessment, a pydantic ValidationError (library) or a UserError; at the edges (API, CLI input
reader) always a user-facing error, never a crash or a 500."""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from fuzzdata import json_values, mutated
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from immunomod.errors import UserError
from immunomod.interfaces.api import create_app
from immunomod.interfaces.regimen_io import RegimenInputError, request_from_cli
from immunomod.interop.cds_auth import AuthSettings
from immunomod.rules import assess

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "examples" / "regimen.json").read_text()
)
KEYS = [
    "as_of", "patient", "age_years", "weight_kg", "pregnant", "medications", "text", "drug",
    "dose", "unit", "frequency", "route", "start", "end", "last_dose", "planned_vaccines",
    "in_utero_exposure", "last_maternal_dose", "trimester", "birth_date", "jurisdiction",
]  # fmt: skip
# One change keeps most of a regimen valid (deep paths); several, and raw JSON, test the refusals.
REGIMENS = mutated(EXAMPLE, KEYS, 1) | mutated(EXAMPLE, KEYS) | json_values(st.sampled_from(KEYS))
# Past crashes, kept: "every 0 days" divided by zero in the sig parser (a 500 from the API).
ZERO_INTERVAL = {"as_of": "2026-11-25", "medications": [{"text": "MTX 20 mg every 0 days"}]}
HUGE_DOSE = {"as_of": "2026-11-25", "medications": [{"text": "pred " + "9" * 400 + " mg od"}]}
INFINITE = {"as_of": "2026-11-25", "medications": [{"drug": "prednisone", "dose": math.inf}]}


@given(REGIMENS)
@settings(max_examples=200, deadline=None)
@example(ZERO_INTERVAL)
@example(HUGE_DOSE)
def test_assess_answers_or_raises_an_input_error(data: Any) -> None:
    try:
        result = assess(data)
    except (ValidationError, UserError) as exc:
        event(f"refused: {type(exc).__name__}")
        return
    event("answered")
    # An answer is JSON with no NaN or Infinity (strict JSON parsers refuse both).
    json.dumps(result.as_json(), allow_nan=False)


_client = TestClient(create_app(cds_auth=AuthSettings(required=False)))


@given(REGIMENS)
@settings(max_examples=150, deadline=None)
@example(ZERO_INTERVAL)
@example(INFINITE)
def test_api_answers_200_or_a_problem_never_a_server_error(data: Any) -> None:
    r = _client.post(
        "/v1/assess",
        content=json.dumps(data),  # NaN/Infinity literals too: Python's JSON parser takes them
        headers={"content-type": "application/json"},
    )
    assert r.status_code in {200, 422}, r.text
    event(f"status {r.status_code}")
    if r.status_code == 422:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"]
    else:  # strict JSON out
        json.loads(r.text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))


@given(REGIMENS)
@settings(max_examples=100, deadline=None)
def test_cli_regimen_file_reads_or_says_what_to_fix(data: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "regimen.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        try:
            req = request_from_cli(path, None, None, None, [], "2026-11-25", "US")
        except RegimenInputError as exc:
            assert str(exc)
            return
    with contextlib.suppress(UserError):
        assess(req)
