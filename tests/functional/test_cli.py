"""The `immunomod` command end to end, as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "immunomod", *args], capture_output=True, text=True, timeout=60
    )


def test_info_humira_json_is_adalimumab_a_tnf_inhibitor_with_sources() -> None:
    res = run("info", "humira", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["inn"] == "adalimumab"
    assert data["direction"] == "suppress"
    assert data["class"]["id"] == "biologic"
    assert data["type"]["id"] == "tnf-inhibitor"
    assert "L04AB04" in data["atc"]
    boxed = data["ingredient"]["boxed_warnings"]
    assert boxed and all(f["sources"] for f in boxed)
    assert all(sid in data["sources"] for f in boxed for sid in [s["id"] for s in f["sources"]])


def test_info_keytruda_is_pembrolizumab_a_stimulant() -> None:
    res = run("info", "keytruda", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert (data["inn"], data["direction"]) == ("pembrolizumab", "stimulate")


def test_unknown_drug_exits_2_with_a_readable_message() -> None:
    res = run("info", "xyzzy")
    assert res.returncode == 2
    assert "'xyzzy' is not an immunomodulator" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout


def test_misspelling_suggests_the_drug() -> None:
    res = run("info", "metotrexate")
    assert res.returncode == 2
    assert "Did you mean: methotrexate" in res.stderr


def test_info_renders_for_people() -> None:
    res = run("info", "adalimumab", "--view", "patient")
    assert res.returncode == 0, res.stderr
    assert "adalimumab" in res.stdout and "Sources" in res.stdout


def test_kb_stats_json_has_the_promised_keys() -> None:
    res = run("kb", "stats", "--json")
    stats = json.loads(res.stdout)
    for key in ["ingredients", "classes", "sources", "facts", "facts_with_source", "content_hash"]:
        assert key in stats
    assert stats["facts_with_source"] == stats["facts"]
    assert len(stats["content_hash"]) == 64


def test_classes_tree_json_places_drugs_under_direction_class_type() -> None:
    tree = json.loads(run("classes", "--json").stdout)
    assert "adalimumab" in tree["suppress"]["biologic"]["types"]["tnf-inhibitor"]["ingredients"]
    assert tree["suppress"]["jak-inhibitor"]["teaching_group"] == "JAK inhibitors"


def test_condition_lists_its_immunomodulators() -> None:
    res = run("condition", "RA", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["condition"]["id"] == "rheumatoid-arthritis"
    assert "adalimumab" in {d["id"] for d in data["ingredients"]}


def test_unknown_condition_exits_2() -> None:
    res = run("condition", "xyzzy plague")
    assert res.returncode == 2 and "No condition named" in res.stderr


@pytest.mark.parametrize("fixture", sorted(p.stem for p in (FIXTURES / "kb_defects").iterdir()))
def test_kb_validate_fails_on_each_defect(tmp_path: Path, fixture: str) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "kb_minimal", data)
    shutil.copy(FIXTURES / "kb_defects" / f"{fixture}.yaml", data / "drugs")
    res = run("kb", "validate", "--data", str(data))
    assert res.returncode == 1
    assert f"{fixture}.yaml:" in res.stdout and "Fix:" in res.stdout


def test_kb_validate_passes_on_the_shipped_sources() -> None:
    res = run("kb", "validate")
    assert res.returncode == 0, res.stdout + res.stderr


def test_kb_coverage_json_has_the_promised_shape() -> None:
    res = run("kb", "coverage", "--json", "--part", "1")
    assert res.returncode == 0, res.stderr
    cov = json.loads(res.stdout)
    assert set(cov) >= {"in_scope", "present", "missing", "fields_missing", "excluded"}
    assert cov["in_scope"] >= 150  # L04 (112) + H02AB (17) + the other part-1 codes
    assert all(e["reason"] for e in cov["excluded"])
