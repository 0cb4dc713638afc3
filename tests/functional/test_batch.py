"""`immunomod batch classify`: every row kept, distinct strings resolved once, clear errors."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from immunomod.batch.classify import BatchInputError, classify

ROWS = [
    ("1", "00123", "Humira 40mg/0.4ml pen"),
    ("2", "00123", "metformin 500mg tab"),
    ("3", "00456", "prednisolone 5mg tablets, take 8 daily"),
    ("4", "00456", "Humira 40mg/0.4ml pen"),
    ("5", "00789", ""),
    ("6", "00789", "tofacitnib 5 mg"),
]


@pytest.fixture()
def exposure(tmp_path: Path) -> Path:
    path = tmp_path / "drug_exposure.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["drug_exposure_id", "person_id", "drug_source_value"])
        w.writerows(ROWS)
    return path


def test_csv_rows_are_all_kept_and_classified(exposure: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    stats = classify(exposure, out)
    assert (stats.rows, stats.distinct_texts, stats.immunomodulator_rows) == (6, 4, 4)
    with out.open() as fh:
        rows = {r["drug_exposure_id"]: r for r in csv.DictReader(fh)}
    assert rows["1"]["person_id"] == "00123"  # ids stay text: no lost leading zeros
    assert rows["1"]["im_ingredient"] == "adalimumab" and rows["1"]["im_class"] == "biologic"
    assert rows["2"]["im_immunomodulator"] == "false" and rows["2"]["im_ingredient"] == "metformin"
    assert rows["3"]["im_amount_per_day"] == "40.0"  # 5 mg x 8 tablets
    assert rows["5"]["im_ingredient"] == ""  # no text: nothing claimed
    assert rows["6"]["im_ingredient"] == "tofacitinib" and rows["6"]["im_status"] == "needs_review"


def test_parquet_output_matches_csv_output(exposure: Path, tmp_path: Path) -> None:
    classify(exposure, tmp_path / "out.csv")
    classify(exposure, tmp_path / "out.parquet")
    con = duckdb.connect()
    query = "SELECT drug_exposure_id, im_ingredient, im_status FROM {} ORDER BY 1"
    a = con.execute(query.format(f"read_csv('{tmp_path / 'out.csv'}', all_varchar=true)"))
    from_csv = a.fetchall()
    b = con.execute(query.format(f"read_parquet('{tmp_path / 'out.parquet'}')"))
    assert from_csv == b.fetchall() and len(from_csv) == 6


def test_missing_column_names_the_columns(exposure: Path, tmp_path: Path) -> None:
    with pytest.raises(BatchInputError, match="its columns are: drug_exposure_id"):
        classify(exposure, tmp_path / "o.csv", text_column="drug_name")


@pytest.mark.parametrize(
    ("name", "words"), [("out.xlsx", "use a .csv"), ("missing/out.csv", "does not exist")]
)
def test_bad_output_is_refused_before_any_work(
    exposure: Path, tmp_path: Path, name: str, words: str
) -> None:
    with pytest.raises(BatchInputError, match=words):
        classify(exposure, tmp_path / name)
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob(".*partial"))


def test_result_column_clash_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("drug_source_value,im_ingredient\nHumira,x\n")
    with pytest.raises(BatchInputError, match="rename those columns"):
        classify(path, tmp_path / "o.csv")


def test_episodes_take_the_person_column_named_by_flag(tmp_path: Path) -> None:
    from immunomod.batch.classify import episodes

    path = tmp_path / "rx.csv"
    path.write_text(
        "subject,drug_source_value,drug_exposure_start_date,days_supply\n"
        "a7,Humira 40mg pen,2024-01-01,28\n"
    )
    with pytest.raises(BatchInputError, match="need a person column"):
        episodes(path, tmp_path / "e.csv")
    stats = episodes(path, tmp_path / "e.csv", person_column="subject")
    assert (stats.persons, stats.levels) == (1, {"high": 1})
    with (tmp_path / "e.csv").open() as fh:
        (row,) = list(csv.DictReader(fh))
    assert (row["person_id"], row["start_date"], row["end_date"]) == (
        "a7",
        "2024-01-01",
        "2024-01-28",
    )
