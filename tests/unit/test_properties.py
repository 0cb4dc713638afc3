"""Properties that must hold for any input (Hypothesis, bounded example counts)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from immunomod import kb
from immunomod.errors import UnknownDrugError
from immunomod.knowledge.normalise import name_key


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_get_answers_or_raises_a_user_error_for_any_text(text: str) -> None:
    try:
        rec = kb.get(text)
    except UnknownDrugError as exc:
        assert exc.query == text
    else:
        assert name_key(text) != ""
        assert rec.direction in {"suppress", "stimulate", "mixed"}


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_search_never_raises(text: str) -> None:
    assert isinstance(kb.search(text), list)


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_name_key_is_idempotent(text: str) -> None:
    assert name_key(name_key(text)) == name_key(text)


@given(st.sampled_from(["Humira", "adalimumab", "L04AB04"]), st.sampled_from(["", " ", "®", "™"]))
@settings(max_examples=30, deadline=None)
def test_decoration_does_not_change_the_answer(name: str, mark: str) -> None:
    assert kb.get(f" {name.upper()}{mark} ").id == kb.get(name).id
