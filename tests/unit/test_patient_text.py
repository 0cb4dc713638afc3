"""Patient-facing text in the shipped knowledge base reads at US grade 8 or below (textstat)."""

from __future__ import annotations

import pytest

from immunomod import kb
from immunomod.knowledge.validate import (
    MAX_GRADE,
    MIN_WORDS_ALONE,
    count_sentences,
    reading_grade,
    walk,
)

IDS = [s.id for s in kb.store().all_summaries()]


@pytest.mark.parametrize("iid", IDS)
def test_summary_is_plain_and_two_to_four_sentences(iid: str) -> None:
    summary = kb.get(iid).ingredient.summary.plain
    assert reading_grade(summary) <= MAX_GRADE, summary
    assert 2 <= count_sentences(summary) <= 4, summary


@pytest.mark.parametrize("iid", IDS)
def test_every_plain_text_of_a_drug_page_reads_at_grade_8(iid: str) -> None:
    texts = [v for p, v in walk(kb.get(iid).ingredient) if p and p[-1] == "plain"]
    long = [t for t in texts if len(t.split()) >= MIN_WORDS_ALONE]
    for text in long:
        assert reading_grade(text) <= MAX_GRADE, text
    short = " ".join(t if t.endswith(".") else t + "." for t in texts if t not in long)
    if short:
        assert reading_grade(short) <= MAX_GRADE, short
