"""benchmarks/gen_exposures.py: exact size, same bytes for the same seed, honest bad-row counts,
a realistic drug mix, and a concept table that covers every mapped row."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import gen_exposures as gen  # benchmarks/ is not a package: found through sys.path

ROWS = 2_000
BAD_FRACTION = 0.02  # 40 bad rows expected: enough of each kind to count


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("gen")
    out: dict[str, Any] = {"dir": d}
    for name in ("a.csv", "b.csv", "a.parquet", "b.parquet"):
        concepts = d / "concept.csv" if name == "a.csv" else None
        out[name] = gen.generate(
            ROWS, d / name, seed=2026, concepts=concepts, bad_fraction=BAD_FRACTION
        )
    return out


def _count(path: Path, where: str) -> int:
    reader = (
        f"read_csv('{path}', all_varchar = true, header = true)"
        if path.suffix == ".csv"
        else f"read_parquet('{path}')"
    )
    row = duckdb.execute(f"SELECT count(*) FROM {reader} WHERE {where}").fetchone()
    assert row is not None
    return int(row[0])


#: How a reader of the table recognises each bad kind, independently of the generator.
BAD_WHERE = {
    "null_drug": "drug_source_value IS NULL OR trim(drug_source_value) = ''",
    "bad_start_date": "try_strptime(drug_exposure_start_date, '%Y-%m-%d') IS NULL",
    "negative_days_supply": "try_cast(days_supply AS INTEGER) < 0",
    "non_numeric_quantity": "quantity IS NOT NULL AND try_cast(quantity AS DOUBLE) IS NULL",
}


@pytest.mark.parametrize("name", ["a.csv", "a.parquet"])
def test_row_count_is_exact_and_ids_run_in_order(tables: dict[str, Any], name: str) -> None:
    path = tables["dir"] / name
    assert tables[name]["rows"] == ROWS
    assert _count(path, "true") == ROWS
    ids = [r[0] for r in duckdb.execute(f"SELECT drug_exposure_id FROM '{path}'").fetchall()]
    assert [int(i) for i in ids] == list(range(1, ROWS + 1))


def test_same_arguments_give_byte_identical_files(tables: dict[str, Any]) -> None:
    d = tables["dir"]
    for fmt in ("csv", "parquet"):
        assert (d / f"a.{fmt}").read_bytes() == (d / f"b.{fmt}").read_bytes()
        a, b = (dict(tables[f"{x}.{fmt}"]) for x in "ab")
        for key in ("out", "seconds"):
            a.pop(key), b.pop(key)
        assert a == b


def test_another_seed_gives_another_table(tables: dict[str, Any]) -> None:
    other = tables["dir"] / "seed7.csv"
    gen.generate(ROWS, other, seed=7, bad_fraction=BAD_FRACTION)
    assert other.read_bytes() != (tables["dir"] / "a.csv").read_bytes()


@pytest.mark.parametrize("name", ["a.csv", "a.parquet"])
def test_bad_rows_are_as_reported(tables: dict[str, Any], name: str) -> None:
    path = tables["dir"] / name
    reported = tables[name]["bad_rows"]
    assert set(reported) == set(BAD_WHERE)
    for kind, where in BAD_WHERE.items():
        assert _count(path, where) == reported[kind] > 0, kind
    assert 0.5 * BAD_FRACTION * ROWS <= sum(reported.values()) <= 1.6 * BAD_FRACTION * ROWS
    # A null drug string is never mapped; good dates stay inside the study window.
    assert _count(path, f"({BAD_WHERE['null_drug']}) AND drug_concept_id::BIGINT <> 0") == 0
    good = "try_strptime(drug_exposure_start_date, '%Y-%m-%d') IS NOT NULL"
    window = "drug_exposure_start_date BETWEEN '2015-01-01' AND '2025-12-31'"
    assert _count(path, f"{good} AND NOT ({window})") == 0


def test_csv_and_parquet_hold_the_same_rows(tables: dict[str, Any]) -> None:
    d = tables["dir"]
    cols = [c[0] for c in duckdb.execute(f"DESCRIBE SELECT * FROM '{d / 'a.parquet'}'").fetchall()]
    # CSV cannot tell NULL from '' in every reader, so both read as '' here.
    norm = ", ".join(f"coalesce(CAST({c} AS VARCHAR), '')" for c in cols)
    csv_rows = duckdb.execute(
        f"SELECT {norm} FROM read_csv('{d / 'a.csv'}', all_varchar = true, header = true)"
    ).fetchall()
    pq_rows = duckdb.execute(f"SELECT {norm} FROM '{d / 'a.parquet'}'").fetchall()
    assert csv_rows == pq_rows
    types = dict(duckdb.execute(f"DESCRIBE SELECT * FROM '{d / 'a.parquet'}'").fetchall()[i][:2]
                 for i in range(len(cols)))  # fmt: skip
    assert types["drug_exposure_id"] == types["person_id"] == types["drug_concept_id"] == "BIGINT"
    assert types["drug_exposure_start_date"] == types["quantity"] == "VARCHAR"


def test_immunomodulator_share_when_resolved(tables: dict[str, Any]) -> None:
    from immunomod.names import resolve

    path = tables["dir"] / "a.parquet"
    counts = duckdb.execute(
        f"SELECT drug_source_value, count(*) FROM '{path}' "
        "WHERE trim(coalesce(drug_source_value, '')) <> '' GROUP BY 1"
    ).fetchall()
    total = sum(n for _, n in counts)
    immuno = sum(n for text, n in counts if any(m.immunomodulator for m in resolve(text).matches))
    assert 0.30 <= immuno / total <= 0.50
    assert 0.30 <= tables["a.parquet"]["immunomodulator_rows"] / ROWS <= 0.50
    # Zipf-like: the ten most common strings carry far more than their share of rows.
    top10 = sum(sorted((n for _, n in counts), reverse=True)[:10])
    assert top10 / total > 0.05 and len(counts) == tables["a.parquet"]["distinct_drug_strings"]


def test_concept_table_covers_every_mapped_row(tables: dict[str, Any]) -> None:
    d = tables["dir"]
    with (d / "concept.csv").open(newline="", encoding="utf-8") as fh:
        concepts = list(csv.DictReader(fh))
    ids = {int(c["concept_id"]) for c in concepts}
    assert len(ids) == len(concepts) == tables["a.csv"]["concepts"]
    assert {c["domain_id"] for c in concepts} == {"Drug"}
    assert {c["standard_concept"] for c in concepts} == {"S"}
    used = {r[0] for r in duckdb.execute(
        f"SELECT DISTINCT drug_concept_id FROM '{d / 'a.parquet'}' WHERE drug_concept_id <> 0"
    ).fetchall()}  # fmt: skip
    assert used and used <= ids
    mapped = _count(d / "a.parquet", "drug_concept_id <> 0")
    assert mapped == tables["a.parquet"]["mapped_rows"]
    assert 0.70 <= mapped / ROWS <= 0.90
    # A concept is named by its clean US RxNorm-style string, whatever spelling mapped to it.
    names = {int(c["concept_id"]): c["concept_name"] for c in concepts}
    pairs = duckdb.execute(
        f"SELECT DISTINCT drug_source_value, drug_concept_id FROM '{d / 'a.parquet'}' "
        "WHERE drug_source_value = 'Prednisolone 5mg tablets' AND drug_concept_id <> 0"
    ).fetchall()
    assert all(names[cid] == "prednisolone 5 MG Oral Tablet" for _, cid in pairs)


def test_vocabulary_mixes_us_and_uk_strings_brands_typos_and_other_drugs() -> None:
    vocab = gen.build_vocabulary(2026)
    texts = {s.text for s in vocab.strings}
    assert 2_000 <= len(texts) <= 10_000
    for expected in (
        "predniSONE 5 MG Oral Tablet",
        "adalimumab 40 MG in 0.4 ML Prefilled Syringe [Humira]",
        "methotrexate 2.5 MG Oral Tablet",
        "Prednisolone 5mg tablets",
        "Methotrexate 2.5mg tablets",
        "Amgevita 40mg/0.8ml solution for injection pre-filled pens",
        "Humira",
        "metformin",
        "atorvastatin 20 MG Oral Tablet",
        "amoxicillin 500 MG Oral Capsule",
    ):
        assert expected in texts, expected
    weight = {s.text: s.weight for s in vocab.strings}
    assert weight["prednisone 5 MG Oral Tablet"] > 100 * min(weight.values())
    unmapped_immuno = sum(s.weight for s in vocab.strings if s.immuno and s.concept is None)
    assert unmapped_immuno > 0.03 * sum(s.weight for s in vocab.strings if s.immuno)


def test_cli_writes_the_table_and_prints_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "de.csv"
    assert gen.main(["--rows", "50", "--out", str(out), "--persons", "5"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["rows"] == 50 and stats["persons"] <= 5 and out.exists()
    with pytest.raises(SystemExit):
        gen.main(["--rows", "50", "--out", str(tmp_path / "de.txt")])
