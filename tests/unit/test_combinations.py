"""Fixed-combination products: one name, one match per ingredient."""

from __future__ import annotations

from pathlib import Path

import pytest

from immunomod.errors import UnknownDrugError
from immunomod.knowledge.store import Store
from immunomod.knowledge.validate import validate
from immunomod.names.resolver import Resolver
from immunomod.names.vocabulary import Vocabulary


def test_combination_name_gives_every_ingredient(kb_store: Store) -> None:
    res = Resolver(Vocabulary.from_store(kb_store)).resolve("Alphabeta 100 mg IV")
    assert [m.ingredient for m in res.matches] == ["alphamab", "betamab"]
    assert all(m.status == "unique" and m.span == (0, 9) for m in res.matches)


def test_kb_get_on_a_combination_names_its_ingredients(kb_store: Store) -> None:
    with pytest.raises(UnknownDrugError) as err:
        kb_store.get("alphabeta")
    assert err.value.suggestions == ["alphamab", "betamab"]


def test_combination_with_unknown_ingredient_is_a_problem(kb_dir: Path) -> None:
    path = kb_dir / "combinations.yaml"
    path.write_text(path.read_text().replace("[alphamab, betamab]", "[alphamab, gammamab]"))
    _, problems = validate(kb_dir)
    assert [(p.code, p.line) for p in problems] == [("unknown-ingredient", 3)]


def test_combination_name_may_not_be_a_single_ingredient_name(kb_dir: Path) -> None:
    path = kb_dir / "combinations.yaml"
    path.write_text(path.read_text().replace("name: Alphabeta", "name: Alphira"))
    _, problems = validate(kb_dir)
    assert [p.code for p in problems] == ["duplicate-name"]


def test_a_regimens_other_drugs_must_be_known_other_drug_names(kb_dir: Path) -> None:
    # the minimal tree has no other-drug vocabulary, so no name can be found in it
    path = kb_dir / "combinations.yaml"
    text = path.read_text().replace("[alphamab, betamab]", "[alphamab]\n    others: [doxorubicin]")
    path.write_text(text)
    _, problems = validate(kb_dir)
    assert [p.code for p in problems] == ["unknown-other-drug"]


def test_a_combination_of_one_drug_is_a_problem(kb_dir: Path) -> None:
    path = kb_dir / "combinations.yaml"
    path.write_text(path.read_text().replace("[alphamab, betamab]", "[alphamab]"))
    _, problems = validate(kb_dir)
    assert len(problems) == 1 and "at least two drugs" in problems[0].message
