"""The public API is small and deliberate: adding a name must be a decision (httpx habit)."""

from __future__ import annotations

import immunomod
from immunomod import kb


def test_top_level_exports_are_locked() -> None:
    assert sorted(immunomod.__all__) == ["__version__", "errors", "kb"]


def test_kb_module_exports_are_locked() -> None:
    assert kb.__all__ == sorted(kb.__all__)
    assert set(kb.__all__) == {
        "DrugRecord", "DrugSummary", "by_class", "classes", "for_condition", "get", "search",
        "sources", "stats", "store",
    }  # fmt: skip


def test_get_by_brand_and_atc_agree() -> None:
    assert kb.get("Humira").id == kb.get("L04AB04").id == "adalimumab"


def test_every_shipped_record_cites_registered_sources() -> None:
    registry = kb.sources()
    for summary in kb.store().all_summaries():
        rec = kb.get(summary.id)
        assert rec.sources and set(rec.sources) <= set(registry)
