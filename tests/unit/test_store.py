"""Library lookups on a compiled knowledge base: any name, ATC codes, search, classes."""

from __future__ import annotations

import pytest

from immunomod.errors import UnknownConditionError, UnknownDrugError
from immunomod.knowledge.store import Store


@pytest.mark.parametrize(
    "name", ["alphamab", "ALPHAMAB", " Alphira® ", "alphamabum", "ALM", "L04AB99", "alpha-mab"]
)
def test_get_accepts_any_name_or_code(kb_store: Store, name: str) -> None:
    rec = kb_store.get(name)
    assert rec.id == "alphamab"
    assert rec.direction == "suppress"
    assert rec.class_.id == "biologic" and rec.type.id == "tnf-inhibitor"
    assert rec.atc == ["L04AB99"]


def test_record_carries_the_sources_it_cites(kb_store: Store) -> None:
    rec = kb_store.get("alphira")
    assert set(rec.sources) == {"label-a", "guide-b"}
    assert rec.sources["label-a"].url.startswith("https://")


def test_unknown_name_suggests_close_names(kb_store: Store) -> None:
    with pytest.raises(UnknownDrugError) as err:
        kb_store.get("alphamib")
    assert err.value.suggestions == ["alphamab"]
    assert "Did you mean: alphamab" in str(err.value)


def test_nonsense_gets_no_suggestions(kb_store: Store) -> None:
    with pytest.raises(UnknownDrugError) as err:
        kb_store.get("xyzzy")
    assert err.value.suggestions == []


def test_search_by_prefix_and_misspelling(kb_store: Store) -> None:
    assert [s.id for s in kb_store.search("alph")] == ["alphamab"]
    assert [s.id for s in kb_store.search("betrud")] == ["betamab"]
    assert [s.id for s in kb_store.search("L04AB")] == ["alphamab"]


def test_by_class_type_direction_and_teaching_group(kb_store: Store) -> None:
    assert [s.id for s in kb_store.by_class("biologic")] == ["alphamab"]
    assert [s.id for s in kb_store.by_class("tnf-inhibitor")] == ["alphamab"]
    assert [s.id for s in kb_store.by_class("TNF inhibitor")] == ["alphamab"]
    assert [s.id for s in kb_store.by_class("stimulate")] == ["betamab"]
    assert [s.id for s in kb_store.by_class("Immunotherapy")] == ["betamab"]


def test_for_condition_by_name_synonym_and_typo(kb_store: Store) -> None:
    for text in ["rheumatoid arthritis", "RA", "Rheumatoid-Arthritis", "rheumatoid arthritus"]:
        cond, drugs = kb_store.for_condition(text)
        assert cond.id == "rheumatoid-arthritis"
        assert [d.id for d in drugs] == ["alphamab"]
    with pytest.raises(UnknownConditionError):
        kb_store.for_condition("broken leg")
