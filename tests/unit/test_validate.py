"""The validator reports each kind of defect with file:line, the problem and a fix.

One failing fixture per defect lives in tests/fixtures/kb_defects/; each test drops it into a
copy of the valid minimal knowledge base and checks the report.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from immunomod.knowledge.validate import validate

DEFECTS = Path(__file__).parent.parent / "fixtures" / "kb_defects"

# fixture -> (problem code, text on the line the report must point at; None = record start)
CASES = {
    "defect-unknown-source": ("unknown-source", "no-such-source"),
    "defect-missing-field": ("missing-field", None),
    "defect-duplicate-name": ("duplicate-name", "Alphira"),
    "defect-bad-atc": ("bad-atc", "L4AB04"),
    "defect-unknown-class": ("unknown-class", "class: biologics"),
    "defect-unknown-type": ("unknown-class", "type: il99-inhibitor"),
    "defect-direction-conflict": ("direction-conflict", "direction: stimulate"),
    "defect-no-unit": ("no-unit", "interval: 2"),
    "defect-reading-grade": ("reading-grade", "plain: Pharmacological"),
    "defect-unknown-condition": ("unknown-condition", "lupus-nephritis-typo"),
    "defect-summary-length": ("summary-length", "plain: This shot calms the immune system."),
}


def test_minimal_knowledge_base_is_valid(kb_dir: Path) -> None:
    tree, problems = validate(kb_dir)
    assert problems == []
    assert set(tree.ingredients) == {"alphamab", "betamab"}


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_each_defect_is_reported_at_its_line(kb_dir: Path, fixture: str) -> None:
    code, marker = CASES[fixture]
    src = DEFECTS / f"{fixture}.yaml"
    shutil.copy(src, kb_dir / "drugs" / src.name)
    lines = src.read_text().splitlines()
    expected_line = (
        2 if marker is None else next(i for i, text in enumerate(lines, 1) if marker in text)
    )

    _, problems = validate(kb_dir)

    mine = [p for p in problems if p.file.endswith(src.name)]
    assert [p.code for p in mine] == [code], problems
    assert mine[0].line == expected_line
    assert mine[0].hint  # every report says how to fix it
    assert f"{src.name}:{expected_line}: [{code}]" in str(mine[0])


def test_duplicate_name_names_the_other_owner(kb_dir: Path) -> None:
    shutil.copy(DEFECTS / "defect-duplicate-name.yaml", kb_dir / "drugs")
    _, problems = validate(kb_dir)
    (dup,) = [p for p in problems if p.code == "duplicate-name"]
    assert "alphamab" in dup.message


def test_yaml_syntax_error_has_a_line(kb_dir: Path) -> None:
    (kb_dir / "drugs" / "broken.yaml").write_text("id: broken\ninn: [unclosed\n")
    _, problems = validate(kb_dir)
    assert any(p.code == "yaml" and p.file.endswith("broken.yaml") for p in problems)


def test_short_patient_fragments_are_scored_together(kb_dir: Path) -> None:
    """Fragments under 12 words are judged with the rest of their file's patient text."""
    path = kb_dir / "drugs" / "alphamab.yaml"
    text = path.read_text().replace(
        "plain: You need a TB blood test first.",
        "plain: Comprehensive immunological characterisation necessitated.",
    )
    text = text.replace(
        "plain: It blocks a signal that causes swelling.",
        "plain: Pharmacokinetic interindividual variability considerations.",
    )
    path.write_text(text)
    _, problems = validate(kb_dir)
    assert [p.code for p in problems] == ["reading-grade"]


def test_cross_check_only_sources_cannot_be_cited(kb_dir: Path) -> None:
    """Facts from non-commercial data (SIDER) must not ship: the validator refuses them."""
    reg = kb_dir / "sources" / "core.yaml"
    reg.write_text(
        reg.read_text() + "- id: sider-test\n  title: SIDER\n  publisher: EMBL\n  year: 2015\n"
        "  url: http://sideeffects.embl.de/\n  accessed: 2026-11-25\n  kind: database\n"
        "  shippable: false\n"
    )
    drug = kb_dir / "drugs" / "betamab.yaml"
    old = "  text: Blocks PD-1 on T cells.\n  plain: It takes the brakes off immune cells.\n"
    text = drug.read_text()
    assert old + "  sources: [label-a]" in text
    drug.write_text(text.replace(old + "  sources: [label-a]", old + "  sources: [sider-test]"))
    _, problems = validate(kb_dir)
    assert [p.code for p in problems] == ["unshippable-source"]
