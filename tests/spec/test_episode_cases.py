"""Run the episode case table (episode_cases.yaml) through `batch episodes` (DuckDB engine).

Every case is one person in one exposure table, so the table also checks that persons never
leak into each other's episodes. The Spark engine is held to the same output in
tests/functional/test_batch_spark.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from immunomod.batch.classify import episodes
from immunomod.rules.engine import pack

CASES = yaml.safe_load((Path(__file__).parent / "episode_cases.yaml").read_text())["cases"]


@pytest.fixture(scope="module")
def results(
    tmp_path_factory: pytest.TempPathFactory, write_exposures: Any
) -> dict[str, list[tuple[Any, ...]]]:
    tmp = tmp_path_factory.mktemp("episodes")
    got: dict[str, list[tuple[Any, ...]]] = {c["id"]: [] for c in CASES}
    for grace in sorted({c.get("grace", 30) for c in CASES}):
        table = tmp / f"cases_{grace}.csv"
        write_exposures(table, [c for c in CASES if c.get("grace", 30) == grace])
        out = tmp / f"episodes_{grace}.parquet"
        episodes(table, out, grace_days=grace)
        rows = duckdb.connect().execute(
            "SELECT person_id, level, CAST(start_date AS VARCHAR), CAST(end_date AS VARCHAR), "
            f"drugs, uncertain_drugs, days FROM read_parquet('{out}') ORDER BY person_id, episode"
        )
        for person, *rest in rows.fetchall():
            got[person].append(tuple(rest))
    return got


def test_table_cites_known_rules() -> None:
    rule_ids = {r.id for r in pack().levels}
    assert len(CASES) >= 20 and len({c["id"] for c in CASES}) == len(CASES)
    for case in CASES:
        cited = {c.split()[0] for c in case["cite"]}
        assert cited & rule_ids, f"{case['id']} cites no level rule"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any], results: dict[str, list[tuple[Any, ...]]]) -> None:
    got = results[case["id"]]
    assert [tuple(g[:4]) for g in got] == [
        (lv, str(a), str(b), drugs) for lv, a, b, drugs in case["expect"]
    ]
    for g in got:  # days is the inclusive length of the episode
        assert g[5] == (date.fromisoformat(g[2]) - date.fromisoformat(g[1])).days + 1
    if "uncertain" in case:
        assert {g[4] for g in got} == {case["uncertain"]}
    else:
        assert all(g[4] is None for g in got)
