"""`kb coverage`: scope codes present or missing, exclusions with reasons, unexplained gaps."""

from __future__ import annotations

from pathlib import Path

from immunomod.knowledge.compiler import build
from immunomod.knowledge.store import Store


def test_coverage_counts_present_missing_and_excluded(kb_store: Store) -> None:
    cov = kb_store.coverage()
    assert (cov["in_scope"], cov["present"]) == (2, 1)
    assert cov["missing"] == [{"code": "L04AB98", "name": "missingumab", "group": "L04"}]
    assert cov["excluded"] == [
        {"code": "L04AX99", "name": "notanimmunomodulator", "reason": "Not an immunomodulator."}
    ]
    assert cov["by_group"]["L04"] == {"in_scope": 2, "present": 1, "missing": ["L04AB98"]}


def test_unexplained_gaps_are_listed_and_explained_ones_are_not(kb_store: Store) -> None:
    gaps = kb_store.coverage()["fields_missing"]
    # alphamab states no side effects, pregnancy … and explains none of it
    assert "side_effects (<3)" in gaps["alphamab"]
    assert "pregnancy" in gaps["alphamab"]
    assert "screening" not in gaps["alphamab"]  # it has a screening fact (and inherits one)


def test_no_data_explains_a_gap(kb_dir: Path, tmp_path: Path) -> None:
    drug = kb_dir / "drugs" / "alphamab.yaml"
    drug.write_text(drug.read_text() + "no_data:\n  pregnancy: No human data in the label.\n")
    build(kb_dir, tmp_path / "kb2.sqlite")
    gaps = Store.open(tmp_path / "kb2.sqlite").coverage()["fields_missing"]
    assert "pregnancy" not in gaps["alphamab"]
