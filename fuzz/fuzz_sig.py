"""Coverage-guided fuzzing of the sig parser (atheris): any text gives a Sig whose doses and
amounts are finite and non-negative, never an exception."""

from __future__ import annotations

import math

import atheris
from common import main  # fuzz/common.py: run as a script, its folder is on sys.path

with atheris.instrument_imports(include=["immunomod"]):
    from immunomod.names.sig import has_dosing, parse_sig


def _check(value: float | None, what: str) -> None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise AssertionError(f"{what} = {value}")


def target(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    sig = parse_sig(text)
    has_dosing(text)
    for step in [sig, *sig.steps]:
        _check(step.dose, "dose")
        _check(step.amount_per_day, "amount per day")
        _check(step.amount_per_week, "amount per week")
    for step in sig.steps:
        _check(step.duration_days, "duration in days")


if __name__ == "__main__":
    main(target, "sig")
