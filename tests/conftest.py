"""Shared fixtures: a small valid knowledge base to copy and break, and its compiled form; a
writer of OMOP drug_exposure tables from the episode case table."""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

FIXTURES = Path(__file__).parent / "fixtures"

# `make test` is deterministic (the same examples every run, so CI cannot fail by chance);
# set HYPOTHESIS_PROFILE=explore for fresh random examples when hunting for bugs.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/kb_minimal (two drugs, two classes)."""
    dest = tmp_path / "data"
    shutil.copytree(FIXTURES / "kb_minimal", dest)
    return dest


@pytest.fixture
def kb_store(kb_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The minimal knowledge base compiled and opened."""
    from immunomod.knowledge.compiler import build
    from immunomod.knowledge.store import Store

    db = tmp_path / "kb.sqlite"
    build(kb_dir, db)
    return Store.open(db)


#: The OMOP drug_exposure columns the exposure tables of the batch tests carry.
EXPOSURE_HEADER = ["drug_exposure_id", "person_id", "drug_concept_id", "drug_source_value",
                   "drug_exposure_start_date", "drug_exposure_end_date", "days_supply",
                   "quantity", "sig", "route_source_value"]  # fmt: skip
WriteExposures = Callable[..., None]


def _write_exposures(
    path: Path, cases: Iterable[dict[str, Any]], extra_rows: Sequence[Sequence[str]] = ()
) -> None:
    """One CSV with every case's rows (person_id = case id, concept id 0, no route), then
    ``extra_rows`` (each: person_id and the columns after it in EXPOSURE_HEADER)."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(EXPOSURE_HEADER)
        n = 0
        for case in cases:
            for r in case["rows"]:
                n += 1
                w.writerow([n, case["id"], 0, r["drug"], r["start"], r.get("end", ""),
                            r.get("days", ""), r.get("qty", ""), r.get("sig", ""), ""])  # fmt: skip
        for row in extra_rows:
            n += 1
            w.writerow([n, *row])


@pytest.fixture(scope="session")
def write_exposures() -> WriteExposures:
    """:func:`_write_exposures`: episode cases (and extra rows) as an OMOP exposure CSV."""
    return _write_exposures
