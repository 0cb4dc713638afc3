"""`immunomod assess` and `immunomod explain` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "immunomod", *args], capture_output=True, text=True, timeout=60,
        input=stdin,
    )  # fmt: skip


def test_assess_example_file_json() -> None:
    res = run("assess", str(ROOT / "examples" / "regimen.json"), "--json")
    assert res.returncode == 0, res.stderr
    a = json.loads(res.stdout)
    assert a["immunosuppression"]["level"] == "high"
    verdicts = {v["vaccine"]: v for v in a["vaccines"]}
    assert verdicts["mmr"]["status"] == "contraindicated" and verdicts["mmr"]["live"] is True
    assert verdicts["zoster-recombinant"]["live"] is False
    assert all(r["sources"] or r["rule"].startswith(("unidentified", "no-", "unknown"))
               for v in a["vaccines"] for r in v["reasons"])  # fmt: skip
    # Septrin (co-trimoxazole) with methotrexate: the interaction is found through the UK brand
    assert "mtx-trimethoprim" in {c["rule"] for c in a["cautions"]}


def test_assess_text_flags_like_the_issue() -> None:
    res = run(
        "assess", "--text", "prednisone 20 mg daily since 2026-10-01; methotrexate 15 mg weekly",
        "--weight", "70", "--vaccine", "MMR", "--as-of", "2026-11-25", "--json",
    )  # fmt: skip
    a = json.loads(res.stdout)
    assert a["immunosuppression"]["level"] == "high"
    assert a["prednisone_equivalent_mg_per_day"] == 20
    assert a["vaccines"][0]["status"] == "contraindicated"


def test_assess_writes_an_icalendar_schedule(tmp_path: Path) -> None:
    ics = tmp_path / "monitoring.ics"
    res = run(
        "assess", "--text", "methotrexate 15 mg weekly since 2026-11-01", "--weight", "70",
        "--as-of", "2026-11-25", "--ics", str(ics),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    body = ics.read_text()
    assert body.startswith("BEGIN:VCALENDAR") and body.count("BEGIN:VEVENT") >= 3
    assert "methotrexate" in body


def test_bad_regimen_input_names_the_field() -> None:
    bad = {"as_of": "2026-11-25", "patient": {"weight_kg": -3}, "medications": [{"dose": 5}]}
    res = run("assess", "-", stdin=json.dumps(bad))
    assert res.returncode == 2
    assert "patient.weight_kg" in res.stderr and "medications.0" in res.stderr
    assert "Traceback" not in res.stderr


def test_invalid_json_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "r.json"
    f.write_text("{not json")
    res = run("assess", str(f))
    assert res.returncode == 2 and "not valid JSON" in res.stderr


def test_explain_shows_thresholds_and_sources() -> None:
    res = run("explain", "idsa-steroid", "--json")
    assert res.returncode == 0, res.stderr
    rule = json.loads(res.stdout)
    assert rule["threshold"] == {"op": ">=", "value": 20.0, "unit": "mg/day"}
    assert rule["min_duration"]["value"] == 14
    assert any(s["id"] == "idsa-2013" and s["url"].startswith("http") for s in rule["sources"])
    human = run("explain", "idsa-steroid")
    assert "≥ 20 mg/day" in human.stdout


def test_explain_finds_knowledge_base_facts_too() -> None:
    res = run("explain", "tnfi-screen-tb", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["kind"] == "fact"


def test_explain_unknown_rule_exits_2() -> None:
    res = run("explain", "idsa-sterod")
    assert res.returncode == 2 and "idsa-steroid" in res.stderr


def test_assess_fhir_bundle_reports_how_the_input_was_read(tmp_path: Path) -> None:
    fhir = str(ROOT / "examples" / "regimen.fhir.json")
    res = run("assess", "--fhir", fhir, "--as-of", "2026-11-25", "--json")
    assert res.returncode == 0, res.stderr
    a = json.loads(res.stdout)
    assert a["immunosuppression"]["level"] == "high"  # prednisone 20 mg/day since 2026-10-01
    ehr = str(ROOT / "tests" / "fixtures" / "fhir" / "synthea_like_ra.json")
    a = json.loads(run("assess", "--fhir", ehr, "--as-of", "2026-11-25", "--json").stdout)
    assert any("not mapped" in n for n in a["input_notes"])  # RxNorm product codes
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Bundel"}')
    res = run("assess", "--fhir", str(bad))
    assert res.returncode == 2 and "resourceType" in res.stderr and "Traceback" not in res.stderr
