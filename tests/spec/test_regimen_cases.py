"""Run the regimen case table (regimen_cases.yaml): each case checks one rule from its source."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from immunomod.rules import assess

CASES = yaml.safe_load((Path(__file__).parent / "regimen_cases.yaml").read_text())["cases"]


def _request(case: dict[str, Any]) -> dict[str, Any]:
    req: dict[str, Any] = {
        "as_of": str(case.get("as_of", "2026-11-25")),
        "patient": {
            k: case[c]
            for k, c in (("weight_kg", "weight"), ("age_years", "age"), ("pregnant", "pregnant"))
            if c in case
        },
        "medications": case["meds"],
        "planned_vaccines": case.get("vaccines", []),
        "jurisdiction": case.get("jurisdiction", "US"),
    }
    if "birth_date" in case:
        req["birth_date"] = str(case["birth_date"])
    if "in_utero" in case:
        req["in_utero_exposure"] = case["in_utero"]
    return req


def test_table_is_large_and_every_case_cites_its_rule() -> None:
    assert len(CASES) >= 80
    assert all(c.get("cite") for c in CASES)
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    a = assess(_request(case))
    exp = case["expect"]
    if "level" in exp:
        assert a.immunosuppression.level == exp["level"], a.immunosuppression
    if "pe" in exp:
        assert a.prednisone_equivalent_mg_per_day == pytest.approx(exp["pe"], abs=0.05)
    verdicts = {v.vaccine: v for v in a.vaccines}
    for name, status in exp.get("vaccines", {}).items():
        assert verdicts[name].status == status, verdicts[name]
    for name, rules in exp.get("reason_rules", {}).items():
        assert set(rules) <= {r.rule for r in verdicts[name].reasons}, verdicts[name]
    for name, when in exp.get("earliest", {}).items():
        assert verdicts[name].earliest_date == when, verdicts[name]
    for name, when in exp.get("latest", {}).items():
        assert verdicts[name].latest_date == when, verdicts[name]
    got_cautions = {c.rule for c in a.cautions}
    assert set(exp.get("cautions", [])) <= got_cautions
    assert not set(exp.get("cautions_absent", [])) & got_cautions
    for text in exp.get("missing_has", []):
        assert any(text in m for m in a.missing), a.missing
    for drug, level in exp.get("contributing", {}).items():
        assert {c.drug: c.level for c in a.immunosuppression.contributing}[drug] == level
    rules = {s.rule for s in a.screening}
    assert set(exp.get("screening_rules", [])) <= rules
    mon = {m.rule: m for m in a.monitoring}
    for rule, when in exp.get("monitoring_next", {}).items():
        assert mon[rule].next_due == when, mon[rule]
    assert not set(exp.get("monitoring_absent", [])) & set(mon)


def test_every_cited_rule_exists() -> None:
    from immunomod import kb
    from immunomod.rules.engine import pack

    p = pack()
    ids = {
        r.id for kind in ("levels", "washouts", "parameters", "cautions") for r in getattr(p, kind)
    }
    ids |= {"unidentified-medication", "no-current-immunomodulator", "unknown-vaccine"}
    sources = set(kb.sources())
    fact_ids = {"tnfi-screen-tb", "tnfi-screen-hbv", "ici-monitor-tsh"}
    for case in CASES:
        for cite in case["cite"]:
            ref = cite.split(" ")[0]
            assert ref in ids | sources | fact_ids, (case["id"], cite)


def test_dates_are_dates() -> None:
    for case in CASES:
        for key in ("earliest", "latest"):
            for value in case["expect"].get(key, {}).values():
                assert isinstance(value, date)
