"""The Spark engine gives exactly the DuckDB engine's output (classify and episodes).

The table mixes the episode case table (every rule path), OMOP concept ids, sigs, routes, bad
rows of every kind and rows no resolver knows. The 1 M-row comparison runs in `make bench`.
Spark needs Java 17+; `make test` installs it when missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from immunomod.batch import classify as duck

spark_engine = pytest.importorskip("immunomod.batch.spark")
pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java")

CASES = yaml.safe_load((Path(__file__).parents[1] / "spec" / "episode_cases.yaml").read_text())[
    "cases"
]
EXTRA = [
    # concept ids (name from the concept table), bad rows of every kind, unknown names
    ["p-extra", "111", "", "2024-01-01", "", "28", "112", "", ""],
    ["p-extra", "222", "MTX", "2024-02-01", "", "28", "", "15 mg weekly", "oral"],
    ["p-extra", "0", "", "2024-01-01", "", "", "", "", ""],
    ["p-bad", "0", "Humira 40mg pen", "2023-13-45", "", "-30", "ten", "", ""],
    ["p-bad", "0", "Humira 40mg pen", "31/02/2020", "n/a", "30", "", "", ""],
    ["p-bad", "0", "Humira 40mg pen", "2024-03-01", "2024-02-01", "99999999999", "", "", ""],
    ["p-bad", "0", "zorblimab 10 mg", "2024-03-01", "", "30", "", "", ""],
    ["", "0", "prednisolone 1% eye drops", "2024-03-01", "", "30", "", "1 drop qds", "eye"],
    ["p-local", "0", 'Prednisolone "Forte" eye drops', "2024-03-01", "", "30", "", "", "eye"],
]


@pytest.fixture(scope="module")
def tables(
    tmp_path_factory: pytest.TempPathFactory, write_exposures: Any
) -> Iterator[tuple[Path, Path]]:
    tmp = tmp_path_factory.mktemp("spark")
    table, concepts = tmp / "drug_exposure.csv", tmp / "concept.csv"
    write_exposures(table, CASES, EXTRA)
    concepts.write_text(
        "concept_id,concept_name\n111,predniSONE 5 MG Oral Tablet\n"
        "222,methotrexate 2.5 MG Oral Tablet\n222,methotrexate 2.5 MG Oral Tablet [dup]\n"
    )
    yield table, concepts


def _same(a: Path, b: Path) -> None:
    con = duckdb.connect()
    ra, rb = f"read_parquet('{a}')", f"read_parquet('{b}')"
    assert (
        con.execute(f"DESCRIBE SELECT * FROM {ra}").fetchall()
        == con.execute(f"DESCRIBE SELECT * FROM {rb}").fetchall()
    )
    for x, y in ((ra, rb), (rb, ra)):
        diff = con.execute(f"SELECT * FROM {x} EXCEPT ALL SELECT * FROM {y}").fetchall()
        assert diff == [], diff[:3]
    n = con.execute(f"SELECT count(*) FROM {ra}").fetchone()
    assert n is not None and n[0] > 0


def test_classify_is_identical(tables: tuple[Path, Path], tmp_path: Path) -> None:
    table, concepts = tables
    d = duck.classify(table, tmp_path / "duck.parquet", concepts=concepts)
    s = spark_engine.classify(table, tmp_path / "spark.parquet", concepts=concepts)
    _same(tmp_path / "duck.parquet", tmp_path / "spark.parquet")
    assert d == s
    assert d.error_rows == 4
    assert d.errors == {"no_text": 1, "bad_start": 2, "bad_end": 1, "end_before_start": 1,
                        "bad_days_supply": 2, "bad_quantity": 1}  # fmt: skip


def test_episodes_are_identical(tables: tuple[Path, Path], tmp_path: Path) -> None:
    table, concepts = tables
    kwargs: dict[str, Any] = {"concepts": concepts, "grace_days": 30}
    d = duck.episodes(table, tmp_path / "duck.parquet", **kwargs)
    s = spark_engine.episodes(table, tmp_path / "spark.parquet", **kwargs)
    _same(tmp_path / "duck.parquet", tmp_path / "spark.parquet")
    assert d == s and d.episodes > 20


def test_spark_writes_part_files_that_read_back_as_one_table(
    tables: tuple[Path, Path], tmp_path: Path
) -> None:
    table, _ = tables
    out = tmp_path / "parts.parquet"
    stats = spark_engine.classify(table, out, parts=True)
    assert out.is_dir() and stats.rows == sum(len(c["rows"]) for c in CASES) + len(EXTRA)
    assert not list(tmp_path.glob(".*partial*"))
