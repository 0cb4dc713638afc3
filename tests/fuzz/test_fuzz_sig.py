"""Sig parser fuzzing: any text gives a Sig, never an exception; what it reads is finite,
non-negative and consistent (per week = 7 x per day); unreadable numbers stay None, never a
guess. (The resolver's own properties are in tests/unit/test_resolver_properties.py.)"""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from immunomod.names.sig import has_dosing, parse_sig

NUMBERS = st.sampled_from(["0", "1", "2", "0.5", "2,5", "10", "40", "1000", "9" * 400, "007"])
UNITS = st.sampled_from(["mg", "mcg", "µg", "g", "units", "iu", "mg/kg", "mg/m2", "ml", "%", ""])
TOKENS = st.sampled_from([
    "daily", "od", "bd", "tds", "qds", "weekly", "once a week", "twice daily", "every other week",
    "eow", "monthly", "prn", "as needed", "then", "followed by", "thereafter", ",", ";", "stop",
    "for", "x", "days", "weeks", "months", "every", "q", "h", "w", "times", "a day", "per week",
    "/day", "/wk", "tablets", "tabs", "caps", "take", "half", "one", "and a half", "reduce by",
    "taper by", "until", "to", "orally", "sc", "iv", "eye drops", "topical", "5/7", "6/52",
])  # fmt: skip
PIECES = st.one_of(
    TOKENS,
    st.tuples(NUMBERS, UNITS).map(" ".join),
    st.tuples(st.just("every"), NUMBERS, st.sampled_from(["days", "weeks", "hours"])).map(" ".join),
    st.tuples(st.just("q"), NUMBERS, st.sampled_from(["h", "d", "w", "wk"])).map("".join),
    st.tuples(NUMBERS, st.just("times a day")).map(" ".join),
    st.tuples(st.just("for"), NUMBERS, st.sampled_from(["days", "weeks"])).map(" ".join),
    st.text(max_size=6),
)
SIGS = st.lists(PIECES, max_size=14).map(" ".join) | st.text(max_size=200)


def _finite_non_negative(x: float | None) -> None:
    assert x is None or (math.isfinite(x) and x >= 0), x


@given(SIGS)
@settings(max_examples=300, deadline=None)
@example("every 0 days")  # divided by zero (ZeroDivisionError, a 500 from /v1/resolve)
@example("20 mg q0h")
@example("5 mg " + "9" * 400 + " times a day")  # read "a day" instead: 5 mg/day, a guess
@example("9" * 400 + " mg daily")  # an infinite dose
@example("40 mg daily for " + "9" * 400 + " days")  # an infinite duration
def test_any_text_gives_a_sane_sig(text: str) -> None:
    sig = parse_sig(text)
    assert sig.text == text.strip()
    for step in [sig, *sig.steps]:
        _finite_non_negative(step.dose)
        _finite_non_negative(step.amount_per_day)
        _finite_non_negative(step.amount_per_week)
        if step.amount_per_day is not None and step.amount_per_week is not None:
            assert math.isclose(step.amount_per_week, step.amount_per_day * 7, rel_tol=1e-5,
                                abs_tol=1e-5)  # fmt: skip
        if step.amount_per_day is not None:  # an amount needs a dose and a frequency
            assert step.dose is not None and step.frequency is not None
    for step in sig.steps:
        _finite_non_negative(step.duration_days)
    assert isinstance(has_dosing(text), bool)
    assert parse_sig(text) == sig  # deterministic


UNUSABLE = ["every 0 days", "q0h", "every " + "9" * 400 + " weeks", "9" * 400 + " times a day"]


@given(st.sampled_from(["5", "20", "0.5"]), st.sampled_from(UNUSABLE), st.lists(TOKENS, max_size=5))
@settings(max_examples=100, deadline=None)
def test_an_unusable_interval_gives_no_amount_not_a_later_guess(
    dose: str, interval: str, tail: list[str]
) -> None:
    sig = parse_sig(f"{dose} mg {interval} {' '.join(tail)}")
    assert sig.dose == float(dose)
    assert sig.frequency is None and sig.amount_per_day is None
