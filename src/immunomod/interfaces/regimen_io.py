"""Turning CLI input (a JSON file or flags) into an :class:`AssessRequest`, with errors that
name the field and the fix."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from immunomod.errors import UserError, describe
from immunomod.rules.models import AssessRequest


class RegimenInputError(UserError):
    """The regimen input is not usable; the message names the field and the fix."""


def request_from_cli(
    file: Path | None, text: str | None, weight: float | None, age: float | None,
    vaccines: list[str], as_of: str | None, jurisdiction: str,
) -> AssessRequest:  # fmt: skip
    data: dict[str, object]
    if file is not None:
        try:
            raw = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        except OSError as exc:
            raise RegimenInputError(f"cannot read {file}: {exc.strerror}") from None
        try:
            loaded = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RegimenInputError(
                f"{file} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
        if not isinstance(loaded, dict):
            raise RegimenInputError(f"{file} must hold a JSON object with 'medications'")
        data = loaded
    elif text:
        data = {"medications": [{"text": part.strip()} for part in _split(text) if part.strip()]}
    else:
        raise RegimenInputError("give a regimen: a JSON FILE, or --text 'drug dose frequency; ...'")
    data.setdefault("as_of", as_of or date.today().isoformat())
    given = data.get("patient")
    patient: dict[str, object] = dict(given) if isinstance(given, dict) else {}
    if weight is not None:
        patient["weight_kg"] = weight
    if age is not None:
        patient["age_years"] = age
    data["patient"] = patient
    if vaccines:
        planned = data.get("planned_vaccines") or []
        data["planned_vaccines"] = [*(planned if isinstance(planned, list) else []), *vaccines]
    data.setdefault("jurisdiction", jurisdiction.upper())
    try:
        return AssessRequest.model_validate(data)
    except ValidationError as exc:
        raise RegimenInputError(f"regimen input: {describe(exc)}") from None


def _split(text: str) -> list[str]:
    """Medications in free text are separated by ';' or new lines."""
    return [p for line in text.splitlines() for p in line.split(";")]


def request_from_fhir_file(
    file: Path, weight: float | None, age: float | None, vaccines: list[str],
    as_of: str | None, jurisdiction: str,
) -> tuple[AssessRequest, list[str]]:  # fmt: skip
    """A FHIR R4 Bundle file as a regimen, plus notes on how it was read; flags override it."""
    from immunomod.interop.fhir import request_from_fhir

    try:
        raw = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        loaded = json.loads(raw)
    except OSError as exc:
        raise RegimenInputError(f"cannot read {file}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise RegimenInputError(
            f"{file} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise RegimenInputError(f"--as-of '{as_of}' is not a date; use YYYY-MM-DD") from None
    parsed = request_from_fhir(loaded, as_of=day, jurisdiction=jurisdiction.upper())
    update: dict[str, object] = {}
    if weight is not None or age is not None:
        patient = parsed.request.patient.model_copy(
            update={
                k: v for k, v in {"weight_kg": weight, "age_years": age}.items() if v is not None
            }
        )
        update["patient"] = patient
    if vaccines:
        update["planned_vaccines"] = [*parsed.request.planned_vaccines, *vaccines]
    try:
        req = AssessRequest.model_validate({**parsed.request.model_dump(), **update})
    except ValidationError as exc:
        raise RegimenInputError(f"regimen input: {describe(exc)}") from None
    return req, parsed.notes
