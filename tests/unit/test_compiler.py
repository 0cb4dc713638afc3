"""Compilation is reproducible, counts every fact with its source, and applies inheritance."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from immunomod.knowledge.compiler import BuildError, build, build_records
from immunomod.knowledge.loader import DEFAULT_DATA_DIR
from immunomod.knowledge.store import DEFAULT_DB, Store
from immunomod.knowledge.validate import validate


def test_same_sources_give_the_same_content_hash(kb_dir: Path, tmp_path: Path) -> None:
    a = build(kb_dir, tmp_path / "a.sqlite")
    b = build(kb_dir, tmp_path / "b.sqlite")
    assert a["content_hash"] == b["content_hash"]


def test_any_change_changes_the_hash(kb_dir: Path, tmp_path: Path) -> None:
    before = build(kb_dir, tmp_path / "a.sqlite")["content_hash"]
    drug = kb_dir / "drugs" / "alphamab.yaml"
    drug.write_text(drug.read_text().replace("40 mg", "80 mg"))
    assert build(kb_dir, tmp_path / "b.sqlite")["content_hash"] != before


def test_every_fact_is_counted_with_its_source(kb_dir: Path, tmp_path: Path) -> None:
    stats = build(kb_dir, tmp_path / "kb.sqlite")
    assert stats["facts"] > 20
    assert stats["facts_with_source"] == stats["facts"]
    assert stats["ingredients"] == 2 and stats["classes"] == 2


def test_invalid_sources_are_not_built(kb_dir: Path, tmp_path: Path) -> None:
    (kb_dir / "drugs" / "alphamab.yaml").write_text("id: alphamab\n")
    with pytest.raises(BuildError) as err:
        build(kb_dir, tmp_path / "kb.sqlite")
    assert err.value.problems
    assert not (tmp_path / "kb.sqlite").exists()


def test_class_and_type_facts_are_inherited_and_overridable(kb_dir: Path) -> None:
    tree, problems = validate(kb_dir)
    assert problems == []
    rec = build_records(tree)["alphamab"].ingredient
    # the type's boxed warning is inherited and marked so
    (box,) = rec.boxed_warnings
    assert box.id == "tnf-box" and box.inherited_from == "type:tnf-inhibitor"
    # the class's vaccine fact is inherited
    assert [v.inherited_from for v in rec.vaccines] == ["class:biologic"]
    # the drug's own screening fact with the same id replaces the type's
    (tb,) = rec.screening
    assert tb.inherited_from is None and "IGRA" in tb.test


def test_exclude_inherited_drops_a_class_fact(kb_dir: Path) -> None:
    drug = kb_dir / "drugs" / "alphamab.yaml"
    drug.write_text(drug.read_text() + "exclude_inherited: [class-live-vaccines]\n")
    tree, problems = validate(kb_dir)
    assert problems == []
    assert build_records(tree)["alphamab"].ingredient.vaccines == []


def test_unknown_exclusion_is_a_problem(kb_dir: Path) -> None:
    drug = kb_dir / "drugs" / "alphamab.yaml"
    drug.write_text(drug.read_text() + "exclude_inherited: [no-such-fact]\n")
    _, problems = validate(kb_dir)
    assert [p.code for p in problems] == ["unknown-exclusion"]


def test_database_has_an_fts5_name_index(kb_store: Store) -> None:
    con = sqlite3.connect(kb_store.path)
    rows = con.execute("SELECT name FROM names_fts WHERE names_fts MATCH 'alph*'").fetchall()
    assert {r[0] for r in rows} >= {"alphamab", "Alphira", "alphamabum"}


def test_shipped_database_is_up_to_date_with_the_yaml(tmp_path: Path) -> None:
    """The SQLite file in the package must be rebuilt (`make kb`) whenever the YAML changes."""
    fresh = build(DEFAULT_DATA_DIR, tmp_path / "kb.sqlite")
    shipped = Store.open(DEFAULT_DB).stats()
    assert shipped["content_hash"] == fresh["content_hash"], "run `make kb` and commit kb.sqlite"
    assert shipped["facts_with_source"] == shipped["facts"]


def test_build_names_each_stage_for_the_progress_display(kb_dir: Path, tmp_path: Path) -> None:
    stages: list[str] = []
    build(kb_dir, tmp_path / "kb.sqlite", progress=stages.append)
    assert stages[0].startswith("reading") and stages[-1].startswith("compiling")


def test_brands_are_also_known_without_their_release_form_word() -> None:
    from immunomod.knowledge.compiler import brand_stems

    names = {
        ("entocort ec", "Entocort EC", "brand", "budesonide"),
        ("astagraf xl", "Astagraf XL", "brand", "tacrolimus"),
        ("xeljanz xr", "Xeljanz XR", "brand", "tofacitinib"),  # "Xeljanz" is a name already
        ("xeljanz", "Xeljanz", "brand", "tofacitinib"),
        ("abc xr", "Abc XR", "brand", "x"),  # a 3-letter stem is too short to read safely
        ("lipovil ec", "Lipovil EC", "brand", "y"),  # the stem is another drug's name
        ("rituxan hycela", "Rituxan Hycela", "brand", "rituximab"),  # not a release form
        ("medrol ec", "Medrol EC", "synonym", "z"),  # only brands lose a release form
        ("certolizumab pegol", "certolizumab pegol", "inn", "certolizumab-pegol"),
        # the bare antibody is a drug of its own: the conjugate keeps its whole name
        ("exampumab vedotin", "exampumab vedotin", "inn", "exampumab-vedotin"),
        ("exampumab", "exampumab", "inn", "exampumab"),
    }
    assert brand_stems(names, other_keys={"lipovil"}) == {
        (("entocort", "Entocort", "brand-stem", "budesonide"), "entocort ec"),
        (("astagraf", "Astagraf", "brand-stem", "tacrolimus"), "astagraf xl"),
        (("certolizumab", "certolizumab", "inn-stem", "certolizumab-pegol"), "certolizumab pegol"),
    }
