"""Knowledge-base source fuzzing: whatever text a curator saves in any YAML file of the tree,
`kb validate` answers with problems (file:line, what, fix), never a crash; and a tree with no
problems always compiles."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from fuzzdata import json_values, mutated
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from immunomod.knowledge.compiler import build
from immunomod.knowledge.loader import Problem
from immunomod.knowledge.validate import validate

MINIMAL = Path(__file__).resolve().parents[1] / "fixtures" / "kb_minimal"
FILES = sorted(str(p.relative_to(MINIMAL)) for p in MINIMAL.rglob("*.yaml"))


def _all_keys(data: Any) -> set[str]:
    if isinstance(data, dict):
        return {str(k) for k in data} | {k for v in data.values() for k in _all_keys(v)}
    if isinstance(data, list):
        return {k for v in data for k in _all_keys(v)}
    return set()


KEYS = sorted({k for f in FILES for k in _all_keys(yaml.safe_load((MINIMAL / f).read_text()))})
ORIGINAL = {f: (MINIMAL / f).read_text(encoding="utf-8") for f in FILES}


@st.composite
def edited_text(draw: Any, name: str) -> str:
    """Text a curator might leave in the file: the data changed, the text cut or spliced, a
    YAML construct the loader has to refuse, or anything at all."""
    original = ORIGINAL[name]
    kind = draw(st.sampled_from(["data", "data", "splice", "construct", "any"]))
    if kind == "data":
        data = draw(mutated(yaml.safe_load(original), KEYS))
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    if kind == "splice":
        at = draw(st.integers(0, len(original)))
        cut = draw(st.integers(0, 40))
        insert = draw(st.text(max_size=20) | st.sampled_from(SNIPPETS))
        return original[:at] + insert + original[at + cut :]
    if kind == "construct":
        return draw(st.sampled_from(SNIPPETS)) + "\n" + original
    return draw(st.text(max_size=200) | json_values().map(yaml.safe_dump))


# YAML that parses but could not be built before (ValueError, ConstructorError, recursion).
SNIPPETS = [
    "date: 2026-02-30", "x: !!int abc", "x: !!float nope", "x: !custom tag", "x: !!binary '@@'",
    "a: &a [*a]", "a: &x 1\nb: *x", "? [a, b]\n: c", "x: !!python/object:os.system ls",
    "\x07", "\t- tab", "--- a\n--- b", "%YAML 1.1\n---\nx: 1", "[" * 200, "{a: 1, a: 2}",
    "x: 9" + "9" * 400, "x: .inf", "x: .nan", "x: 0x1F", "x: 1_000", "x: 12:30:00",
]  # fmt: skip


@given(st.sampled_from(FILES).flatmap(lambda f: st.tuples(st.just(f), edited_text(f))))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(("drugs/alphamab.yaml", "id: alphamab\napproved: 2026-02-30\n"))  # ValueError
@example(("drugs/alphamab.yaml", "id: !unknown alphamab\n"))  # ConstructorError
@example(("taxonomy.yaml", "a: &a [*a]\n"))  # RecursionError
@example(("sources/core.yaml", "- id: x\n  title: \x07\n"))  # ReaderError (no mark)
@example(("classes/biologic.yaml", '? "\\n"\n: 1\n'))  # a key with a newline: still one line
def test_any_file_text_gives_problems_never_a_crash(edit: tuple[str, str]) -> None:
    name, text = edit
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        shutil.copytree(MINIMAL, root)
        (root / name).write_text(text, encoding="utf-8")
        _tree, problems = validate(root)
        for p in problems:
            assert isinstance(p, Problem) and p.line >= 1 and p.message and p.hint
            assert "\n" not in p.message, p  # one problem, one line
        event("problems" if problems else "valid")
        if not problems:  # a tree that validates always compiles
            build(root, Path(tmp) / "kb.sqlite")
