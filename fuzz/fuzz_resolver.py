"""Coverage-guided fuzzing of the name resolver (atheris): any bytes, read as text, resolve
without an exception, and every match's span indexes the input."""

from __future__ import annotations

import atheris
from common import main  # fuzz/common.py: run as a script, its folder is on sys.path

# Instrument only immunomod: coverage feedback from its branches (pydantic, rapidfuzz and the
# rest would slow every run and steer the fuzzer into their code instead of ours).
with atheris.instrument_imports(include=["immunomod"]):
    from immunomod.names import resolve


def target(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    res = resolve(text)
    for m in res.matches:
        start, end = m.span
        if not (0 <= start < end <= len(text) and text[start:end] == m.matched_text):
            raise AssertionError(f"span {m.span} does not index {m.matched_text!r} in the input")
        if not 0.0 <= m.confidence <= 1.0:
            raise AssertionError(f"confidence {m.confidence} outside [0, 1]")


if __name__ == "__main__":
    main(target, "resolver")
