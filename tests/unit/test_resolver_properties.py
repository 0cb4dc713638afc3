"""Resolver properties for any input (Hypothesis, bounded example counts)."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from immunomod.interfaces.streams import resolve_jsonl
from immunomod.names import resolve

# Text that looks like what records hold: drug names, numbers, units, punctuation, unicode.
WORDS = st.sampled_from(
    ["methotrexate", "Humira", "pred", "20mg", "daily", "weekly", "no", "stopped", "then",
     "eye", "drops", "0.4", "mL", "[", "]", ";", ".", "bd", "x5/7", "metotrexate", "µg", "é"]
)  # fmt: skip
NOTES = st.lists(WORDS | st.text(max_size=8), max_size=25).map(" ".join)


@given(st.text(max_size=300) | NOTES)
@settings(max_examples=400, deadline=None)
def test_never_raises_and_spans_index_the_input(text: str) -> None:
    res = resolve(text)
    assert res.input == text
    for m in res.matches:
        start, end = m.span
        assert 0 <= start < end <= len(text)
        assert text[start:end] == m.matched_text
        assert 0.0 <= m.confidence <= 1.0
        if m.status == "unique":
            assert m.ingredient is not None
        if m.sig is not None:
            assert m.sig.amount_per_day is None or m.sig.amount_per_day >= 0


@given(NOTES)
@settings(max_examples=200, deadline=None)
def test_resolution_is_deterministic(text: str) -> None:
    assert resolve(text).as_json() == resolve(text).as_json()


@given(st.lists(st.binary(max_size=60).filter(lambda b: b"\n" not in b), max_size=20))
@settings(max_examples=150, deadline=None)
def test_jsonl_writes_exactly_one_line_per_input_line(lines: list[bytes]) -> None:
    data = b"".join(line + b"\n" for line in lines)
    out = io.StringIO()
    n = resolve_jsonl(io.BytesIO(data), out)
    written = out.getvalue().splitlines()
    assert n == len(lines) == len(written)
    for obj in map(json.loads, written):
        assert set(obj) == {"input", "matches", "suggestions", "error"}


def test_jsonl_bad_lines_get_errors_and_the_stream_goes_on() -> None:
    data = b"Humira\n\n" + b"\xff\xfe bad\n" + b"x" * 10_001 + b"\nmetotrexate\n"
    out = io.StringIO()
    resolve_jsonl(io.BytesIO(data), out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["error"] is None for r in rows] == [True, False, False, False, True]
    assert "UTF-8" in rows[2]["error"] and "limit" in rows[3]["error"]
    assert rows[0]["matches"][0]["ingredient"] == "adalimumab"
    assert rows[4]["matches"][0]["ingredient"] == "methotrexate"


def test_stream_reports_progress_without_touching_the_output() -> None:
    seen: list[int] = []
    out = io.StringIO()
    n = resolve_jsonl(io.BytesIO(b"Humira\n" * 450), out, progress=seen.append)
    assert n == 450 and seen == [200, 400]
    assert len(out.getvalue().splitlines()) == 450
