"""Every US biosimilar of the issue's reference biologics resolves to its ingredient.

The table (tests/data/us_biosimilars.csv) is derived from the FDA Purple Book by
scripts/derive_test_tables.py, not written by hand.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from immunomod import kb

TABLE = Path(__file__).parent.parent / "data" / "us_biosimilars.csv"
ROWS = list(
    csv.DictReader(line for line in TABLE.read_text().splitlines() if not line.startswith("#"))
)


def test_table_covers_the_eight_reference_biologics() -> None:
    assert {r["ingredient"] for r in ROWS} == {
        "adalimumab", "infliximab", "etanercept", "rituximab", "tocilizumab", "ustekinumab",
        "natalizumab", "eculizumab",
    }  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["brand"])
def test_biosimilar_brand_and_proper_name_resolve(row: dict[str, str]) -> None:
    assert kb.get(row["brand"]).id == row["ingredient"]
    assert kb.get(row["proper_name"]).id == row["ingredient"]
